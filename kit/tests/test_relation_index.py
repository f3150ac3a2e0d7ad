"""Relation indexes against the real store: right under racing changes and snapshot writes, after
a crash between a write and its marker, and a few finds at 500 relations ever."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from pymongo import MongoClient

from parentnet_kit import config
from parentnet_kit.envelope import Event
from parentnet_kit.outbox import AggregateStore, ConcurrencyConflict, retry_on_conflict
from parentnet_kit.relation_index import RelationIndex
from parentnet_kit.sequences import Sequences
from parentnet_kit.testing import StoreReads


class Published:
    """A publisher that takes every event (the outbox then marks its record done)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        self.events.append(event)


class Follows:
    """Who follows whom, as the members service keeps blocks: one aggregate ``f:<a>:<b>`` per
    pair, toggled ``active``, indexed for both members."""

    def __init__(self, db: Any, publisher: Any = None) -> None:
        self.index = RelationIndex(
            Sequences(db["follow_ids"]),
            db["follow_snapshots"],
            db["follows"],
            "follow_id",
            lambda _owner, follow_id: follow_id,
            lambda state: bool(state["active"]),
            ("a", "b"),
        )
        self.store = AggregateStore(db, "follows", publisher or Published(), "follows_outbox", on_applied=self.applied)

    def applied(self, state: dict[str, Any]) -> None:
        for owner in (state["a"], state["b"]):
            self.index.mark(owner, state["_id"])

    def set(self, a: str, b: str, active: bool) -> None:
        follow_id = f"f:{a}:{b}"

        def change() -> None:
            current = self.store.get(follow_id)
            if current is None:
                for owner in (a, b):
                    self.index.mark(owner, follow_id)
            elif current["active"] == active:
                return
            version = 1 if current is None else current["version"] + 1
            state = {"_id": follow_id, "version": version, "a": a, "b": b, "active": active}
            self.store.commit(state, Event("member_blocked", "kit", follow_id, version, None, {}))

        retry_on_conflict(50, change)

    def following(self, owner: str) -> set[str]:
        return {r["b"] for r in self.index.read(owner) if r["a"] == owner}

    def truth(self, owner: str) -> set[str]:
        """What the relation documents say (a scan: for the test only)."""
        return {d["b"] for d in self.store.aggregates.find({"a": owner, "active": True})}


def test_toggles_are_read_at_once_by_this_and_another_process(db):
    mine, theirs = Follows(db), Follows(db)
    for state in (True, False, True, False, True):
        mine.set("ann", "bob", state)
        expected = {"bob"} if state else set()
        assert mine.following("ann") == expected
        assert theirs.following("ann") == expected
        assert {r["a"] for r in theirs.index.read("bob")} == ({"ann"} if state else set())


def test_a_snapshot_is_written_once_markers_come_and_order_follows_arrival(db):
    follows = Follows(db)
    for b in ("c1", "c2", "c3"):
        follows.set("ann", b, True)
    assert [r["b"] for r in follows.index.read("ann")] == ["c1", "c2", "c3"]
    stored = db.follow_snapshots.find_one({"_id": "ann"})
    assert stored["k"] == follows.index.markers.head("ann")
    assert [r["b"] for r in stored["relations"]] == ["c1", "c2", "c3"]
    follows.set("ann", "c1", False)
    assert [r["b"] for r in follows.index.read("ann")] == ["c2", "c3"]
    follows.set("ann", "c1", True)  # back: after the others now
    assert [r["b"] for r in follows.index.read("ann")] == ["c2", "c3", "c1"]


def test_a_change_whose_marker_was_lost_in_a_crash_is_marked_by_the_sweeper(db):
    follows = Follows(db)
    follows.set("ann", "bob", True)
    assert follows.following("ann") == {"bob"}  # the snapshot holds it
    # A process that wrote the unfollow and died before its marker (and so before its publish).
    crashed = Follows(db)

    def die(state: dict[str, Any]) -> None:
        raise SystemExit("killed after the write")

    crashed.store.on_applied = die
    with pytest.raises(SystemExit):
        crashed.set("ann", "bob", False)
    assert follows.store.get("f:ann:bob")["active"] is False
    # Until the sweep, the snapshot hides the change its writer never answered for.
    assert follows.following("ann") == {"bob"}
    assert follows.store.relay_pending(older_than=timedelta(0)) == 1
    assert follows.following("ann") == set()
    assert Follows(db).following("ann") == set()
    assert {r["a"] for r in follows.index.read("bob")} == set()
    # Swept again (a second sweeper, or a broker outage): an extra marker, the same answer.
    assert follows.following("ann") == set()


def test_racing_changes_and_snapshot_writes_leave_every_reader_right(db):
    """Eight writers toggle 24 follows of one member behind a barrier, two writers at odds per
    follow (version conflicts, retries), while eight readers of three "processes" read (and
    write snapshots) as fast as they can; afterwards every reader, old or new, reads exactly
    what the documents say."""
    owners = [Follows(db) for _ in range(3)]
    targets = [f"t{i}" for i in range(24)]
    barrier = threading.Barrier(16)
    stop = threading.Event()

    def write(w: int) -> None:
        barrier.wait()
        for round_ in range(4):
            for i, target in enumerate(targets):
                if i % 4 == w % 4:
                    owners[w % 3].set("ann", target, (round_ + i + w // 4) % 2 == 0)

    def read(r: int) -> int:
        barrier.wait()
        reads = 0
        while not stop.is_set():
            owners[r % 3].following("ann")
            reads += 1
        return reads

    with ThreadPoolExecutor(max_workers=16) as pool:
        readers = [pool.submit(read, r) for r in range(8)]
        writers = [pool.submit(write, w) for w in range(8)]
        for f in writers:
            f.result()
        stop.set()
        assert sum(f.result() for f in readers) > 0
    truth = owners[0].truth("ann")
    assert db.follows.count_documents({}) == len(targets)
    for follows in (*owners, Follows(db)):
        assert follows.following("ann") == truth
    for target in targets:
        assert {r["a"] for r in owners[0].index.read(target)} == ({"ann"} if target in truth else set())


def test_a_read_costs_a_few_finds_at_500_relations_ever(db):
    finds = StoreReads()
    client = MongoClient(config.mongo_uri(), tz_aware=True, event_listeners=[finds])
    try:
        watched = Follows(client[db.name])
        follows = Follows(db)
        for i in range(500):
            follows.set("ann", f"c{i}", True)
        for i in range(0, 500, 2):
            follows.set("ann", f"c{i}", False)  # 500 ever, 250 now, 750 changes
        finds.clear()
        assert len(watched.following("ann")) == 250  # first read since: the whole tail, once
        first = len(finds.finds())
        finds.clear()
        assert len(watched.following("ann")) == 250
        assert len(finds.finds()) <= 2  # the snapshot, the next marker's miss
        follows.set("ann", "c0", True)
        finds.clear()
        assert len(watched.following("ann")) == 251
        assert len(finds.finds()) <= 4  # + the marker, the follow it names
        finds.clear()
        assert len(watched.following("ann")) == 251
        assert len(finds.finds()) <= 2
        assert first > 500  # what every read cost before the snapshot
    finally:
        client.close()


def test_a_conflicting_writer_marks_what_it_rolls_forward(db):
    follows = Follows(db)
    follows.set("ann", "bob", True)
    assert follows.following("ann") == {"bob"}
    # A writer of version 2 died after its outbox insert, before its write: a racing writer of
    # version 2 collides, rolls it forward (a write: marked) and retries on fresh state.
    state = {"_id": "f:ann:bob", "version": 2, "a": "ann", "b": "bob", "active": False}
    db.follows_outbox.insert_one(
        {"_id": "f:ann:bob:2", "aggregate_id": "f:ann:bob", "version": 2, "state": state, "event": {}}
    )
    with pytest.raises(ConcurrencyConflict):
        follows.store.commit({**state, "active": True}, Event("member_blocked", "kit", "f:ann:bob", 2, None, {}))
    assert follows.following("ann") == set()
