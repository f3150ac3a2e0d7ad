"""A member moderation suspended cannot propose, join, offer, book or ride (issue 19): the
suspension arrives as moderation's ``member_suspended`` event on the real bus, and every such
RPC answers ``SUSPENDED`` with the end of it as a date parameter (``message_id`` from the
catalogues, written in each reader's language by the gateway). Lifted, they may again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import call
from test_coop_and_trips import shift_fields, trip_fields
from test_service import GOOD

from parentnet_kit import nameko_testing as members
from parentnet_kit.envelope import Event
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.testing import wait_for

SUSPENDED_MESSAGE = "Your account is suspended until {until}."


def _moderation(amqp_uri: str, event_type: str, member_id: str, version: int, **data: str) -> None:
    publisher = EventPublisher(amqp_uri)
    publisher.connect()
    try:
        publisher.publish(Event(event_type, "moderation", member_id, version, None, {"member_id": member_id, **data}))
    finally:
        publisher.close()


def codes(answer: dict) -> list[str]:
    return [e["code"] for e in answer["errors"]]


def test_a_suspended_member_is_refused_everywhere_they_would_act_and_welcome_back_after(container, service_config):
    members.group("g-susp", host="member", rider="member", suspect="member")
    outing = call(container, "create_outing", GOOD, organizer_id="host")["outing"]
    shift = call(container, "coop_offer", "host", "g-susp", shift_fields(5, 9))["shift"]
    trip = call(container, "trip_create", "host", "g-susp", trip_fields())["trip"]
    day = call(container, "trip_rota", trip["id"])[0]["date"]

    until = datetime.now(UTC) + timedelta(days=30)
    _moderation(service_config["AMQP_URI"], "member_suspended", "suspect", 1, until=until.isoformat())
    refused = wait_for(
        lambda: (answer := call(container, "create_outing", GOOD, organizer_id="suspect"))["errors"] and answer,
        10,
        what="the suspension to reach events",
    )
    attempts = {
        "create_outing": refused,
        "join_outing": call(container, "join_outing", outing["id"], "suspect"),
        "coop_offer": call(container, "coop_offer", "suspect", "g-susp", shift_fields(6, 9)),
        "coop_book": call(container, "coop_book", shift["id"], "suspect", 1),
        "trip_create": call(container, "trip_create", "suspect", "g-susp", trip_fields("Pédibus suspendu")),
        "trip_join": call(container, "trip_join", trip["id"], "suspect", ["Lina"]),
        "trip_volunteer": call(container, "trip_volunteer", trip["id"], "suspect", day),
    }
    for method, answer in attempts.items():
        assert codes(answer) == ["SUSPENDED"], (method, answer)
        error = answer["errors"][0]
        assert error["message_id"] == SUSPENDED_MESSAGE, (method, error)
        ends = datetime.fromisoformat(error["params"]["until"]["iso_datetime"])
        assert abs(ends - until) < timedelta(seconds=1), (method, error)  # the store keeps milliseconds
    # Nothing was taken: no place, seat, rider or turn at the wheel.
    assert call(container, "get_outing", outing["id"])["attendance"]["families"] == 0
    assert call(container, "coop_shift", shift["id"])["places_left"] == shift["places"]
    assert call(container, "trip_riders", trip["id"]) == []
    assert call(container, "trip_rota", trip["id"])[0]["driver_id"] is None
    # Another member is not concerned.
    assert codes(call(container, "join_outing", outing["id"], "rider")) == []

    _moderation(service_config["AMQP_URI"], "member_unsuspended", "suspect", 2)
    joined = wait_for(
        lambda: (answer := call(container, "join_outing", outing["id"], "suspect"))["place"] and answer,
        10,
        what="the lifted suspension to reach events",
    )
    assert joined["errors"] == [] and joined["place"]["status"] == "confirmed"
    assert call(container, "coop_book", shift["id"], "suspect", 1)["errors"] == []
