"""Dense, insert-only, per-key sequences ``<key>:<n>``, read by ``_id`` only.

FerretDB 1.24 on SQLite serves one filter from an index, ``{_id: <string>}`` (docs/store.md),
and its conditional and in-place updates are read-modify-write in its own process (its issue
#3040). So a list that grows per owner (a member's attempts, groups, blocks, notifications) is
kept as documents ``{_id: "<key>:<n>", n, ...}`` with n = 1, 2, 3, ... and nothing else:

- **Append** inserts the first free n after the head hint; a ``DuplicateKeyError`` means a racing
  writer took that n, so it takes the next. A unique ``_id`` insert is atomic on both servers, so
  concurrent appends never lose each other and the numbers stay dense (no n is ever skipped:
  each writer tries every n from a point at or below the highest one taken).
- **The head hint** ``{_id: "<key>:head", n}`` is written after the insert and may be stale
  (racing writers, a crash before it): readers read forward from it until a miss, so a stale or
  missing hint costs a few more lookups, never a wrong answer. It never runs ahead of an entry
  that exists, because it is written only after its entry.
- **Reads** go from the head down (newest first) or over a range, by ``_id``: point lookups on
  FerretDB, ``$in`` batches on MongoDB (``lookups.by_ids``). A miss going down ends the
  sequence, so a sweeper may delete a key's *oldest* entries (a prefix) but never one in the
  middle, and never the hint unless every entry of the key goes with it.

Keys may contain ``:``; ``head`` is never a number, so a hint never collides with an entry.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from . import upserts
from .lookups import by_ids, is_ferretdb

BATCH = 16  # entries asked for at once going down (one ``$in`` on MongoDB)


class Sequences:
    """Per-key sequences stored in one collection (entries and their head hints)."""

    def __init__(self, collection: Collection, cache_keys: int = 0) -> None:
        """``cache_keys``: keep what ``all`` read of that many keys (least recently used out),
        and read only what came after: for sequences whose entries are never changed or
        deleted (a cached prefix of a dense insert-only sequence stays true for ever)."""
        self.collection = collection
        self._cache: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._cache_keys = cache_keys
        # FerretDB answers ``$in`` by reading the whole collection: ask one ``_id`` at a time
        # there (lazily, so a reader that stops early reads little); MongoDB takes batches.
        self._batch = 1 if is_ferretdb(collection.database) else BATCH

    def _lookup(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        if len(ids) == 1:
            doc = self.collection.find_one({"_id": ids[0]})
            return {} if doc is None else {ids[0]: doc}
        return by_ids(self.collection, ids)

    @staticmethod
    def entry_id(key: str, n: int) -> str:
        """The ``_id`` of entry ``n`` (1-based) of ``key``."""
        return f"{key}:{n}"

    def _hint(self, key: str) -> int:
        doc = self.collection.find_one({"_id": f"{key}:head"}, {"n": 1})
        return int(doc["n"]) if doc else 0

    def hint(self, key: str) -> int:
        """The head hint of ``key`` (one find): an n whose entry existed, at or below the head
        (0 without one); a stale start for a caller that reads on from it anyway."""
        return self._hint(key)

    def head(self, key: str) -> int:
        """The highest n of ``key`` (0 when it has none): the hint, then forward until a miss."""
        n = self._hint(key)
        while True:
            ids = [self.entry_id(key, m) for m in range(n + 1, n + 1 + self._batch)]
            found = self._lookup(ids)
            for entry_id in ids:
                if entry_id not in found:
                    return n
                n += 1

    def append(self, key: str, fields: dict[str, Any]) -> int:
        """Store ``fields`` as the next entry of ``key``; returns its n (1-based).

        ``fields`` must not hold ``_id`` or ``n``. Safe under any number of concurrent
        appenders on MongoDB and FerretDB alike: each gets its own n, none is lost."""
        if "_id" in fields or "n" in fields:
            raise ValueError("fields must not hold _id or n")
        n = self._hint(key) + 1
        while True:
            try:
                self.collection.insert_one({**fields, "_id": self.entry_id(key, n), "n": n})
                break
            except DuplicateKeyError:
                # Taken by a racing writer; the hint may have moved well past it meanwhile.
                n = max(n + 1, self._hint(key) + 1)
        self._advance_hint(key, n)
        return n

    def extend(self, key: str, many: list[dict[str, Any]]) -> None:
        """Append each of ``many`` to ``key`` in order, in one bulk insert when nobody races
        (adopting existing data at start-up); racing appenders are still never lost."""
        if not many:
            return
        start = self.head(key) + 1
        docs = [{**fields, "_id": self.entry_id(key, n), "n": n} for n, fields in enumerate(many, start=start)]
        try:
            self.collection.insert_many(docs, ordered=True)
        except BulkWriteError as exc:
            # Ordered: everything before the first duplicate went in; append the rest one by one.
            for fields in many[exc.details.get("nInserted", 0) :]:
                self.append(key, fields)
            return
        self._advance_hint(key, start + len(many) - 1)

    def put(self, key: str, n: int, fields: dict[str, Any]) -> bool:
        """Insert entry ``n`` of ``key`` exactly (a one-shot claim: of racing callers exactly one
        gets True, the unique ``_id`` insert being atomic on both servers). The caller keeps the
        sequence dense: it puts ``n`` only once ``n - 1`` exists (``relation_index`` epochs)."""
        if "_id" in fields or "n" in fields:
            raise ValueError("fields must not hold _id or n")
        try:
            self.collection.insert_one({**fields, "_id": self.entry_id(key, n), "n": n})
        except DuplicateKeyError:
            return False
        self._advance_hint(key, n)
        return True

    def drop(self, key: str, through: int) -> int:
        """Delete entries 1..``through`` of ``key``, then on up until one is missing, then its
        hint; returns how many entries went. For a key nobody reads or appends to any more
        (``relation_index`` drops an epoch's markers once a newer epoch's base holds them): a
        late appender re-creating an entry afterwards is its own to delete."""
        gone = 0
        for n in range(1, through + 1):
            gone += self.collection.delete_one({"_id": self.entry_id(key, n)}).deleted_count
        n = through + 1
        while self.collection.delete_one({"_id": self.entry_id(key, n)}).deleted_count:
            gone += 1
            n += 1
        self.collection.delete_one({"_id": f"{key}:head"})
        return gone

    def drop_prefix(self, key: str, start: int, through: int) -> list[dict[str, Any]]:
        """Delete entries ``start``..``through`` of ``key``, oldest first, for a key that lives
        on (``inbox`` expiring its oldest entries; those below ``start`` went before). The head
        hint is raised to ``through`` first, so that neither a reader looking for the head nor
        an appender starts below what is gone (``head`` reads forward from the hint until a
        miss, ``append`` tries the number after it). Returns the entries that went (read before
        each is deleted); a crash half-way is finished by calling it again."""
        self._advance_hint(key, through)
        gone = []
        for n in range(max(1, start), through + 1):
            entry = self.collection.find_one({"_id": self.entry_id(key, n)})
            if entry is not None and self.collection.delete_one({"_id": entry["_id"]}).deleted_count:
                gone.append(entry)
        return gone

    def _advance_hint(self, key: str, n: int) -> None:
        # $max is not atomic on FerretDB; a lost race leaves the hint a little behind: harmless.
        # Losing the race to create the hint leaves the winner's: $max again over it.
        upserts.update(self.collection, f"{key}:head", {"$max": {"n": n}})

    def newest_first(self, key: str, top: int | None = None) -> Iterator[dict[str, Any]]:
        """The entries of ``key`` from ``top`` (default: the head) down, until a miss or n = 1.

        Lazy (one entry at a time on FerretDB, ``BATCH`` on MongoDB): a caller that stops
        early reads little."""
        n = self.head(key) if top is None else top
        while n >= 1:
            low = max(1, n - self._batch + 1)
            ids = [self.entry_id(key, m) for m in range(n, low - 1, -1)]
            found = self._lookup(ids)
            for entry_id in ids:
                entry = found.get(entry_id)
                if entry is None:
                    return  # the oldest entries were swept away
                yield entry
            n = low - 1

    def forward(self, key: str, start: int) -> list[dict[str, Any]]:
        """The entries of ``key`` from ``start`` (1-based) up, oldest first, until a miss (one
        lookup each on FerretDB, ``BATCH`` at once on MongoDB; the miss costs one more). No
        cache: for a reader that keeps its own position (``relation_index``)."""
        entries: list[dict[str, Any]] = []
        n = max(1, start)
        while True:
            ids = [self.entry_id(key, m) for m in range(n, n + self._batch)]
            found = self._lookup(ids)
            run = [found[i] for i in itertools.takewhile(found.__contains__, ids)]
            entries += run
            if len(run) < len(ids):
                return entries
            n += len(ids)

    def range(self, key: str, start: int, stop: int) -> list[dict[str, Any]]:
        """The entries of ``key`` with ``start <= n < stop`` that exist, oldest first."""
        ids = [self.entry_id(key, m) for m in range(max(1, start), stop)]
        found = by_ids(self.collection, ids)
        return [found[i] for i in ids if i in found]

    def all(self, key: str) -> list[dict[str, Any]]:
        """Every entry of ``key``, oldest first (a short per-owner list). With a cache, the
        entries read before and then forward from the next one until a miss."""
        if not self._cache_keys:
            entries = list(self.newest_first(key))
            entries.reverse()
            return entries
        entries = list(self._cache.get(key, []))
        n = len(entries)
        while True:
            ids = [self.entry_id(key, m) for m in range(n + 1, n + 1 + self._batch)]
            found = self._lookup(ids)
            entries += [found[i] for i in itertools.takewhile(found.__contains__, ids)]
            if len(entries) < n + len(ids):
                break
            n = len(entries)
        self._cache[key] = entries
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_keys:
            self._cache.popitem(last=False)
        return list(entries)
