"""Where "parents near me" finds its candidates without reading every member (issue 17).

FerretDB 1.24 on SQLite serves only ``{_id: <string>}`` from an index (docs/store.md): the
old search, ``discoverable`` and ``cell.lat``/``cell.lon`` within ``cells.search_box``, read
every member for every search. Instead each member is entered, when they become discoverable
in a cell (a home set or moved, protected mode turned off), in the *tile* holding that cell: a
square of ``TILE_DEGREES`` of latitude and longitude, counted from 0°, keyed ``<row>:<column>``.
A search box (about 0.2° high for the 10 km band) touches 2 to 3 rows and, away from the poles,
3 to 5 columns of tiles.

Each tile is a dense insert-only sequence (``parentnet_kit.sequences``) in ``member_cell_ids``:
concurrent appends into one tile are never lost, entries are never changed, and a process
keeps what it read of a tile and reads only what came after (one lookup by ``_id`` per tile
when nothing did). An entry is ``{member_id, cell_id, lat, lon}``, the cell as it was entered,
so candidates outside the largest band are dropped in memory; the others are read by ``_id``
(the member's own document is the truth) and dropped unless the member is still discoverable
in that very cell. Stale entries (a member who moved away, turned protected, or whose update
never committed) are expected and harmless; a member entered twice (a retry, a redelivery, a
move back) is answered once.

Existing members are adopted once per database (``adopt``), by a timer after the service
answers, never at start-up; until the marker ``sequences_adopted/member_cells`` exists the
search scans as before. A database without members is marked at once (``adopt_if_empty``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from parentnet_kit import upserts
from parentnet_kit.clock import aware
from parentnet_kit.sequences import Sequences

TILE_DEGREES = 0.1
COLLECTION = "member_cell_ids"
MARKER = "member_cells"  # its _id in sequences_adopted
CLAIM = "member_cells:claim"  # a process adopting; another waits until it is this old:
CLAIM_EXPIRES = timedelta(minutes=15)
CACHED_TILES = 4096  # tiles a process keeps what it read of (least recently used out)


def tile_of(lat: float, lon: float) -> str:
    """The key of the tile holding the point (a cell centre) ``lat``, ``lon`` in degrees."""
    return f"{math.floor(lat / TILE_DEGREES)}:{math.floor(lon / TILE_DEGREES)}"


def tiles_of_box(box: dict[str, tuple[float, float]]) -> list[str]:
    """The keys of every tile a ``cells.search_box`` answer touches, row by row."""
    low_row, high_row = (math.floor(v / TILE_DEGREES) for v in box["lat"])
    low_col, high_col = (math.floor(v / TILE_DEGREES) for v in box["lon"])
    return [f"{row}:{col}" for row in range(low_row, high_row + 1) for col in range(low_col, high_col + 1)]


def entry_for(state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The tile key and the entry a discoverable member ``state`` is entered with."""
    cell = state["cell"]
    return tile_of(cell["lat"], cell["lon"]), {
        "member_id": state["_id"],
        "cell_id": cell["id"],
        "lat": cell["lat"],
        "lon": cell["lon"],
    }


def needs_entry(before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
    """True when ``after`` is discoverable in a cell ``before`` was not discoverable in."""
    if not after.get("discoverable"):
        return False
    return not (before and before.get("discoverable") and before["cell"]["id"] == after["cell"]["id"])


class NearbyCells:
    """The tiles of one members database, with this process's copy of what it read of them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.tiles = Sequences(db[COLLECTION], CACHED_TILES)
        self.adopted_marks = db["sequences_adopted"]
        self._adopted = False

    # -- writing -------------------------------------------------------------------------
    def enter(self, before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
        """Before committing ``after`` (a member state from ``domain.with_cell``) over ``before``
        (None for a new member): enter it in its tile when it becomes discoverable in a cell.
        Returns whether an entry was appended. Safe to repeat (a retry appends a duplicate,
        answered once); an entry whose commit then fails is stale and dropped on read."""
        if not needs_entry(before, after):
            return False
        key, entry = entry_for(after)
        self.tiles.append(key, entry)
        return True

    # -- adoption of members written before the tiles --------------------------------------
    def adopted(self) -> bool:
        """Whether every member is in the tiles (the marker; one lookup by ``_id`` until it is)."""
        if not self._adopted:
            self._adopted = self.adopted_marks.find_one({"_id": MARKER}) is not None
        return self._adopted

    def adopt_if_empty(self, members: Collection) -> bool:
        """At start-up: a database without members has nothing to adopt and is marked at once
        (one read of one document). Returns whether the database is adopted."""
        if self.adopted():
            return True
        if members.find_one({}, {"_id": 1}) is None:
            self._mark()
        return self.adopted()

    def adopt(self, members: Collection, now: datetime) -> int | None:
        """Enter every member discoverable now in its tile, once per database (one read of the
        members collection, entries in bulk per tile), then write the marker. Members changed
        meanwhile enter themselves (``enter``), so none is missed; one entered twice is answered
        once. Another process adopting (a claim younger than ``CLAIM_EXPIRES``) is left to it.
        Returns how many members were entered, or None when there was nothing to do here."""
        if self.adopted():
            return None
        if not self._claim(now):
            return None
        tiles: dict[str, list[dict[str, Any]]] = {}
        for state in members.find({"discoverable": True}, {"cell": 1, "discoverable": 1}):
            key, entry = entry_for(state)
            tiles.setdefault(key, []).append(entry)
        for key, entries in tiles.items():
            self.tiles.extend(key, entries)
        self._mark()
        return sum(len(entries) for entries in tiles.values())

    def _claim(self, now: datetime) -> bool:
        try:
            self.adopted_marks.insert_one({"_id": CLAIM, "at": now})
            return True
        except DuplicateKeyError:
            claim = self.adopted_marks.find_one({"_id": CLAIM})
            if claim is not None and now - aware(claim["at"]) < CLAIM_EXPIRES:
                return False
            # The claimant died: take over (two takers at once only adopt twice, harmlessly).
            upserts.update(self.adopted_marks, CLAIM, {"$set": {"at": now}})
            return True

    def _mark(self) -> None:
        with contextlib.suppress(DuplicateKeyError):
            self.adopted_marks.insert_one({"_id": MARKER, "at": datetime.now(UTC)})
        self._adopted = True

    # -- reading -------------------------------------------------------------------------
    def candidates(self, box: dict[str, tuple[float, float]]) -> Iterator[dict[str, Any]]:
        """Every entry, live or stale, of the tiles ``box`` touches whose cell centre lies in
        the box: ``{member_id, cell_id, lat, lon}``, a member possibly more than once."""
        (low_lat, high_lat), (low_lon, high_lon) = box["lat"], box["lon"]
        for key in tiles_of_box(box):
            for entry in self.tiles.all(key):
                if low_lat <= entry["lat"] <= high_lat and low_lon <= entry["lon"] <= high_lon:
                    yield entry
