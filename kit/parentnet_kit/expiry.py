"""What must go after a while, read only once it is due: markers in one collection per UTC day,
in a database of their own beside the owner's (``<database>_expiring``).

FerretDB 1.24 has no TTL index and evaluates every filter but ``{_id}`` after reading a whole
collection (docs/store.md), so a sweeper cannot ask "what is older than X?" of a collection that
grows. Instead, whoever writes something that will expire also writes a small marker into the
collection of the UTC day it falls due, ``<name>_<YYYYMMDD>`` (``{_id, ...what the sweeper
needs}``). A sweep lists the collection names (reads no document), takes the days that are
over, and reads those collections whole: every marker it reads is due. It hands them to the
owner's ``expire`` callback a batch at a time, deletes each handled marker by ``_id`` and drops a
day found empty on an earlier UTC date (not at once: a writer marking something already overdue,
such as an adoption on another process, may be writing into it right then).

- **Markers are hints, never the truth.** A marker may be written twice, or for something that
  went another way (a session revoked, a notification whose commit lost a race), or for
  something whose life was extended since (a session refreshed writes a marker for its new
  day): ``expire`` looks at what it finds and removes only what is really over. It may also be
  called twice with the same markers (two processes sweeping at once, or a crash between its
  work and the markers' deletion), so it must be idempotent.
- **An idle store is asked nothing.** After a sweep found no day that is over, the process
  remembers the date and asks again only once the UTC date has changed.
- **Bounded work per run**: at most ``limit`` markers; a backlog (a year's first sweep, a
  day when an announcement reached every member) is worked off over the next runs.

**Why a database of their own.** FerretDB 1.24 answers every ``find`` (and ``aggregate``) by
first listing the collections of its database (``msg_find.go``: ``ListCollections`` copies
and sorts the metadata of every collection, then looks the name up), so each read costs more
with every collection beside it. A retention of 180 days is ~180 day collections; measured on
the store, 370 of them made a point lookup in the same database cost 1.7x the CPU (0.32 ->
0.54 ms; docs/store.md "Round 6"). Kept apart, the hot reads of the owner's database do not
see them; only the sweep reads the markers' database.

Day collections written by code before that (in the owner's database) are still swept when
due, and each sweep moves up to ``MOVE`` markers of the later ones into the markers' database
(dropping each legacy collection once found empty on two UTC dates, as the markers' own days
are), so an upgraded store sheds them over a few hours without a step to run.

On MongoDB the same code runs (a TTL index would serve there; one path for both servers keeps
the tests honest about what production runs).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

BATCH = 200  # markers handed to ``expire`` at once
BULK = 1000  # markers written at once by ``mark_many``
MOVE = 2000  # legacy markers a sweep moves into the markers' database
SUFFIX = "_expiring"  # the markers' database: the owner's name and this


def markers_database(db: Database) -> Database:
    """The database holding ``db``'s day collections of markers: ``<db.name>_expiring`` on the
    same client (drop it with ``db``)."""
    return db.client[f"{db.name}{SUFFIX}"]


# How often the services sweep what is due (``RETENTION_SWEEP_SECONDS``); a sweep on a day with
# nothing due asks the store nothing, so this only bounds how fast a backlog is worked off.
SWEEP_SECONDS = float(os.environ.get("RETENTION_SWEEP_SECONDS", "60"))


class DueDays:
    """Markers of what falls due, one collection per UTC day: ``<name>_<YYYYMMDD>`` in
    ``markers_database(db)`` (``days``: another database for them, for tests)."""

    def __init__(self, db: Database, name: str, days: Database | None = None) -> None:
        if not re.fullmatch(r"[a-z_]+", name):
            raise ValueError("name: lower-case letters and underscores only")
        self.legacy = db  # where code before the markers' database wrote them
        self.db = markers_database(db) if days is None else days
        self.name = name
        self._pattern = re.compile(rf"{re.escape(name)}_(\d{{8}})")
        self._idle_on: str | None = None  # the UTC date of the last sweep that found nothing due
        self._emptied: dict[str, str] = {}  # day collection -> the UTC date a sweep found it empty
        self._adopted: set[str] = set()  # adoption steps this process knows done
        self._legacy_gone_on: str | None = None  # the UTC date a look found no legacy day collection

    def collection_for(self, due: datetime) -> str:
        """The name of the collection holding the markers due on ``due``'s UTC date."""
        return f"{self.name}_{due.astimezone(UTC):%Y%m%d}"

    def mark(self, due: datetime, marker_id: str, fields: dict[str, Any]) -> None:
        """Note that what ``marker_id`` names falls due at ``due`` (aware). Writing the same
        marker for the same day again is a no-op (the first one's ``fields`` stay)."""
        with contextlib.suppress(DuplicateKeyError):
            self.db[self.collection_for(due)].insert_one({**fields, "_id": marker_id})

    def mark_many(self, markers: Iterable[tuple[datetime, str, dict[str, Any]]]) -> int:
        """``mark`` for each ``(due, marker_id, fields)``, ``BULK`` at a time per day (marking
        what was written before the markers existed: one insert per thousand, not per item);
        those marked already are skipped. Returns how many were given."""
        pending: dict[str, list[dict[str, Any]]] = {}
        given = 0

        def flush(name: str) -> None:
            with contextlib.suppress(BulkWriteError):  # some were marked already: the rest went in
                self.db[name].insert_many(pending.pop(name), ordered=False)

        for due, marker_id, fields in markers:
            name = self.collection_for(due)
            pending.setdefault(name, []).append({**fields, "_id": marker_id})
            given += 1
            if len(pending[name]) >= BULK:
                flush(name)
        for name in list(pending):
            flush(name)
        return given

    def adopt(self, step: str, markers: Callable[[], Iterable[tuple[datetime, str, dict[str, Any]]]]) -> None:
        """Once per database, mark what was written before the markers existed: ``markers()``
        (``(due, marker_id, fields)``, typically one read of the collection) is called only if
        ``sequences_adopted`` holds no ``step`` yet, and ``step`` is recorded after. Remembered in
        the process, so later calls ask nothing. Safe twice or concurrently: a marker is written
        once."""
        if step in self._adopted:
            return
        adopted = self.legacy["sequences_adopted"]
        if adopted.find_one({"_id": step}) is None:
            self.mark_many(markers())
            with contextlib.suppress(DuplicateKeyError):
                adopted.insert_one({"_id": step, "at": datetime.now(UTC)})
        self._adopted.add(step)

    def _days(self, db: Database) -> list[str]:
        """The day collections of ``db``, oldest first (one ``listCollections``)."""
        return sorted(n for n in db.list_collection_names() if self._pattern.fullmatch(n))

    def due_days(self, now: datetime) -> list[str]:
        """The collections of the days that are over at ``now``, oldest first (one
        ``listCollections``; no document is read)."""
        today = f"{self.name}_{now.astimezone(UTC):%Y%m%d}"
        return [name for name in self._days(self.db) if name < today]

    def move_legacy(self, now: datetime, budget: int = MOVE) -> int:
        """Move up to ``budget`` markers from day collections in the owner's database (written
        by code before the markers' database, e.g. a process of the previous version during a
        rolling upgrade) into the markers' database; returns how many moved. A legacy day
        collection is dropped once found empty on two UTC dates. Asks nothing more on a UTC date
        on which a call got through them all."""
        today = f"{now.astimezone(UTC):%Y%m%d}"
        if self._legacy_gone_on == today:
            return 0
        moved = 0
        for name in self._days(self.legacy):
            source, emptied = self.legacy[name], f"legacy:{name}"
            while moved < budget:
                markers = list(source.find({}).limit(min(BULK, budget - moved)))
                if not markers:
                    # Dropped only when found empty on an earlier UTC date too: a process of the
                    # previous version (a rolling upgrade) may be writing into it right now, and a
                    # drop between that write and this read would lose its marker (review 7).
                    if self._emptied.setdefault(emptied, today) < today:
                        self.legacy.drop_collection(name)
                        del self._emptied[emptied]
                    break
                self._emptied.pop(emptied, None)
                with contextlib.suppress(BulkWriteError):  # moved already by a racing sweep: the rest went in
                    self.db[name].insert_many(markers, ordered=False)
                for marker in markers:
                    source.delete_one({"_id": marker["_id"]})
                moved += len(markers)
            if moved >= budget:
                return moved
        self._legacy_gone_on = today
        return moved

    def sweep(self, now: datetime, expire: Callable[[list[dict[str, Any]]], None], limit: int = 2000) -> int:
        """Hand the markers of the days that are over to ``expire`` (``BATCH`` at a time), delete
        them, drop the days found empty on an earlier date; returns how many markers were
        handled (≤ ``limit``, about).
        Asks the store nothing when an earlier sweep on the same UTC date found nothing due.
        ``expire`` raising stops the sweep; its markers stay for the next one."""
        today = f"{now.astimezone(UTC):%Y%m%d}"
        if self.move_legacy(now):
            self._idle_on = None  # what moved may be due
        if self._idle_on == today:
            return 0
        handled = 0
        for name in self.due_days(now):
            collection = self.db[name]
            while True:
                if handled >= limit:
                    return handled  # more next time; not idle
                # No filter and no sort: FerretDB pushes the limit down to SQLite.
                markers = list(collection.find({}).limit(min(BATCH, limit - handled)))
                if not markers:
                    if self._emptied.setdefault(name, today) < today:
                        self.db.drop_collection(name)
                        del self._emptied[name]
                    break
                self._emptied.pop(name, None)
                expire(markers)
                for marker in markers:
                    collection.delete_one({"_id": marker["_id"]})
                handled += len(markers)
        self._idle_on = today
        return handled
