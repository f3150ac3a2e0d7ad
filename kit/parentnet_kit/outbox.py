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
three fields: 0.1 s), so the sweeper never reads the outbox itself, and what it reads every
two seconds holds only what is in flight:

- ``<outbox>_marks`` holds a small marker per record *not yet published*, written before the
  record (a crash after the record's insert leaves a trace) and deleted after its publish. The
  sweeper reads the markers every two seconds and publishes what they name: idle, or with every
  publish going through, there is nothing to read.
- ``<outbox>_done`` holds a marker per published record (written before the pending marker is
  deleted, so a crash between leaves a record published twice, never one forgotten). Every
  ``COMPACT_EVERY`` the sweeper deletes the records (and these markers) published more than
  ``retention`` ago, at most ``COMPACT_MAX`` a run, so a backlog is worked off at a bounded
  rate instead of taking the store's cores.
- Version collisions still hold: a writer that read version v-1 collides with the record of v,
  written after its read and so within ``retention``, as long as no writer holds a read that
  long (a change reads and inserts within one request; retries read again).
- A creation (version 1) also collides with the aggregate itself, so what is created once (by a
  request's id, a notification's key) stays once after its record is gone.
- Conflicts roll forward by point lookups ``<aggregate>:<v>``. A commit writes the marker, the
  record, the aggregate, the done marker and deletes the marker.
- Markers stamped ``published_at`` by the code before ``_done`` existed are moved there by the
  first sweep that reads them.

``on_applied`` (optional) is told every state this store applies, *after* the aggregate write,
and *before* the record is published: by the commit (even when a newer version was there
already), by every roll-forward, and by the sweeper for each pending record it publishes (once
per record and process). A crash between a write and its call leaves the record unpublished
(it is published only after both), so the sweeper calls it then: every write to an aggregate is
followed by a call, crashes included (``parentnet_kit.relation_index`` appends its markers so).
Calls may repeat; what they do must be idempotent in effect.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import random
import time
from collections import OrderedDict
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
# Published records are deleted every COMPACT_EVERY, at most COMPACT_MAX a run (a backlog
# left by an outage or older code is worked off at ~17 records/s, not at the store's full speed).
COMPACT_EVERY = timedelta(seconds=float(os.environ.get("OUTBOX_COMPACT_EVERY_SECONDS", "30")))
COMPACT_MAX = 500
# Pending records whose on_applied a sweeper remembers having called.
TOLD_MAX = 10_000
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
        on_applied: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """``on_applied(state)``: called after each write of ``state`` to the aggregate and
        before its record is published (module docstring); an exception from it fails the
        commit after the write, and the sweeper calls it again before publishing."""
        # One outbox collection per aggregate collection: the sweeper rolls records forward
        # into ``collection``, so two kinds of aggregate must never share an outbox.
        self.aggregates: Collection = db[collection]
        self.outbox: Collection = db[outbox]
        self.marks: Collection = db[f"{outbox}_marks"]
        self.done: Collection = db[f"{outbox}_done"]
        self.publisher = publisher
        self.retention = retention
        self._compacted_at = 0.0  # time.monotonic() of the last compaction run
        self._adopted = False  # what older code left unpublished has markers (``adopt``)
        self._ferretdb = is_ferretdb(db)
        self.on_applied = on_applied
        self._told: OrderedDict[str, None] = OrderedDict()  # records the sweeper told on_applied of

    def ensure_indexes(self) -> None:
        """Nothing to create: every read is by ``_id`` or of the small markers (FerretDB would
        never use a secondary index, and each would cost every write)."""

    def adopt(self, batch: int = 200, duty: float = 0.5) -> int:
        """Once per outbox, what code from before the markers left in it: a marker for each
        record it left unpublished, and the published records older than the retention deleted
        (the history it kept of every version ever written). That is one read of the whole
        outbox (on FerretDB, a decode of every record), so the sweeper runs it, not start-up, in
        batches of ``batch``, resting after each as long as the batch took divided by ``duty``
        less the batch (``duty`` 0.5: it works half the time), so the store keeps serving while a
        year of history goes. Returns how many records were adopted (given markers)."""
        adopted = self.outbox.database["outbox_adopted"]
        if adopted.find_one({"_id": self.outbox.name}) is not None:
            return 0
        found, removed = 0, 0
        cutoff = datetime.now(UTC) - self.retention
        records = self.outbox.find({}, {"published": 1, "created_at": 1}).batch_size(batch)
        started, expired = time.monotonic(), []
        for n, record in enumerate(records, 1):
            if record.get("published") is False:
                with contextlib.suppress(DuplicateKeyError):
                    self.marks.insert_one({"_id": record["_id"], "created_at": record["created_at"]})
                found += 1
            elif record.get("published") is True and aware(record["created_at"]) < cutoff:
                expired.append(record["_id"])
            elif record.get("published") is True:  # recent: compacted with the others after the retention
                with contextlib.suppress(DuplicateKeyError):
                    self.done.insert_one({"_id": record["_id"], "published_at": aware(record["created_at"])})
            if n % batch == 0:
                removed += self._delete_records(expired)
                expired = []
                worked = time.monotonic() - started
                time.sleep(worked * (1 - duty) / duty)
                started = time.monotonic()
        removed += self._delete_records(expired)
        with contextlib.suppress(DuplicateKeyError):
            adopted.insert_one({"_id": self.outbox.name, "at": datetime.now(UTC), "records": found, "removed": removed})
        return found

    def _delete_records(self, record_ids: list[str]) -> int:
        for record_id in record_ids:
            self.outbox.delete_one({"_id": record_id})
        return len(record_ids)

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
        """Write ``state`` unless a newer version is there, then tell ``on_applied``."""
        self._write(state)
        if self.on_applied is not None:
            self.on_applied(state)

    def _write(self, state: dict[str, Any]) -> None:
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
        if current is None or current["version"] >= version:
            return
        self.aggregates.replace_one({"_id": state["_id"]}, state)
        # A writer of a newer version may have replaced the document between the read and the
        # write above, and this late write then put an older version back. Every version's
        # record is in the outbox before its state is applied, so whoever writes last looks for
        # the next record after writing, and rolls forward to the newest if there is one: the
        # last write is then always the newest state (a reader may see the older one meanwhile).
        if self.outbox.find_one({"_id": f"{state['_id']}:{version + 1}"}, {"_id": 1}) is not None:
            self._roll_forward(state["_id"])

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
        self._published(record["_id"], datetime.now(UTC))
        return True

    def _published(self, record_id: str, at: datetime) -> None:
        """Move a record's marker from pending to done (done first: a crash between the two
        publishes it again, which consumers absorb; the other order could lose its compaction)."""
        with contextlib.suppress(DuplicateKeyError):
            self.done.insert_one({"_id": record_id, "published_at": at})
        self.marks.delete_one({"_id": record_id})

    def pending(self, older_than: timedelta) -> Iterator[dict[str, Any]]:
        """Unpublished records written at least ``older_than`` ago, oldest first (reads the
        pending markers, then each record by ``_id``)."""
        now = datetime.now(UTC)
        marks = []
        for mark in self.marks.find({}):
            if "published_at" in mark:  # stamped by the code before ``_done``
                self._published(mark["_id"], aware(mark["published_at"]))
            else:
                marks.append(mark)
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
        """Roll forward and publish what a crash or an outage left behind; every
        ``COMPACT_EVERY``, delete records published more than ``retention`` ago. Returns how many
        were published."""
        published = 0
        try:
            if not self._adopted:
                self.adopt()
                self._adopted = True
            for record in itertools.islice(self.pending(older_than), limit):
                self._roll_forward(record["aggregate_id"])
                self._tell(record)
                if not self._publish(record):
                    break  # the broker is away; the next sweep tries again
                published += 1
            if time.monotonic() - self._compacted_at >= COMPACT_EVERY.total_seconds():
                self.compact()
        except PyMongoError as exc:
            log.warning("outbox sweep interrupted: %s", exc)
        return published

    def _tell(self, record: dict[str, Any]) -> None:
        """``on_applied`` for a pending record, once per process (its writer may have died
        after the write and before its call); a broker outage leaves records pending for many
        sweeps, and each would otherwise call it again."""
        if self.on_applied is None or record["_id"] in self._told:
            return
        self.on_applied(record["state"])
        self._told[record["_id"]] = None
        while len(self._told) > TOLD_MAX:
            self._told.popitem(last=False)

    def compact(self, limit: int = COMPACT_MAX) -> int:
        """Delete up to ``limit`` records published more than ``retention`` ago, with their
        markers; returns how many."""
        self._compacted_at = time.monotonic()
        cutoff = datetime.now(UTC) - self.retention
        done = [m["_id"] for m in self.done.find({}) if aware(m["published_at"]) < cutoff]
        for record_id in done[:limit]:
            self.outbox.delete_one({"_id": record_id})
            self.done.delete_one({"_id": record_id})
        return min(len(done), limit)


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
