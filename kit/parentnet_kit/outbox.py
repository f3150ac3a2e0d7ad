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

from .envelope import Event
from .publisher import EventPublisher, PublishFailed

log = logging.getLogger(__name__)

# Fault injection for the reliability suite: when this variable names an event type, the
# process exits right after the outbox insert and before the aggregate write and publish.
CRASH_AFTER_OUTBOX_ENV = "PARENTNET_FAULT_CRASH_AFTER_OUTBOX"


class ConcurrencyConflict(RuntimeError):
    """Somebody else committed this version of the aggregate first; reload and retry."""


class AggregateStore:
    """Versioned aggregates in ``collection`` with their events in the ``outbox`` collection."""

    def __init__(self, db: Database, collection: str, publisher: EventPublisher | None, outbox: str = "outbox") -> None:
        # One outbox collection per aggregate collection: the sweeper rolls records forward
        # into ``collection``, so two kinds of aggregate must never share an outbox.
        self.aggregates: Collection = db[collection]
        self.outbox: Collection = db[outbox]
        self.publisher = publisher

    def ensure_indexes(self) -> None:
        self.outbox.create_index([("published", ASCENDING), ("created_at", ASCENDING)])

    def get(self, aggregate_id: str) -> dict[str, Any] | None:
        return self.aggregates.find_one({"_id": aggregate_id})

    def commit(self, state: dict[str, Any], event: Event) -> None:
        """Store ``state`` (with ``_id`` and ``version``) and publish ``event`` at least once."""
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
        # Only move forward: a late roll-forward must never overwrite a newer version.
        self.aggregates.replace_one({"_id": state["_id"], "version": {"$lt": version}}, state)

    def _roll_forward(self, aggregate_id: str) -> None:
        for record in self.outbox.find({"aggregate_id": aggregate_id}).sort("version", ASCENDING):
            current = self.get(aggregate_id)
            if current is None or current["version"] < record["version"]:
                self._apply(record["state"])

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

    def pending(self, older_than: timedelta) -> Iterator[dict[str, Any]]:
        cutoff = datetime.now(UTC) - older_than
        return self.outbox.find({"published": False, "created_at": {"$lte": cutoff}}).sort("created_at", ASCENDING)

    def relay_pending(self, older_than: timedelta = timedelta(seconds=2), limit: int = 500) -> int:
        """Roll forward and publish what a crash or an outage left behind; returns how many."""
        published = 0
        try:
            for record in self.pending(older_than).limit(limit):
                self._roll_forward(record["aggregate_id"])
                if not self._publish(record):
                    break  # the broker is away; the next sweep tries again
                published += 1
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
