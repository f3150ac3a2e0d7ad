"""Where matching finds its candidates without reading every active listing (issue 17).

FerretDB serves only ``{_id}`` from an index (docs/store.md): a filter on category, kind,
expiry and a lat/lon box over the active listings' markers decoded every marker for every
posting. Instead each active listing is entered, when it becomes active or its marker
changes, in *buckets* keyed by what a posting on the other side looks up:

- ``<category>:offer:<level>:<row>:<column>``: an offer, at its pickup area's tile of every
  level (``LEVELS``: tiles of 0.04°, 0.16° and 0.64°, rows of latitude and columns of
  longitude counted from 0°).
- ``<category>:wanted:<level>:<row>:<column>``: a wanted request, at every tile of one level
  that its search box (``cells.search_box`` of its area and radius) touches, the level being the
  smallest whose tile is at least the box's height, so a box touches at most 2 rows (3 for
  the largest radii).

So a wanted request reads the offer buckets of the tiles its own box touches (4 to 6 for the
usual radii, about a dozen for the largest), and an offer reads the wanted buckets of its own
tile at each level (three): an offer inside a request's box is in a tile that box touches, at
the request's level, whichever side posts last. Tiles are computed from the published area (a
cell, or a city's centre in protected mode), never from a point.

Each bucket is a dense insert-only sequence (``parentnet_kit.sequences``), so concurrent
postings into one bucket are never lost, and its entries are never changed: a process keeps
what it read and reads only what came after (one lookup by ``_id`` per bucket when nothing
did). An entry carries the listing's marker as it was entered (what matching compares: kind,
owner, area, radius, size, ages, expiry, who its owner is apart from; no text, no point), so
candidates are compared in memory; the store reads a listing only when its entry matches,
and matching re-checks the listing itself. A listing whose marker changes is entered again
with its new marker; an older entry of it is stale, never wrong, because the listing is read.

Dead entries (listings since closed, expired or moved) are bounded by period: buckets live in
one collection per ``PERIOD`` of expiry, ``listings_match_<YYYYMMDD>`` (its first day, UTC),
and an entry goes to the period of the listing's expiry. Matching reads the periods from now
to the longest lifetime ahead (two, sometimes three); the expiry sweep drops a period's
collection whole once it ended, when every listing in it has expired.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.database import Database
from pymongo.errors import BulkWriteError

from parentnet_kit import cells
from parentnet_kit.clock import aware
from parentnet_kit.lookups import by_ids, is_ferretdb
from parentnet_kit.sequences import BATCH, Sequences

from . import domain

LEVELS = (0.04, 0.16, 0.64)  # tile sizes in degrees, finest first
PERIOD = timedelta(days=32)
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
PREFIX = "listings_match_"
CACHE_BUCKETS = 4096  # buckets a process keeps what it read of (least recently used out)
NAMES_FRESH_SECONDS = 60.0
ADOPT_BATCH = 5_000

# An entry as kept in memory: (listing_id, marker). The marker is what matching compares.
Candidate = tuple[str, dict[str, Any]]


def period_of(at: datetime) -> str:
    """The name of the collection holding the buckets of listings that expire at ``at``."""
    index = (aware(at).astimezone(UTC) - EPOCH) // PERIOD
    return f"{PREFIX}{EPOCH + index * PERIOD:%Y%m%d}"


def period_end(name: str) -> datetime:
    """When the period named ``name`` (a ``period_of`` answer) ends: every listing in it has expired."""
    start = datetime.strptime(name[len(PREFIX) :], "%Y%m%d").replace(tzinfo=UTC)
    return start + PERIOD


def _tile(lat: float, lon: float, size: float) -> tuple[int, int]:
    return math.floor(lat / size), math.floor(lon / size)


def _key(category: str, side: str, level: int, row: int, column: int) -> str:
    return f"{category}:{side}:{level}:{row}:{column}"


def level_for(area: dict[str, Any], radius_km: float) -> int:
    """The level a wanted request of this area and radius is entered at: the finest whose tile
    is at least its search box's height, so the box touches at most 2 rows (the coarsest for
    the largest radii: 3 rows)."""
    box = cells.search_box(area, radius_km)
    height = box["lat"][1] - box["lat"][0]
    return next((k for k, size in enumerate(LEVELS) if size >= height), len(LEVELS) - 1)


def _box_keys(category: str, side: str, area: dict[str, Any], radius_km: float) -> list[str]:
    level = level_for(area, radius_km)
    size = LEVELS[level]
    box = cells.search_box(area, radius_km)
    low_row, low_col = _tile(box["lat"][0], box["lon"][0], size)
    high_row, high_col = _tile(box["lat"][1], box["lon"][1], size)
    return [
        _key(category, side, level, row, column)
        for row in range(low_row, high_row + 1)
        for column in range(low_col, high_col + 1)
    ]


def _tile_keys(category: str, side: str, area: dict[str, Any]) -> list[str]:
    return [_key(category, side, k, *_tile(area["lat"], area["lon"], size)) for k, size in enumerate(LEVELS)]


def entered_at(marker: dict[str, Any]) -> list[str]:
    """The buckets a listing with this marker is entered in (see the module's docstring)."""
    if marker["kind"] == "wanted":
        return _box_keys(marker["category"], "wanted", marker["pickup_area"], marker["match_radius_km"])
    return _tile_keys(marker["category"], "offer", marker["pickup_area"])


def looked_up(state: dict[str, Any]) -> list[str]:
    """The buckets matching a posting reads: the other side's, where its matches are entered."""
    if state["kind"] == "wanted":
        return _box_keys(state["category"], "offer", state["pickup_area"], state["match_radius_km"])
    return _tile_keys(state["category"], "wanted", state["pickup_area"])


class MatchIndex:
    """The buckets of one listings database, with this process's copy of what it read of them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: OrderedDict[tuple[str, str], list[Candidate]] = OrderedDict()
        self._names: tuple[float, list[str]] = (-math.inf, [])
        self._batch = 1 if is_ferretdb(db) else BATCH

    def _sequences(self, name: str) -> Sequences:
        return Sequences(self.db[name])

    # -- writing -------------------------------------------------------------------------
    def enter(self, listing_id: str, marker: dict[str, Any]) -> None:
        """Enter an active listing with its marker (``_open_marker``: no ``_id``) in its buckets
        of the period of its expiry. Safe to repeat: a listing entered twice is read twice and
        matched once."""
        sequences = self._sequences(period_of(marker["expires_at"]))
        for key in entered_at(marker):
            sequences.append(key, {"listing_id": listing_id, "marker": marker})

    def enter_many(self, markers: Iterable[dict[str, Any]]) -> int:
        """Enter many listings' markers (each with its ``_id``): adopting existing data at
        start-up, when the buckets are normally empty. Each period's entries, numbered from 1
        per bucket, and their head hints go in unordered bulk inserts of ``ADOPT_BATCH``; an
        entry whose number a racing posting took is appended after (kept dense, as
        ``Sequences.append`` does), a hint that exists is moved forward. Returns how many
        entries were written."""
        periods: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for doc in markers:
            marker = {k: v for k, v in doc.items() if k != "_id"}
            buckets = periods.setdefault(period_of(marker["expires_at"]), {})
            for key in entered_at(marker):
                buckets.setdefault(key, []).append({"listing_id": doc["_id"], "marker": marker})
        written = 0
        for name, buckets in periods.items():
            docs: list[dict[str, Any]] = []
            for key, entries in buckets.items():
                docs += [{**e, "_id": Sequences.entry_id(key, n), "n": n} for n, e in enumerate(entries, start=1)]
                docs.append({"_id": f"{key}:head", "n": len(entries)})
            taken: list[dict[str, Any]] = []
            for start in range(0, len(docs), ADOPT_BATCH):
                batch = docs[start : start + ADOPT_BATCH]
                try:
                    self.db[name].insert_many(batch, ordered=False)
                except BulkWriteError as exc:
                    taken += [batch[e["index"]] for e in exc.details["writeErrors"] if e.get("code") == 11000]
                    if any(e.get("code") != 11000 for e in exc.details["writeErrors"]):
                        raise
            sequences = self._sequences(name)
            for doc in (d for d in taken if "listing_id" not in d):  # hints first: appends start past them
                self.db[name].update_one({"_id": doc["_id"]}, {"$max": {"n": doc["n"]}})
            for doc in (d for d in taken if "listing_id" in d):
                sequences.append(
                    doc["_id"].rsplit(":", 1)[0], {"listing_id": doc["listing_id"], "marker": doc["marker"]}
                )
            written += sum(len(entries) for entries in buckets.values())
        return written

    # -- reading -------------------------------------------------------------------------
    def _periods(self, now: datetime) -> list[str]:
        """The periods that may hold an active listing: from now's to the longest lifetime
        ahead, and any later one that exists (listed at most once a minute)."""
        first = period_of(now)
        names = {first, period_of(now + domain.DEFAULT_LIFETIME)}
        listed_at, listed = self._names
        if time.monotonic() - listed_at > NAMES_FRESH_SECONDS:
            listed = [n for n in self.db.list_collection_names() if n.startswith(PREFIX)]
            self._names = (time.monotonic(), listed)
        names.update(n for n in listed if n >= first)
        start = datetime.strptime(first[len(PREFIX) :], "%Y%m%d").replace(tzinfo=UTC)
        while (start := start + PERIOD) < now + domain.DEFAULT_LIFETIME:
            names.add(period_of(start))
        return sorted(names)

    def _bucket(self, name: str, key: str) -> list[Candidate]:
        """Every entry of one bucket, oldest first: what this process read before, then forward
        by ``_id`` until a miss (entries are dense from 1 and never changed)."""
        cached = self._cache.setdefault((name, key), [])  # appended to, never changed
        collection = self.db[name]
        while True:
            n = len(cached)
            ids = [Sequences.entry_id(key, m) for m in range(n + 1, n + 1 + self._batch)]
            if len(ids) == 1:
                doc = collection.find_one({"_id": ids[0]}, {"listing_id": 1, "marker": 1})
                found = {} if doc is None else {ids[0]: doc}
            else:
                found = by_ids(collection, ids)
            for entry_id in ids:
                if entry_id not in found:
                    break
                cached.append((found[entry_id]["listing_id"], found[entry_id]["marker"]))
            if len(cached) < n + len(ids):
                break
        self._cache.move_to_end((name, key))
        while len(self._cache) > CACHE_BUCKETS:
            self._cache.popitem(last=False)
        return cached

    def candidates(self, state: dict[str, Any], now: datetime) -> Iterator[Candidate]:
        """Every entry, live or dead, of the buckets a posting of ``state`` looks up in the
        periods that may hold an active listing: ``(listing_id, marker as entered)``, a listing
        possibly more than once."""
        keys = looked_up(state)
        for name in self._periods(now):
            for key in keys:
                yield from self._bucket(name, key)

    # -- sweeping ------------------------------------------------------------------------
    def drop_ended(self, now: datetime) -> int:
        """Drop the periods that ended (every listing in them expired); returns how many."""
        ended = [n for n in self.db.list_collection_names() if n.startswith(PREFIX) and period_end(n) <= now]
        for name in ended:
            self.db.drop_collection(name)
        for cached in [c for c in self._cache if c[0] in ended]:
            del self._cache[cached]
        return len(ended)
