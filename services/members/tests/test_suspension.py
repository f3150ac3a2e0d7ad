"""Moderation's suspensions, as members keeps them (queue ``members.moderation``): a suspended
member proposes no group until the suspension ends or is lifted; the events may come twice and
late, in a real nameko container on the real servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from test_accounts import call

from members.service import MembersService
from parentnet_kit.envelope import Event
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.testing import wait_for

GROUP = {"name": "Parents du canal", "city": "paris"}


@pytest.fixture
def container(container_factory, service_config):
    container = container_factory(MembersService, service_config)
    container.start()
    return container


@pytest.fixture
def moderation(service_config):
    """Publishes as the moderation service does (``moderation.<type>``, aggregate = the member)."""
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


def test_a_suspended_member_creates_no_group_until_the_suspension_is_lifted(container, moderation):
    member, bystander = "m-suspended-1", "m-bystander-1"
    until = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    moderation("member_suspended", member, 1, until)

    refused = wait_for(
        lambda: (r := call(container, "create_group", member, GROUP))["errors"] and r,
        timeout=10,
        what="the suspension to reach members",
    )
    assert refused["group"] is None
    assert codes(refused) == ["SUSPENDED"]
    [error] = refused["errors"]
    # Marked for translation, with the end as a date parameter the reader's language writes.
    assert error["message_id"] == "Your account is suspended until {until}."
    assert datetime.fromisoformat(error["params"]["until"]["iso_datetime"]) == until
    # Others are not concerned.
    assert call(container, "create_group", bystander, GROUP)["errors"] == []

    moderation("member_unsuspended", member, 2)
    allowed = wait_for(
        lambda: (r := call(container, "create_group", member, GROUP))["group"] and r,
        timeout=10,
        what="the lifted suspension to reach members",
    )
    assert allowed["errors"] == []

    # The suspension delivered again, late (at-least-once): the newer lifting stands.
    moderation("member_suspended", member, 1, until)
    moderation("member_suspended", "m-marker-1", 1, until)  # delivered after it, on the same queue
    wait_for(lambda: call(container, "create_group", "m-marker-1", GROUP)["errors"], timeout=10, what="the marker")
    assert call(container, "create_group", member, GROUP)["errors"] == []


def test_a_suspension_that_ended_refuses_nothing(container, moderation):
    member = "m-suspended-2"
    moderation("member_suspended", member, 1, datetime.now(UTC) - timedelta(minutes=1))
    moderation("member_suspended", "m-marker-2", 1, datetime.now(UTC) + timedelta(days=1))
    wait_for(lambda: call(container, "create_group", "m-marker-2", GROUP)["errors"], timeout=10, what="the marker")
    assert call(container, "create_group", member, GROUP)["errors"] == []
