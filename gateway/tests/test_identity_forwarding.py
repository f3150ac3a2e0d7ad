"""Every call a request makes carries its viewer's identity, signed for the service called."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.context import Context
from gateway.rpc import RpcClient
from parentnet_kit import identity
from parentnet_kit.tokens import generate_key_pair

PRIVATE, PUBLIC = generate_key_pair()


class Recorder:
    def __init__(self) -> None:
        self.identities: list[Any] = []

    async def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        self.identities.append(kwargs.get("identity"))


def test_a_requests_calls_are_made_for_its_viewer_and_an_anonymous_ones_for_nobody():
    recorder = Recorder()
    signed_in = Context(request=None, rpc=recorder, viewer_id="m1")  # type: ignore[arg-type]
    anonymous = Context(request=None, rpc=recorder)  # type: ignore[arg-type]

    async def calls() -> None:
        await signed_in.rpc.call("events", "get_outings", ["o1"])
        await signed_in.rpc.call("members", "viewer_context", "m1")
        await anonymous.rpc.call("events", "get_outings", ["o1"])

    asyncio.run(calls())
    assert recorder.identities == ["m1", "m1", None]


def test_the_client_sends_a_token_the_service_called_accepts_and_no_other_does():
    client = RpcClient("amqp://unused", signer=identity.IdentitySigner(PRIVATE))
    sent: list[dict[str, str] | None] = []

    async def fake_call(service, method, args, kwargs, timeout, headers):
        sent.append(headers)

    client._call = fake_call  # type: ignore[method-assign]
    asyncio.run(client.call("events", "update_outing", "o1", identity="m1"))
    asyncio.run(client.call("events", "get_outing", "o1"))
    token = sent[0][identity.HEADER]
    verifier = identity.IdentityVerifier(PUBLIC)
    assert verifier.verify(token, "events") == "m1"
    assert sent[1] is None or identity.HEADER not in sent[1]
    try:
        verifier.verify(token, "listings")
    except identity.InvalidIdentity:
        pass
    else:
        raise AssertionError("a token for events was accepted by listings")
