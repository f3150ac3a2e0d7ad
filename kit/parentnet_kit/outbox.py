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
every document of a collection, so the outbox holds only the recent past: the sweeper deletes
published records older than ``retention`` (FerretDB has no TTL index), and reading the whole
outbox every sweep costs what the last ``retention`` wrote, nothing when idle. Version
collisions still hold: a writer that read version v-1 collides with the record of v, written
after its read, so younger than ``retention`` as long as no writer holds a read that long
(a change reads and inserts within one request, seconds; retries read again). Conflicts roll
forward by point lookups ``<aggregate>:<v>``, and commits write what they always wrote:
the record, the aggregate, the published flag.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
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


# How long a published record stays: longer than any writer holds a read of the aggregate.
RETENTION = timedelta(seconds=float(os.environ.get("OUTBOX_RETENTION_SECONDS", "300")))
COMPACT_MAX = 1_000  # records deleted per sweep, so a first sweep of an old big outbox is spread out


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
        self.publisher = publisher
        self.retention = retention
        self._ferretdb = is_ferretdb(db)

    def ensure_indexes(self) -> None:
        """Nothing to index on FerretDB (it would not be used; every read is by ``_id`` or of the
        whole small outbox); MongoDB gets the sweeper's index."""
        if not self._ferretdb:
            self.outbox.create_index([("published", ASCENDING), ("created_at", ASCENDING)])

    def get(self, aggregate_id: str) -> dict[str, Any] | None:
        return self.aggregates.find_one({"_id": aggregate_id})

    def commit(self, state: dict[str, Any], event: Event) -> None:
        """Store ``state`` (with ``_id`` and ``version``) and publish ``event`` at least once.

        Raises ``ConcurrencyConflict`` when this version of the aggregate exists already."""
        aggregate_id, version = state["_id"], state["version"]
        if event.aggregate_id != aggregate_id or event.version != version:
            raise ValueError("event and state disagree on aggregate or version")
        record = {
            "_id": f"{aggregate_id}:{version}",
            "aggregate_id": aggregate_id,
            "version": version,
            "state": state,
            "event": event.to_dict(),
            "published": False,
            "created_at": datetime.now(UTC),
        }
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
        self.outbox.update_one(
            {"_id": record["_id"]},
            {"$set": {"published": True, "published_at": datetime.now(UTC)}},
        )
        return True

    def _sweep_read(self) -> tuple[list[dict[str, Any]], list[str]]:
        """(unpublished records oldest first, ids of published records past ``retention``)."""
        cutoff = datetime.now(UTC) - self.retention
        if not self._ferretdb:
            pending = list(self.outbox.find({"published": False}).sort("created_at", ASCENDING))
            old = [r["_id"] for r in self.outbox.find({"published": True, "created_at": {"$lt": cutoff}}, {"_id": 1})]
            return pending, old
        # FerretDB reads the whole outbox for any filter: read it once, it holds only the recent past.
        pending, old = [], []
        for record in self.outbox.find({}):
            if not record.get("published"):
                pending.append(record)
            elif aware(record["created_at"]) < cutoff:
                old.append(record["_id"])
        pending.sort(key=lambda r: aware(r["created_at"]))
        return pending, old

    def pending(self, older_than: timedelta) -> Iterator[dict[str, Any]]:
        """Unpublished records written at least ``older_than`` ago, oldest first."""
        cutoff = datetime.now(UTC) - older_than
        return iter([r for r in self._sweep_read()[0] if aware(r["created_at"]) <= cutoff])

    def relay_pending(self, older_than: timedelta = timedelta(seconds=2), limit: int = 500) -> int:
        """Roll forward and publish what a crash or an outage left behind, and delete published
        records older than ``retention``; returns how many were published."""
        published = 0
        try:
            pending, old = self._sweep_read()
            cutoff = datetime.now(UTC) - older_than
            for record in [r for r in pending if aware(r["created_at"]) <= cutoff][:limit]:
                self._roll_forward(record["aggregate_id"])
                if not self._publish(record):
                    break  # the broker is away; the next sweep tries again
                published += 1
            for record_id in old[:COMPACT_MAX]:
                self.outbox.delete_one({"_id": record_id})
        except PyMongoError as exc:
            log.warning("outbox sweep interrupted: %s", exc)
        return published


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
