"""Moderation's suspensions as listings keeps them (queue ``listings.moderation``): a suspended
member posts no listing or contact, asks for nobody's listing and renews none of theirs, until
the suspension is lifted; in a real nameko container on the real servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from test_listings import BASTILLE, call, listing, post

from listings.service import ListingsService
from parentnet_kit.envelope import Event
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.testing import wait_for

CONTACT = {"kind": "paediatrician", "name": "Dr Martin", "city": "paris", "phone": "+33 1 23 45 67 89"}


@pytest.fixture
def container(container_factory, service_config):
    container = container_factory(ListingsService, service_config)
    container.start()
    return container


@pytest.fixture
def moderation(service_config):
    publisher = EventPublisher(service_config["AMQP_URI"])
    publisher.connect()

    def publish(type_: str, member_id: str, version: int, until: datetime | None = None) -> None:
        data = {"member_id": member_id, "action_id": f"act-{version}"}
        if until is not None:
            data["until"] = until.isoformat()
        publisher.publish(Event(type_, "moderation", member_id, version, None, data))

    yield publish
    publisher.close()


def codes(result: dict) -> list[str]:
    return [e["code"] for e in result["errors"]]


def test_a_suspended_member_neither_posts_nor_asks_nor_renews_until_lifted(container, moderation):
    offer = post(container, "giver", listing("give", "Poussette", BASTILLE, condition="good"))
    own = post(container, "suspect", listing("give", "Siège auto", BASTILLE, condition="good"))
    until = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    moderation("member_suspended", "suspect", 1, until)

    # Waited for by renewing their own listing, which changes nothing that matters here (probing
    # with a reservation would reserve the offer whenever the suspension had not arrived yet).
    wait_for(
        lambda: codes(call(container, "renew_listing", own["id"], "suspect")) == ["SUSPENDED"],
        timeout=10,
        what="the suspension to reach listings",
    )
    refused = call(container, "reserve_listing", offer["id"], "suspect", [])
    assert refused["listing"] is None and codes(refused) == ["SUSPENDED"]
    [error] = refused["errors"]
    assert error["message_id"] == "Your account is suspended until {until}."
    assert datetime.fromisoformat(error["params"]["until"]["iso_datetime"]) == until
    wanted = listing("wanted", "Cherche poussette", BASTILLE, match_radius_km=3)
    assert codes(call(container, "create_listing", wanted, "suspect", [])) == ["SUSPENDED"]
    assert codes(call(container, "renew_listing", own["id"], "suspect")) == ["SUSPENDED"]
    assert codes(call(container, "add_contact", CONTACT, "suspect")) == ["SUSPENDED"]
    # Someone else's listing renewed by the suspended member is still not theirs.
    assert codes(call(container, "renew_listing", offer["id"], "suspect")) == ["FORBIDDEN"]
    # The listing is still there for everybody else.
    assert call(container, "get_listings", [offer["id"]], "other")[0]["status"] == "active"

    moderation("member_unsuspended", "suspect", 2)
    reserved = wait_for(
        lambda: (r := call(container, "reserve_listing", offer["id"], "suspect", []))["listing"] and r,
        timeout=10,
        what="the lifted suspension to reach listings",
    )
    assert reserved["errors"] == [] and reserved["listing"]["status"] == "reserved"
    assert call(container, "renew_listing", own["id"], "suspect")["errors"] == []
    assert call(container, "add_contact", CONTACT, "suspect")["errors"] == []
