"""A content owner's copy of moderation's decisions, on the real servers: applied at most once,
in version order; suspensions by the highest version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parentnet_kit import config
from parentnet_kit.envelope import Event
from parentnet_kit.moderation_copy import ModerationCopy, is_hidden
from parentnet_kit.outbox import AggregateStore
from parentnet_kit.testing import drain_events


def _view(state: dict) -> dict:
    return {"id": state["_id"], "title": state["title"], "hidden": is_hidden(state)}


def _content(type_: str, version: int, subject: str = "o1") -> Event:
    data = {"subject_type": "outing", "subject_id": subject, "action_id": f"a{version}"}
    return Event(type_, "moderation", subject, version, "paris", data)


def test_hide_and_restore_are_new_versions_of_the_aggregate_applied_once(db, amqp_uri):
    settings = {"MONGO_URI": config.mongo_uri(), "AMQP_URI": amqp_uri, "DB": db.name}
    copy = ModerationCopy(settings, "DB", "events", {"outing": ("outings", "outbox", "outing_updated", _view)})
    store = AggregateStore(db, "outings", None)
    store.commit(
        {"_id": "o1", "version": 1, "title": "Goûter"}, Event("outing_published", "events", "o1", 1, "paris", {})
    )
    assert copy.apply(_content("content_hidden", 1))
    assert not copy.apply(_content("content_hidden", 1))  # repeated
    assert store.get("o1")["version"] == 2 and is_hidden(store.get("o1"))
    assert copy.apply(_content("content_restored", 2))
    assert not copy.apply(_content("content_hidden", 1))  # late: older than what was applied
    assert not is_hidden(store.get("o1")) and store.get("o1")["version"] == 3
    assert not copy.apply(_content("content_hidden", 3, "not-ours"))
    published = [e for e in drain_events(amqp_uri, "search.indexer") if e["type"] == "outing_updated"]
    assert [(e["version"], e["data"]["hidden"]) for e in published] == [(2, True), (3, False)]
    copy.close()


def test_a_suspension_holds_until_its_end_and_the_newest_version_wins(db, amqp_uri):
    settings = {"MONGO_URI": config.mongo_uri(), "AMQP_URI": amqp_uri, "DB": db.name}
    copy = ModerationCopy(settings, "DB", "listings", {})
    until = datetime.now(UTC) + timedelta(days=1)
    suspended = Event("member_suspended", "moderation", "m1", 1, None, {"member_id": "m1", "until": until.isoformat()})
    lifted = Event("member_unsuspended", "moderation", "m1", 2, None, {"member_id": "m1"})
    assert copy.apply(suspended)
    assert copy.suspended_until("m1") is not None
    assert copy.suspended_until("m1", now=until + timedelta(seconds=1)) is None  # over
    assert copy.apply(lifted)
    assert not copy.apply(suspended)  # late
    assert copy.suspended_until("m1") is None
    copy.close()
