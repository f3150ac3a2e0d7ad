"""Subscriptions over graphql-transport-ws on the five real processes, fed by RabbitMQ events."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import pytest
from test_attendance_end_to_end import JOIN
from test_outing_end_to_end import CREATE, proposal
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

DEADLINE = 5.0


def ws_url(stack) -> str:
    return stack.gateway_url.replace("http://", "ws://") + "/graphql"


class Subscriber:
    """A graphql-transport-ws client running one subscription in a background thread."""

    def __init__(self, url: str, query: str, variables: dict | None = None, token: str | None = None) -> None:
        self.url, self.query, self.variables, self.token = url, query, variables or {}, token
        self.messages: list[dict] = []
        self.ready = threading.Event()
        self.done = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(),), daemon=True)

    async def _run(self) -> None:
        async with connect(self.url, subprotocols=["graphql-transport-ws"]) as socket:
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


def test_notification_received_when_an_outing_is_cancelled(stack, gql, sign_up):
    made = gql(CREATE, {"input": proposal("Aquarium de Paris", 48.8622, 2.2910)})["outingCreate"]["outing"]
    coming = sign_up("Listener")
    gql(JOIN, {"id": made["id"]}, token=coming["token"])
    query = "subscription { notificationReceived { kind message subject { id } } }"
    with Subscriber(ws_url(stack), query, token=coming["token"]) as listener:
        gql("mutation($id: ID!) { outingCancel(input: {outingId: $id}) { userErrors { code } } }", {"id": made["id"]})
        (message,) = listener.wait(1)
    assert message["type"] == "next"
    note = message["payload"]["data"]["notificationReceived"]
    assert note["kind"] == "outing_cancelled" and note["subject"] is not None


def test_outings_published_nearby_arrive_and_far_ones_do_not(stack, gql):
    query = """subscription($near: GeoPointInput!) {
      outingPublishedNearby(near: $near, radiusKm: 2) { id title distanceKm } }"""
    near = {"lat": 45.9230, "lon": 6.1450}  # Annecy-le-Vieux
    tag = uuid.uuid4().hex[:6]
    with Subscriber(ws_url(stack), query, {"near": near}) as listener:
        gql(CREATE, {"input": proposal(f"Loin {tag}", 45.80, 6.05, city="annecy")})
        gql(CREATE, {"input": proposal(f"Près {tag}", 45.9240, 6.1460, city="annecy")})
        (message,) = listener.wait(1)
    outing = message["payload"]["data"]["outingPublishedNearby"]
    assert outing["title"] == f"Près {tag}" and outing["distanceKm"] < 0.5
    assert len(listener.messages) == 1


def test_attendance_changes_are_pushed(stack, gql, sign_up):
    made = gql(CREATE, {"input": {**proposal("Piscine", 48.84, 2.30), "capacity": 5}})["outingCreate"]["outing"]
    query = """subscription($id: ID!) {
      outingAttendanceChanged(outingId: $id) { id attendance { families placesLeft } } }"""
    with Subscriber(ws_url(stack), query, {"id": made["id"]}) as listener:
        gql(JOIN, {"id": made["id"]}, token=sign_up("Swimmer")["token"])
        (message,) = listener.wait(1)
    assert message["payload"]["data"]["outingAttendanceChanged"]["attendance"] == {"families": 1, "placesLeft": 4}


def test_protocol_faults_close_with_their_codes(stack):
    async def subscribe_first() -> int:
        async with connect(ws_url(stack), subprotocols=["graphql-transport-ws"]) as socket:
            await socket.send(json.dumps({"type": "subscribe", "id": "1", "payload": {"query": "{ cities { slug } }"}}))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), DEADLINE)
            return closed.value.rcvd.code

    async def bad_token() -> int:
        async with connect(ws_url(stack), subprotocols=["graphql-transport-ws"]) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}}))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), DEADLINE)
            return closed.value.rcvd.code

    assert asyncio.run(subscribe_first()) == 4401
    assert asyncio.run(bad_token()) == 4403
