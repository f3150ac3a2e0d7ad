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
    # Published: nothing left for the two-second sweep to read, the record waits for compaction.
    assert db.outbox_marks.find_one({"_id": "agg1:1"}) is None
    assert db.outbox_done.find_one({"_id": "agg1:1"})["published_at"]
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
    crashed.marks.insert_one({"_id": "agg1:1", "created_at": datetime.now(UTC)})
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


class _StaleOnce:
    """The aggregates collection as a late writer saw it: its first read of the version is
    from before the newer writers applied theirs; everything else goes to the collection."""

    def __init__(self, collection, stale_version: int) -> None:
        self.collection, self.stale_version = collection, stale_version

    def find_one(self, *args, **kwargs):
        if self.stale_version is not None:
            stale, self.stale_version = self.stale_version, None
            return {"_id": "agg1", "version": stale}
        return self.collection.find_one(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.collection, name)


def test_a_late_write_that_put_an_older_version_back_rolls_forward_to_the_newest(db):
    # FerretDB's path (read, compare here, replace by _id) is not atomic: a sweeper that read
    # version 1, then lost the processor while v2 and v3 were applied, writes v2 over v3. The
    # last writer looks for the next record after writing, so v3 is back before it returns.
    store = AggregateStore(db, "things", None)
    for version in (1, 2, 3):
        store.commit(*state_and_event(version, f"v{version}"))
    store._ferretdb = True
    store.aggregates = _StaleOnce(store.aggregates, stale_version=1)
    store._apply(state_and_event(2, "v2")[0])
    assert (store.get("agg1")["version"], store.get("agg1")["title"]) == (3, "v3")


def test_mandatory_publish_fails_loudly_when_no_queue_takes_the_event(amqp_uri):
    publisher = EventPublisher(amqp_uri)
    orphan = Event("nobody_listens", "nowhere", "x", 1, None, {})
    with pytest.raises(Exception, match=r"no queue takes nowhere\.nobody_listens"):
        publisher.publish(orphan)
    publisher.close()


def test_an_event_only_live_listeners_take_is_published_with_none_running(db, amqp_uri):
    """No service keeps a queue for ``conversations.conversation_started`` (a gateway's live feed
    takes some conversation events while it runs): with none running it came back unroutable and
    stayed in the outbox, retried every 2 s for ever (review 8: 936 retries in 31 minutes, and
    the outbox's lag alarm never cleared). An event off the catalogue still fails (above)."""
    assert topology.durable_consumers("conversations.conversation_started") == []
    assert topology.durable_consumers("events.outing_published") == ["search.indexer"]
    publisher = EventPublisher(amqp_uri)
    store = AggregateStore(db, "conversations", publisher)
    data = {"id": "c1", "members": ["m1", "m2"], "about": None, "status": "request"}
    store.commit({"_id": "c1", "version": 1}, Event("conversation_started", "conversations", "c1", 1, None, data))
    assert db.outbox_marks.find_one({"_id": "c1:1"}) is None
    assert db.outbox_done.find_one({"_id": "c1:1"})["published_at"]
    assert list(store.pending(timedelta(0))) == []
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
    expired.compact()  # the sweep itself compacts again only after COMPACT_EVERY
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


def test_the_sweeper_reads_markers_not_records_and_drops_orphans(db):
    store = AggregateStore(db, "things", None)
    store.marks.insert_one({"_id": "agg1:1", "created_at": datetime.now(UTC) - timedelta(minutes=10)})
    store.marks.insert_one({"_id": "agg2:1", "created_at": datetime.now(UTC) - timedelta(seconds=5)})
    assert list(store.pending(timedelta(0))) == []
    assert [m["_id"] for m in store.marks.find({})] == ["agg2:1"]  # its writer may still be at it


def test_unpublished_records_of_an_older_outbox_are_adopted_once(db):
    db.outbox.insert_one(
        {"_id": "agg1:1", "aggregate_id": "agg1", "version": 1, "published": False, "created_at": datetime.now(UTC)}
    )
    db.outbox.insert_one(
        {"_id": "agg2:1", "aggregate_id": "agg2", "version": 1, "published": True, "created_at": datetime.now(UTC)}
    )
    old = datetime.now(UTC) - timedelta(days=200)  # the history older code kept of every version
    db.outbox.insert_one({"_id": "agg3:1", "aggregate_id": "agg3", "version": 1, "published": True, "created_at": old})
    store = AggregateStore(db, "things", None)
    assert store.adopt(batch=1, duty=1.0) == 1
    assert store.adopt() == 0  # once per outbox
    assert [m["_id"] for m in store.marks.find({})] == ["agg1:1"]
    # Published within the retention: kept (a writer may still collide with it); older: gone.
    assert sorted(r["_id"] for r in db.outbox.find({})) == ["agg1:1", "agg2:1"]
    assert [d["_id"] for d in db.outbox_done.find({})] == ["agg2:1"]  # compacted after the retention


def test_a_creation_collides_with_its_aggregate_after_the_record_is_gone(db, amqp_uri):
    publisher = EventPublisher(amqp_uri)
    store = AggregateStore(db, "things", publisher, retention=timedelta(0))
    store.commit(*state_and_event(1, "once"))
    store.relay_pending(older_than=timedelta(hours=1))
    assert db.outbox.count_documents({}) == 0
    with pytest.raises(ConcurrencyConflict):
        store.commit(*state_and_event(1, "twice"))
    assert store.get("agg1")["title"] == "once"
    publisher.close()


def test_markers_stamped_by_older_code_move_to_done_and_are_compacted(db):
    at = datetime.now(UTC) - timedelta(minutes=10)
    db.outbox.insert_one({"_id": "agg1:1", "aggregate_id": "agg1", "version": 1, "created_at": at})
    db.outbox_marks.insert_one({"_id": "agg1:1", "created_at": at, "published_at": at})
    store = AggregateStore(db, "things", None, retention=timedelta(minutes=5))
    assert list(store.pending(timedelta(0))) == []
    assert db.outbox_marks.count_documents({}) == 0
    assert store.compact() == 1
    assert db.outbox.count_documents({}) == 0 and db.outbox_done.count_documents({}) == 0


def test_compaction_works_off_a_backlog_at_a_bounded_rate(db):
    at = datetime.now(UTC) - timedelta(hours=1)
    db.outbox.insert_many([{"_id": f"agg{i}:1", "aggregate_id": f"agg{i}", "created_at": at} for i in range(30)])
    db.outbox_done.insert_many([{"_id": f"agg{i}:1", "published_at": at} for i in range(30)])
    store = AggregateStore(db, "things", None)
    assert store.compact(limit=20) == 20
    assert db.outbox.count_documents({}) == 10
    # The sweep compacts once per COMPACT_EVERY, not on every two-second run.
    store.relay_pending()
    assert db.outbox.count_documents({}) == 10
