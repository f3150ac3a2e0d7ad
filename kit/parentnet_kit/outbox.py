"""Aggregates stored with their events through an outbox, correct on MongoDB and FerretDB.

Neither server gives us a multi-document transaction we can rely on (FerretDB 1.x has
none), and FerretDB's conditional updates are not atomic. So a change to an aggregate is
*first* an insert into the outbox with ``_id = "<aggregate>:<version>"``: a unique key, which
both servers enforce. The outbox record holds the whole new state and the event. Two
writers of the same version cannot both insert it; the loser gets ``ConcurrencyConflict``
and retries on fresh state.

Then the aggregate document is rolled forward to that state, and the event is published
(confirms + mandatory) and marked published. A crash anywhere after the insert is repaired
by ``relay_pending`` (a nameko timer calls it): it rolls the aggregate forward and
publishes. Publishing twice is harmless (consumers apply events by version); losing an
accepted change is impossible once its outbox insert has succeeded.

What the store must do for this stays cheap however much was ever written (docs/store.md has
the measurements). FerretDB 1.x on SQLite filters and sorts in its own process after reading
every document of a collection, so no hot path reads a big collection by anything but a
point lookup, and the sweeper reads only small collections:

- ``<outbox>_pending`` holds a marker per record not yet published (written *before* the
  record, removed after its publish): the sweeper reads that, not the outbox.
- ``<outbox>_published`` holds a marker per record published in the last ``retention``;
  compaction (every ``COMPACT_EVERY`` from the sweeper) then deletes the record of the
  *previous* version. So the outbox keeps the latest version of every aggregate and the
  recent past: a writer that read version v-1 always collides on ``v`` (a record is deleted
  only ``retention`` after its successor was published, and no writer holds a read that long).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from .clock import aware
from .envelope import Event
from .lookups import is_ferretdb
from .publisher import EventPublisher, PublishFailed

log = logging.getLogger(__name__)

# Fault injection for the reliability suite: when this variable names an event type, the
# process exits right after the outbox insert and before the aggregate write and publish.
CRASH_AFTER_OUTBOX_ENV = "PARENTNET_FAULT_CRASH_AFTER_OUTBOX"


class ConcurrencyConflict(RuntimeError):
    """Somebody else committed this version of the aggregate first; reload and retry."""


# How long a published record outlives its successor, and how often compaction runs.
RETENTION = timedelta(seconds=float(os.environ.get("OUTBOX_RETENTION_SECONDS", "600")))
COMPACT_EVERY = timedelta(seconds=60)
# A pending marker whose record never appeared: its writer died between the two inserts.
ORPHAN_AFTER = timedelta(minutes=5)


class AggregateStore:
    """Versioned aggregates in ``collection`` with their events in the ``outbox`` collection."""

    def __init__(
        self,
        db: Database,
        collection: str,
        publisher: EventPublisher | None,
        outbox: str = "outbox",
        retention: timedelta = RETENTION,
    ) -> None:
        # One outbox collection per aggregate collection: the sweeper rolls records forward
        # into ``collection``, so two kinds of aggregate must never share an outbox.
        self.aggregates: Collection = db[collection]
        self.outbox: Collection = db[outbox]
        self.pending_marks: Collection = db[f"{outbox}_pending"]
        self.published_marks: Collection = db[f"{outbox}_published"]
        self.publisher = publisher
        self.retention = retention
        self._ferretdb = is_ferretdb(db)
        self._next_compaction = 0.0

    def ensure_indexes(self) -> None:
        """Nothing to index (every read is by ``_id``); adopts unpublished records written before
        the pending markers existed, once per outbox."""
        adopted = self.outbox.database["outbox_adopted"]
        if adopted.find_one({"_id": self.outbox.name}) is not None:
            return
        for record in self.outbox.find({"published": False}, {"created_at": 1}):
            with contextlib.suppress(DuplicateKeyError):
                self.pending_marks.insert_one({"_id": record["_id"], "created_at": record["created_at"]})
        with contextlib.suppress(DuplicateKeyError):
            adopted.insert_one({"_id": self.outbox.name, "at": datetime.now(UTC)})

    def get(self, aggregate_id: str) -> dict[str, Any] | None:
        return self.aggregates.find_one({"_id": aggregate_id})

    def commit(self, state: dict[str, Any], event: Event) -> None:
        """Store ``state`` (with ``_id`` and ``version``) and publish ``event`` at least once.

        Raises ``ConcurrencyConflict`` when this version of the aggregate exists already."""
        aggregate_id, version = state["_id"], state["version"]
        if event.aggregate_id != aggregate_id or event.version != version:
            raise ValueError("event and state disagree on aggregate or version")
        now = datetime.now(UTC)
        record = {
            "_id": f"{aggregate_id}:{version}",
            "aggregate_id": aggregate_id,
            "version": version,
            "state": state,
            "event": event.to_dict(),
            "published": False,
            "created_at": now,
        }
        # The marker first: a crash after the record's insert must leave the sweeper a trace.
        # A racing writer of the same version may have written it; the record decides.
        with contextlib.suppress(DuplicateKeyError):
            self.pending_marks.insert_one({"_id": record["_id"], "created_at": now})
        try:
            self.outbox.insert_one(record)
        except DuplicateKeyError as exc:
            # Perhaps a writer died after its insert: make sure its state is applied, so
            # that the retry reads it instead of conflicting forever.
            self._roll_forward(aggregate_id)
            raise ConcurrencyConflict(f"{aggregate_id} version {version} exists") from exc
        if os.environ.get(CRASH_AFTER_OUTBOX_ENV) == event.type:
            os._exit(137)
        self._apply(state)
        self._publish(record)

    def _apply(self, state: dict[str, Any]) -> None:
        version = state["version"]
        if version == 1:
            # A DuplicateKeyError means the sweeper rolled it forward already.
            with contextlib.suppress(DuplicateKeyError):
                self.aggregates.insert_one(state)
            return
        if not self._ferretdb:
            # Only move forward: a late roll-forward must never overwrite a newer version.
            # MongoDB checks the filter atomically, through the _id index.
            self.aggregates.replace_one({"_id": state["_id"], "version": {"$lt": version}}, state)
            return
        # FerretDB reads, compares in Go and writes back without re-checking (its #3040), and a
        # second key in the filter makes it read the whole collection: compare here, write by _id.
        current = self.aggregates.find_one({"_id": state["_id"]}, {"version": 1})
        if current is not None and current["version"] < version:
            self.aggregates.replace_one({"_id": state["_id"]}, state)

    def _roll_forward(self, aggregate_id: str) -> None:
        """Apply every record after the aggregate's version, by point lookups ``<id>:<v>``."""
        current = self.aggregates.find_one({"_id": aggregate_id}, {"version": 1})
        version = current["version"] + 1 if current else 1
        while (record := self.outbox.find_one({"_id": f"{aggregate_id}:{version}"})) is not None:
            self._apply(record["state"])
            version += 1

    def _publish(self, record: dict[str, Any]) -> bool:
        if self.publisher is None:
            return False
        try:
            self.publisher.publish(Event.from_dict(record["event"]))
        except PublishFailed as exc:
            log.warning("event %s left for the sweeper: %s", record["_id"], exc)
            return False
        now = datetime.now(UTC)
        self.outbox.update_one({"_id": record["_id"]}, {"$set": {"published": True, "published_at": now}})
        with contextlib.suppress(DuplicateKeyError):
            self.published_marks.insert_one({"_id": record["_id"], "at": now})
        self.pending_marks.delete_one({"_id": record["_id"]})
        return True

    def pending(self, older_than: timedelta) -> Iterator[dict[str, Any]]:
        """Unpublished records written at least ``older_than`` ago, oldest first.

        Reads only the pending markers (a small collection: what is not published yet)."""
        now = datetime.now(UTC)
        marks = sorted(self.pending_marks.find({}), key=lambda m: (aware(m["created_at"]), m["_id"]))
        for mark in marks:
            if aware(mark["created_at"]) > now - older_than:
                break
            record = self.outbox.find_one({"_id": mark["_id"]})
            if record is None:
                if aware(mark["created_at"]) <= now - ORPHAN_AFTER:
                    self.pending_marks.delete_one({"_id": mark["_id"]})
                continue
            if record.get("published"):  # published, then the process died before the marker went
                self.pending_marks.delete_one({"_id": mark["_id"]})
                continue
            yield record

    def relay_pending(self, older_than: timedelta = timedelta(seconds=2), limit: int = 500) -> int:
        """Roll forward and publish what a crash or an outage left behind; returns how many.
        Every ``COMPACT_EVERY`` it also compacts (``compact``)."""
        published = 0
        try:
            for record in itertools.islice(self.pending(older_than), limit):
                self._roll_forward(record["aggregate_id"])
                if not self._publish(record):
                    break  # the broker is away; the next sweep tries again
                published += 1
            if time.monotonic() >= self._next_compaction:
                self._next_compaction = time.monotonic() + COMPACT_EVERY.total_seconds()
                self.compact()
        except PyMongoError as exc:
            log.warning("outbox sweep interrupted: %s", exc)
        return published

    def compact(self, limit: int = 5_000) -> int:
        """Delete the published records superseded more than ``retention`` ago; returns how many.

        For each version v published before ``now - retention`` the record of v-1 goes (when it
        was published: an unpublished one waits for its sweep). Reads only the recent markers."""
        cutoff = datetime.now(UTC) - self.retention
        deleted = 0
        for mark in itertools.islice(self.published_marks.find({}), limit):
            if aware(mark["at"]) > cutoff:
                continue
            aggregate_id, _, version = mark["_id"].rpartition(":")
            if version.isdigit() and int(version) > 1:
                previous = f"{aggregate_id}:{int(version) - 1}"
                record = self.outbox.find_one({"_id": previous}, {"published": 1})
                if record is not None and record.get("published"):
                    deleted += self.outbox.delete_one({"_id": previous}).deleted_count
            self.published_marks.delete_one({"_id": mark["_id"]})
        return deleted


def retry_on_conflict(attempts: int, change: Callable[[], Any], backoff: float = 0.0) -> Any:
    """Run ``change`` again on ``ConcurrencyConflict``, up to ``attempts`` times.

    With ``backoff`` (seconds), wait a random time up to ``backoff * attempt`` between tries,
    so that many writers of one hot aggregate stop colliding in lockstep.
    """
    for attempt in range(1, attempts + 1):
        try:
            return change()
        except ConcurrencyConflict:
            if attempt == attempts:
                raise
            if backoff:
                time.sleep(random.uniform(0, backoff * attempt))
    raise AssertionError("unreachable")
