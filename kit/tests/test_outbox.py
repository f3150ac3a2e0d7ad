"""The outbox against the real MongoDB-protocol server and RabbitMQ."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pika
import pytest

from parentnet_kit import topology
from parentnet_kit.envelope import Event
from parentnet_kit.outbox import AggregateStore, ConcurrencyConflict
from parentnet_kit.publisher import EventPublisher


def state_and_event(version: int, title: str) -> tuple[dict, Event]:
    state = {"_id": "agg1", "version": version, "title": title}
    return state, Event("outing_published", "events", "agg1", version, "paris", {"title": title})


def drain(amqp_uri: str, queue: str) -> list[dict]:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        channel = connection.channel()
        bodies = []
        while True:
            method, _, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return bodies
            bodies.append(json.loads(body))
    finally:
        connection.close()


def test_commit_stores_state_and_publishes_to_every_known_consumer(db, amqp_uri):
    publisher = EventPublisher(amqp_uri)
    store = AggregateStore(db, "things", publisher)
    state, event = state_and_event(1, "zoo")
    store.commit(state, event)
    assert store.get("agg1")["title"] == "zoo"
    assert db.outbox.find_one({"_id": "agg1:1"})["published"] is True
    received = drain(amqp_uri, "search.indexer")
    assert [e["event_id"] for e in received] == [event.event_id]
    publisher.close()


def test_two_writers_of_one_version_cannot_both_win(db):
    store = AggregateStore(db, "things", None)
    store.commit(*state_and_event(1, "first"))
    with pytest.raises(ConcurrencyConflict):
        store.commit(*state_and_event(1, "second"))
    assert store.get("agg1")["title"] == "first"


def test_sweeper_rolls_forward_and_publishes_what_a_crash_left(db, amqp_uri):
    # A process that died after its outbox insert: no aggregate write, no publish.
    crashed = AggregateStore(db, "things", None)
    state, event = state_and_event(1, "pool")
    crashed.pending_marks.insert_one({"_id": "agg1:1", "created_at": datetime.now(UTC)})
    crashed.outbox.insert_one(
        {
            "_id": "agg1:1",
            "aggregate_id": "agg1",
            "version": 1,
            "state": state,
            "event": event.to_dict(),
            "published": False,
            "created_at": datetime.now(UTC),
        }
    )
    assert crashed.get("agg1") is None
    publisher = EventPublisher(amqp_uri)
    survivor = AggregateStore(db, "things", publisher)
    assert survivor.relay_pending(older_than=timedelta(0)) == 1
    assert survivor.get("agg1")["title"] == "pool"
    assert [e["event_id"] for e in drain(amqp_uri, "search.indexer")] == [event.event_id]
    assert survivor.relay_pending(older_than=timedelta(0)) == 0
    publisher.close()


def test_a_late_roll_forward_never_overwrites_a_newer_version(db):
    store = AggregateStore(db, "things", None)
    store.commit(*state_and_event(1, "v1"))
    store.commit(*state_and_event(2, "v2"))
    store._apply(state_and_event(1, "v1")[0])
    assert store.get("agg1")["version"] == 2


def test_mandatory_publish_fails_loudly_when_no_queue_takes_the_event(amqp_uri):
    publisher = EventPublisher(amqp_uri)
    orphan = Event("nobody_listens", "nowhere", "x", 1, None, {})
    with pytest.raises(Exception, match=r"no queue takes nowhere\.nobody_listens"):
        publisher.publish(orphan)
    publisher.close()


def test_topology_is_idempotent(amqp_uri):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    topology.declare(channel)
    topology.declare(channel)
    assert channel.queue_declare("search.indexer.dead", passive=True).method.message_count == 0
    connection.close()


def test_the_sweeper_reads_only_what_is_unpublished(db, amqp_uri):
    publisher = EventPublisher(amqp_uri)
    store = AggregateStore(db, "things", publisher)
    for version in (1, 2, 3):
        store.commit(*state_and_event(version, f"v{version}"))
    assert db.outbox_pending.count_documents({}) == 0
    assert list(store.pending(timedelta(0))) == []
    publisher.close()


def test_a_marker_whose_record_never_came_is_dropped_after_a_while(db):
    store = AggregateStore(db, "things", None)
    old = datetime.now(UTC) - timedelta(minutes=10)
    store.pending_marks.insert_one({"_id": "agg1:1", "created_at": old})
    store.pending_marks.insert_one({"_id": "agg2:1", "created_at": datetime.now(UTC) - timedelta(seconds=5)})
    assert list(store.pending(timedelta(0))) == []
    assert [m["_id"] for m in store.pending_marks.find({})] == ["agg2:1"]  # its writer may still be at it


def test_unpublished_records_of_an_older_outbox_are_adopted_once(db):
    db.outbox.insert_one(
        {"_id": "agg1:1", "aggregate_id": "agg1", "version": 1, "published": False, "created_at": datetime.now(UTC)}
    )
    store = AggregateStore(db, "things", None)
    store.ensure_indexes()
    store.ensure_indexes()
    assert [m["_id"] for m in store.pending_marks.find({})] == ["agg1:1"]


def test_compaction_keeps_the_latest_version_and_the_recent_past(db, amqp_uri):
    publisher = EventPublisher(amqp_uri)
    store = AggregateStore(db, "things", publisher, retention=timedelta(0))
    for version in (1, 2, 3):
        store.commit(*state_and_event(version, f"v{version}"))
    recent = AggregateStore(db, "things", publisher, retention=timedelta(hours=1))
    assert recent.compact() == 0
    assert store.compact() == 2
    assert [r["_id"] for r in db.outbox.find({})] == ["agg1:3"]
    assert db.outbox_published.count_documents({}) == 0
    # The next version still collides with a writer that read the latest one.
    with pytest.raises(ConcurrencyConflict):
        store.commit(*state_and_event(3, "stale"))
    store.commit(*state_and_event(4, "v4"))
    assert store.get("agg1")["title"] == "v4"
    publisher.close()


def test_a_conflict_rolls_forward_what_a_crash_left_without_reading_the_outbox_by_aggregate(db):
    store = AggregateStore(db, "things", None)
    store.commit(*state_and_event(1, "v1"))
    state, event = state_and_event(2, "v2")
    db.outbox.insert_one(
        {
            "_id": "agg1:2",
            "aggregate_id": "agg1",
            "version": 2,
            "state": state,
            "event": event.to_dict(),
            "published": False,
            "created_at": datetime.now(UTC),
        }
    )
    with pytest.raises(ConcurrencyConflict):
        store.commit(*state_and_event(2, "loser"))
    assert store.get("agg1")["title"] == "v2"
