"""Subscriptions over graphql-transport-ws on the five real processes, fed by RabbitMQ events."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from support.subscriptions import DEADLINE, Subscriber, ws_url
from test_attendance_end_to_end import JOIN
from test_outing_end_to_end import CREATE, proposal
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


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
