"""An owner's *current* relations (a member's blocks, their groups) in a few reads by ``_id``,
however many relations they ever had and however often each changed.

A relation is a versioned aggregate of its own (``block:<a>:<b>``, ``gm:<group>:<member>``)
whose state changes back and forth (block, unblock, block; join, leave, join). An index of
"every relation ever" read whole costs one lookup per relation ever made on every read (issue
17: 504 finds for a member with 500 blocks). Here each owner has:

- **Markers**: a dense, insert-only sequence (``parentnet_kit.sequences``), one entry naming a
  relation per *change* of it, appended **after** the change is written. Entries are taken in
  order (entry n is inserted only once n - 1 exists), so entry n exists only after every change
  whose marker is at or below n was written. One more entry is appended *before* a relation's
  first commit (as the sequences always did), so a relation is never missing from its owner's
  index whatever crashes; it costs only a re-read.
- **A snapshot** ``{_id: owner, k, relations: [state...]}`` in its own collection: the owner's
  current relations as read *after* marker k was seen, with k. So every change with a marker at
  or below k was written before the snapshot read its relation: the snapshot holds it (or a
  later state). A change after that read has a marker above k (appended after the change, and
  k existed already). A snapshot is therefore a function of what the markers up to k name and
  of reads made after k: **any snapshot ever written stays true**, as the attendance snapshots
  (``services/events/events/attendance.py``) are.
- **Reading**: the snapshot (one ``find``), then the markers after k until a miss (one ``find``
  when none came), then the relations those name by ``_id`` (one each), whose fresh states
  replace the snapshot's. Only current relations are kept (``current``): one that ends (an
  unblock, a leave) is dropped, and if it comes back its change appends a marker above k.
  Cost on FerretDB (one ``_id`` a find): 2 finds when nothing changed since the snapshot,
  2 + t + m for t markers naming m relations since; nothing grows with the relations ever made
  or the changes made before the snapshot (measured: ``kit/tests/test_relation_index.py``).
- **Writing the snapshot**: a reader that saw ``lag`` markers or more after the stored
  snapshot replaces it by what it just read, at its new k (``upserts.replace``: a plain replace
  by ``_id``, no condition, which FerretDB could not honour atomically anyway). Racing writers
  each write a true snapshot and the last one stays; an older k only costs the next reader the
  lookups of the markers after it. An owner without a snapshot (data from before it, or a new
  owner) gets one on the first read that finds markers: that one read costs its sequence and
  relations once; nothing scans a collection at start-up.
- **Crashes**: a change whose writer dies between its write and its after-marker is marked by
  the outbox sweeper (``AggregateStore(on_applied=...)``: the record is published only after
  the call, so a pending record is told to it again). Until that sweep (2 s or more), readers may
  not see that change; the writer never answered. Extra markers (a sweeper's repeat, a racing
  retry, the before-marker) only cost a re-read.
- **Read your writes**: a change's after-marker is appended before the commit returns (inside
  ``AggregateStore.commit``), so any read that starts after it, in any process, reads the
  markers up to it and the relation's state after it.

What a relation entry holds is the relation document's ``fields`` (its ``_id`` always), plus
``at``: the marker from which it was last found current, which orders the answer (the order in
which relations began, or began again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo.collection import Collection

from . import upserts
from .lookups import by_ids
from .sequences import Sequences

SNAPSHOT_LAG = 1  # markers after the stored snapshot from which a reader replaces it


class RelationIndex:
    """Per-owner current relations: markers in ``markers``, snapshots in ``snapshots``, the
    relations themselves in ``relations`` (read by ``_id``)."""

    def __init__(
        self,
        markers: Sequences,
        snapshots: Collection,
        relations: Collection,
        field: str,
        relation_id: Callable[[str, str], str],
        current: Callable[[dict[str, Any]], bool],
        fields: tuple[str, ...],
        lag: int = SNAPSHOT_LAG,
    ) -> None:
        """``field``: the marker entry's field naming the relation, ``relation_id(owner, value)``
        its relation's ``_id``; ``current(state)``: whether a relation's state counts (an active
        block); ``fields``: what the snapshot keeps of a relation document; ``lag``: markers after
        the stored snapshot from which a reader writes a new one."""
        self.markers = markers
        self.snapshots = snapshots
        self.relations = relations
        self.field = field
        self.relation_id = relation_id
        self.current = current
        self.fields = tuple(dict.fromkeys(("_id", *fields)))
        self.lag = lag

    def mark(self, owner: str, value: str) -> int:
        """Append a marker naming the relation ``relation_id(owner, value)`` to ``owner``'s
        markers; returns its n. Call it before a relation's first commit and after every write
        of it (``AggregateStore.on_applied``)."""
        return self.markers.append(owner, {self.field: value})

    def read(self, owner: str) -> list[dict[str, Any]]:
        """``owner``'s current relations, each ``{<fields>, at}``, ordered by ``at`` (the marker
        from which each was last found current). Reads: the snapshot, the markers after it
        until a miss, and each relation those name by ``_id``; writes a new snapshot when
        ``lag`` markers or more came after the stored one (or there was none)."""
        stored = self.snapshots.find_one({"_id": owner})
        k = int(stored["k"]) if stored else 0
        relations: dict[str, dict[str, Any]] = {r["_id"]: r for r in (stored or {}).get("relations", [])}
        tail = self.markers.forward(owner, k + 1)
        if not tail:
            return sorted(relations.values(), key=lambda r: r["at"])
        # Where each named relation first appears after k, in marker order.
        first: dict[str, int] = {}
        for entry in tail:
            first.setdefault(self.relation_id(owner, entry[self.field]), int(entry["n"]))
        # Read only now, after every marker up to the new k was seen (module docstring).
        states = by_ids(self.relations, list(first))
        for relation_id, n in first.items():
            state = states.get(relation_id)
            if state is None or not self.current(state):
                relations.pop(relation_id, None)
                continue
            at = relations[relation_id]["at"] if relation_id in relations else n
            relations[relation_id] = {**{f: state[f] for f in self.fields if f in state}, "at": at}
        ordered = sorted(relations.values(), key=lambda r: r["at"])
        new_k = k + len(tail)
        if stored is None or len(tail) >= self.lag:
            # Racing readers may write the same owner's snapshot at once: any of them is true.
            upserts.replace(self.snapshots, owner, {"_id": owner, "k": new_k, "relations": ordered})
        return ordered
