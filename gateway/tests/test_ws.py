"""The websocket has the HTTP guards: message size, limits, the per-client budget, and an error
message for an operation that cannot run."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from gateway.ids import to_global_id
from gateway.limits import Limits


def handshake(client):
    socket = client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"])
    ws = socket.__enter__()
    ws.send_json({"type": "connection_init"})
    assert ws.receive_json()["type"] == "connection_ack"
    return socket, ws


def test_a_message_larger_than_a_body_closes_the_socket(make_client):
    client, _ = make_client({}, max_body_bytes=1_000)
    socket, ws = handshake(client)
    ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": "{ cities { slug } }" + " " * 2_000}})
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    assert closed.value.code == 1009
    socket.__exit__(None, None, None)


def test_the_websocket_spends_the_same_budget_as_http(make_client):
    client, _ = make_client({}, limits=Limits(rate_points_per_minute=10))
    socket, ws = handshake(client)
    answers = []
    for i in range(8):
        ws.send_json({"type": "subscribe", "id": str(i), "payload": {"query": "{ cities { slug } }"}})
        answers.append(ws.receive_json())
        if answers[-1]["type"] == "next":
            assert ws.receive_json()["type"] == "complete"
    kinds = [a["type"] for a in answers]
    assert kinds[:5] == ["next"] * 5 and set(kinds[5:]) == {"error"}  # 2 points each, 10 a minute
    assert answers[5]["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
    # ... and HTTP from the same client finds the budget spent.
    assert client.post("/graphql", json={"query": "{ cities { slug } }"}).status_code == 429
    socket.__exit__(None, None, None)


def test_limits_hold_over_the_websocket(make_client):
    client, _ = make_client({})
    socket, ws = handshake(client)
    levels = 18
    fragments = ["fragment F0 on Query { cities { slug } }"]
    fragments += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    query = f"{{ ...F{levels} }} " + " ".join(fragments)
    ws.send_json({"type": "subscribe", "id": "x", "payload": {"query": query}})
    answer = ws.receive_json()
    assert answer["type"] == "error" and answer["payload"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"
    socket.__exit__(None, None, None)


def test_one_address_opens_a_bounded_number_of_websockets(make_client):
    """Each socket holds up to 25 operations: 300 from one address were all accepted before."""
    client, _ = make_client({}, max_sockets_per_address=3)
    opened = [handshake(client) for _ in range(3)]
    with pytest.raises(WebSocketDisconnect) as refused:
        handshake(client)
    assert refused.value.code == 4429
    opened.pop()[0].__exit__(None, None, None)
    opened.append(handshake(client))  # a closed one frees its place
    for socket, _ws in opened:
        socket.__exit__(None, None, None)


def test_a_pong_after_a_subscribe_means_the_subscription_listens(make_client):
    """The subscription's checks (an RPC here) run before the connection's next message is read,
    so an event sent after the client's subscribe and ping reaches it (it was lost under load)."""
    client, _ = make_client({})
    checked = []

    async def slow_call(service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        assert (service, method) == ("conversations", "get_threads")
        await asyncio.sleep(0.3)
        checked.append(method)
        return [{"id": "t1", "group_id": "g1", "title": "Piscine", "author_id": "m1", "reply_count": 0}]

    client.app.state.rpc.call = slow_call
    feed = client.app.state.feed
    socket, ws = handshake(client)
    query = "subscription($t: ID!) { discussionReplyAdded(threadId: $t) { text } }"
    variables = {"t": to_global_id("DiscussionThread", "t1")}
    ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": query, "variables": variables}})
    ws.send_json({"type": "ping"})
    assert ws.receive_json() == {"type": "pong"}
    assert checked == ["get_threads"] and feed.subscriber_count() == 1
    socket.__exit__(None, None, None)
