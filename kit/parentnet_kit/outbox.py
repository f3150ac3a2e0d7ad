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
and decoding every document of a collection (1,500 outbox records: 2.0-5.7 s; 1,500 markers of
three fields: 0.1 s), so the sweeper never reads the outbox itself:

- ``<outbox>_marks`` holds a small marker per record, written *before* it (a crash after the
  record's insert leaves a trace) and stamped ``published_at`` after its publish: the sweeper
  reads the markers, publishes what is unpublished and, ``retention`` after a publish, deletes
  the record and its marker. Markers and outbox hold only the recent past; idle, nothing.
- Version collisions still hold: a writer that read version v-1 collides with the record of v,
  written after its read and so within ``retention``, as long as no writer holds a read that
  long (a change reads and inserts within one request; retries read again).
- A creation (version 1) also collides with the aggregate itself, so what is created once (by a
  request's id, a notification's key) stays once after its record is gone.
- Conflicts roll forward by point lookups ``<aggregate>:<v>``. A commit writes the marker, the
  record, the aggregate and the marker's stamp (the record's ``published`` flag is gone).
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
from .metrics import OUTBOX_LAG, OUTBOX_UNPUBLISHED
from .publisher import EventPublisher, PublishFailed

log = logging.getLogger(__name__)

# Fault injection for the reliability suite: when this variable names an event type, the
# process exits right after the outbox insert and before the aggregate write and publish.
CRASH_AFTER_OUTBOX_ENV = "PARENTNET_FAULT_CRASH_AFTER_OUTBOX"


class ConcurrencyConflict(RuntimeError):
    """Somebody else committed this version of the aggregate first; reload and retry."""


# How long a published record stays: longer than any writer holds a read of the aggregate.
RETENTION = timedelta(seconds=float(os.environ.get("OUTBOX_RETENTION_SECONDS", "300")))
COMPACT_MAX = 1_000  # records deleted per sweep
# A marker whose record never came: its writer died between the two inserts.
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
        self.marks: Collection = db[f"{outbox}_marks"]
        self.publisher = publisher
        self.retention = retention
        self._ferretdb = is_ferretdb(db)

    def ensure_indexes(self) -> None:
        """No index: every read is by ``_id`` or of the small markers. Once per outbox, records
        left unpublished by code from before the markers get one (one read of the outbox)."""
        adopted = self.outbox.database["outbox_adopted"]
        if adopted.find_one({"_id": self.outbox.name}) is not None:
            return
        for record in self.outbox.find({"published": False}, {"created_at": 1}):
            with contextlib.suppress(DuplicateKeyError):
                self.marks.insert_one({"_id": record["_id"], "created_at": record["created_at"]})
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
        if version == 1 and self.aggregates.find_one({"_id": aggregate_id}, {"_id": 1}) is not None:
            # Created long ago (its record may be compacted): creations keyed by a request's id
            # and "tell once" notifications stay once, whatever the retention.
            raise ConcurrencyConflict(f"{aggregate_id} exists")
        now = datetime.now(UTC)
        record = {
            "_id": f"{aggregate_id}:{version}",
            "aggregate_id": aggregate_id,
            "version": version,
            "state": state,
            "event": event.to_dict(),
            "created_at": now,
        }
        # A racing writer of the same version may have written the marker; the record decides.
        with contextlib.suppress(DuplicateKeyError):
            self.marks.insert_one({"_id": record["_id"], "created_at": now})
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
        self.marks.update_one({"_id": record["_id"]}, {"$set": {"published_at": datetime.now(UTC)}})
        return True

    def pending(self, older_than: timedelta) -> Iterator[dict[str, Any]]:
        """Unpublished records written at least ``older_than`` ago, oldest first (reads the
        markers, then each record by ``_id``)."""
        now = datetime.now(UTC)
        marks = [m for m in self.marks.find({}) if "published_at" not in m]
        oldest = min((aware(m["created_at"]) for m in marks), default=now)
        OUTBOX_LAG.labels(self.outbox.name).set(max(0.0, (now - oldest).total_seconds()))
        OUTBOX_UNPUBLISHED.labels(self.outbox.name).set(len(marks))
        for mark in sorted(marks, key=lambda m: (aware(m["created_at"]), m["_id"])):
            if aware(mark["created_at"]) > now - older_than:
                break
            record = self.outbox.find_one({"_id": mark["_id"]})
            if record is None:
                if aware(mark["created_at"]) <= now - ORPHAN_AFTER:
                    self.marks.delete_one({"_id": mark["_id"]})
                continue
            yield record

    def relay_pending(self, older_than: timedelta = timedelta(seconds=2), limit: int = 500) -> int:
        """Roll forward and publish what a crash or an outage left behind; delete records (and
        markers) published more than ``retention`` ago. Returns how many were published."""
        published = 0
        try:
            for record in itertools.islice(self.pending(older_than), limit):
                self._roll_forward(record["aggregate_id"])
                if not self._publish(record):
                    break  # the broker is away; the next sweep tries again
                published += 1
            self.compact()
        except PyMongoError as exc:
            log.warning("outbox sweep interrupted: %s", exc)
        return published

    def compact(self) -> int:
        """Delete the records published more than ``retention`` ago, and their markers."""
        cutoff = datetime.now(UTC) - self.retention
        done = [m["_id"] for m in self.marks.find({}) if "published_at" in m and aware(m["published_at"]) < cutoff]
        for record_id in done[:COMPACT_MAX]:
            self.outbox.delete_one({"_id": record_id})
            self.marks.delete_one({"_id": record_id})
        return min(len(done), COMPACT_MAX)


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
