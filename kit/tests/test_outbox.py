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


def test_the_outbox_keeps_only_the_recent_past_and_versions_still_collide(db, amqp_uri):
    publisher = EventPublisher(amqp_uri)
    store = AggregateStore(db, "things", publisher, retention=timedelta(hours=1))
    for version in (1, 2, 3):
        store.commit(*state_and_event(version, f"v{version}"))
    assert store.relay_pending(older_than=timedelta(0)) == 0
    assert db.outbox.count_documents({}) == 3  # younger than the retention: kept
    with pytest.raises(ConcurrencyConflict):  # a writer that read version 2 collides
        store.commit(*state_and_event(3, "stale"))

    unpublished = AggregateStore(db, "things", None, retention=timedelta(0))
    unpublished.commit(*state_and_event(4, "v4"))  # no broker: left for the sweeper
    expired = AggregateStore(db, "things", publisher, retention=timedelta(0))
    expired.relay_pending(older_than=timedelta(hours=1))
    # Published and past the retention: deleted; the unpublished one waits for its publish.
    assert [r["_id"] for r in db.outbox.find({})] == ["agg1:4"]
    assert expired.relay_pending(older_than=timedelta(0)) == 1
    expired.relay_pending(older_than=timedelta(0))
    assert db.outbox.count_documents({}) == 0
    assert store.get("agg1")["title"] == "v4"
    store.commit(*state_and_event(5, "v5"))
    assert store.get("agg1")["version"] == 5
    publisher.close()


def test_a_conflict_rolls_forward_what_a_crash_left_by_point_lookups(db):
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
