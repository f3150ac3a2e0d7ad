"""A graphql-transport-ws client for the HTTP suites: one subscription in a background thread."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable

from websockets.asyncio.client import connect

# A pushed event crosses three processes and RabbitMQ twice; CI's loaded 2-core machine has
# been seen to take several seconds, so the deadline is the suites' usual 15 s.
DEADLINE = 15.0


def ws_url(stack) -> str:
    return stack.gateway_url.replace("http://", "ws://") + "/graphql"


class Subscriber:
    """A graphql-transport-ws client running one subscription in a background thread."""

    def __init__(
        self,
        url: str,
        query: str,
        variables: dict | None = None,
        token: str | None = None,
        local_address: str | None = None,
    ) -> None:
        """``local_address``: the loopback address to talk from (the gateway's limits are per address)."""
        self.url, self.query, self.variables, self.token = url, query, variables or {}, token
        self.local_address = local_address
        self.messages: list[dict] = []
        self.ready = threading.Event()
        self.done = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(),), daemon=True)

    async def _run(self) -> None:
        bind = {"local_addr": (self.local_address, 0)} if self.local_address else {}
        async with connect(self.url, subprotocols=["graphql-transport-ws"], **bind) as socket:
            payload = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
            assert json.loads(await socket.recv())["type"] == "connection_ack"
            await socket.send(
                json.dumps(
                    {"type": "subscribe", "id": "1", "payload": {"query": self.query, "variables": self.variables}}
                )
            )
            # The gateway registers the subscription as it starts; a ping round trip after it
            # means the subscription is listening.
            await socket.send(json.dumps({"type": "ping"}))
            while not self.done.is_set():
                try:
                    message = json.loads(await asyncio.wait_for(socket.recv(), 0.2))
                except TimeoutError:
                    continue
                if message["type"] == "pong":
                    self.ready.set()
                else:
                    self.messages.append(message)

    def __enter__(self) -> Subscriber:
        self.thread.start()
        assert self.ready.wait(DEADLINE), "subscription did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(DEADLINE)

    def wait(self, count: int = 1) -> list[dict]:
        """Wait (with a deadline) until ``count`` messages arrived; return them."""
        deadline = time.monotonic() + DEADLINE
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"got {self.messages}"
        return self.messages[:count]

    def first(self, matches: Callable[[dict], bool], what: str) -> dict:
        """Wait (with a deadline) for the first message ``matches`` accepts; return it. For a
        subscription that may also hear of what happened just before it started listening."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if found := [m for m in list(self.messages) if matches(m)]:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"not within {DEADLINE:g} s: {what}; got {self.messages}")
