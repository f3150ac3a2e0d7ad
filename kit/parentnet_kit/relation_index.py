"""An owner's *current* relations (a member's blocks, their groups, a group's members) in a few
reads by ``_id``, however many relations they ever had and however often each changed, keeping
about ``rotate_at`` markers per owner however many changes were ever made.

A relation is a versioned aggregate of its own (``block:<a>:<b>``, ``gm:<group>:<member>``)
whose state changes back and forth (block, unblock, block; join, leave, join). An index of
"every relation ever" read whole costs one lookup per relation ever made on every read (issue
17: 504 finds for a member with 500 blocks). Here each owner has:

- **Epochs** 0, 1, 2, ...: a dense, insert-only sequence (``parentnet_kit.sequences``, key
  ``<owner>#epochs`` in ``snapshots``) whose entry e says "epoch e is open" (epoch 0 needs no
  entry). Entry e + 1 is put (a unique ``_id`` insert: one-shot, atomic on FerretDB) by a reader
  that found epoch e current with ``rotate_at`` markers or more (a writer whose marker is the
  2 * ``rotate_at``-th or a later multiple of it reads once, so an owner nobody reads is
  rotated too). Epoch entries are never deleted
  (one small document per ``rotate_at`` changes).
- **Markers** per epoch: a dense, insert-only sequence (key ``<owner>`` for epoch 0, the markers
  written before epochs, ``<owner>#<e>`` after), one entry naming a relation per *change* of it,
  appended **after** the change is written, in the newest epoch the writer finds, then again in
  each newer one it finds opened **after** its append (``mark``). Entries are taken in order, so
  entry n exists only after every entry below it did. One more is appended *before* a relation's
  first commit, so a relation is never missing from its owner's index whatever crashes.
- **A base** per epoch e >= 1, ``{_id: "<owner>#base:<e>", relations}``, immutable: inserted
  once (the first insert wins; a racing one gets a duplicate key and reads the winner's).
- **A snapshot** ``{_id: owner, e, k, relations}``: the owner's current relations as read after
  marker k of epoch e was seen. Replaced by any reader without condition (FerretDB could not
  honour one), so it may go back to an older (true) one: that costs reads, never a wrong answer.
- **Reading** (``read``): the snapshot (or nothing: epoch 0, k 0, plus ``seed``), then the
  markers of its epoch after k until a miss, then the relations those name by ``_id``; then
  whether epoch e + 1 is open. If not, the answer stands. If so, the newest base written is
  taken (or, when none above e is, base e + 1 is made from what was read, after catching up once
  more, and inserted) and the same is done in that epoch. Cost on FerretDB (one ``_id`` a
  find): 3 finds when nothing changed since the snapshot, 3 + t + m for t markers naming m
  relations since.
- **Sweeping**: the reader whose base e + 1 went in (the insert winner) deletes epoch e's
  markers (``Sequences.drop``) and base e. Nothing else is ever deleted, so an owner keeps the
  markers of its open epoch (``rotate_at`` and those that came while it was being closed) plus,
  while a rotation is under way, the closed one's.

Why every read is right, at any interleaving (W: a writer of a change c to relation r; R: a
reader; all steps are single reads or writes of one document by ``_id``, which both servers
apply one at a time):

1. *W's last marker is in an epoch f that was not closed when W looked after appending it.* W
   appends to epoch f, then finds "epoch f + 1 open" missing (else it appends to f + 1).
2. *Epoch f's markers are dropped only after a base f + 1 went in, hence after f + 1 was
   opened, hence after W's look (1), hence after W's marker.* Bases are inserted only by readers
   that saw f + 1 opened.
3. *The first base f + 1 ever inserted holds c (or a later state of r).* Its reader saw f + 1
   opened, then read f's markers after k until a miss (``_advance`` catches up again after
   seeing it opened). W's marker was appended before W's look (1), which came before the
   opening: it existed when the reader read, and so did every entry below it (dense), and none
   were dropped yet (2: this insert is the first). The reader read r by ``_id`` after that, so
   after c. By induction on epochs, base f + 1 also holds whatever base f held (the reader began
   from base f or a snapshot of epoch f, or from f - 1's, and so on).
4. *A base f + 1 inserted later than the first (after the first was deleted in its turn) may be
   wrong, but it exists only once base f + 2 was inserted, so once epoch f + 2 was opened.* Base
   f + 1 is deleted only by the winner of base f + 2.
5. *R's answer.* R stops in epoch e after reading e's markers (until a miss at m) and then finding
   "epoch e + 1 open" missing. So nothing of epoch e was dropped before that look (2), and the
   miss at m was the end of epoch e's markers then, not a sweep; and R's base e (if R started
   from one) was not a late one (4: that would need e + 1 opened before R's look). Every change
   c whose writer finished before R started has its last marker in an epoch f (1): if f = e, R
   read it and then r; if f < e, base f + 1 holds c (3) and base e holds what base f + 1 held (3);
   f > e is impossible (f + 1 > e would be opened before R's look). A change to r after that
   has a marker of its own which R either read (then R read r after it) or did not (then the
   change came after R's reads: R's answer holds at the time of its miss). The snapshot R started
   from is true in the same sense (it was some reader's answer, or a prefix of one).

A reader that missed a marker because it was swept therefore always finds the next epoch
opened, and moves on to its base: it never answers from a swept epoch.

- **Crashes**: a change whose writer dies between its write and its after-marker is marked by
  the outbox sweeper (``AggregateStore(on_applied=...)``: the record is published only after
  the call, so a pending record is told to it again). Until that sweep (2 s or more), readers may
  not see that change; the writer never answered. A rotating reader that dies after opening an
  epoch leaves it for the next reader to close (it finds it opened); one that dies after its base
  went in leaves the closed epoch's markers behind (deleted by nobody: a leak, not an error), as
  does a writer that dies between its late marker in a closed epoch and deleting it.
- **Races leak too**: a writer whose append races a rotation can leave its marker in the closed
  epoch (above a gap the drop stopped at, or appended after the drop, recreating the epoch's
  hint) when the base went in after the writer's last look. Never read again; measured 12 to 48
  markers and hints kept after 168 changes by 6 writers on one owner with epochs of 4
  (``kit/tests/test_relation_index.py``); without racing writers an owner keeps two epochs'.
- **Read your writes**: a change's after-marker is appended before the commit returns (inside
  ``AggregateStore.commit``), so any read that starts after it, in any process, sees it (5).

What a relation entry holds is the relation document's ``fields`` (its ``_id`` always), plus
``at``: epoch * ``EPOCH_SPAN`` + the marker from which it was last found current, which orders
the answer (the order in which relations began, or began again; seeded ones first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from . import upserts
from .lookups import by_ids
from .sequences import Sequences

SNAPSHOT_LAG = 1  # markers after the stored snapshot from which a reader replaces it
ROTATE_AT = 64  # markers in an epoch from which a reader opens the next one
EPOCH_SPAN = 2**32  # ``at`` = epoch * EPOCH_SPAN + marker n: orders relations across epochs


class RelationIndex:
    """Per-owner current relations: markers in ``markers`` (one sequence per owner and epoch),
    snapshots, epochs and epoch bases in ``snapshots``, the relations themselves in
    ``relations`` (read by ``_id``)."""

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
        rotate_at: int = ROTATE_AT,
        seed: Callable[[str], Iterable[str]] | None = None,
    ) -> None:
        """``field``: the marker entry's field naming the relation, ``relation_id(owner, value)``
        its relation's ``_id``; ``current(state)``: whether a relation's state counts (an active
        block); ``fields``: what the snapshot keeps of a relation document; ``lag``: markers after
        the stored snapshot from which a reader writes a new one; ``rotate_at``: markers in an
        epoch from which a reader opens the next (the markers kept per owner stay about that
        many); ``seed(owner)``: relation ``_id``s an owner may have from before its markers,
        read once, by the first read of an owner without a snapshot (adoption)."""
        self.markers = markers
        self.snapshots = snapshots
        self.epochs = Sequences(snapshots)
        self.relations = relations
        self.field = field
        self.relation_id = relation_id
        self.current = current
        self.fields = tuple(dict.fromkeys(("_id", *fields)))
        self.lag = lag
        self.rotate_at = rotate_at
        self.seed = seed

    # -- names -------------------------------------------------------------------------------
    @staticmethod
    def marker_key(owner: str, epoch: int) -> str:
        """The sequence key of ``owner``'s markers in ``epoch`` (epoch 0: the owner itself, the
        markers written before epochs)."""
        return owner if epoch == 0 else f"{owner}#{epoch}"

    @staticmethod
    def _epochs_key(owner: str) -> str:
        return f"{owner}#epochs"

    @staticmethod
    def base_id(owner: str, epoch: int) -> str:
        """The ``_id`` of ``owner``'s base of ``epoch`` (>= 1) in ``snapshots``."""
        return f"{owner}#base:{epoch}"

    def _opened(self, owner: str, epoch: int) -> bool:
        entry_id = self.epochs.entry_id(self._epochs_key(owner), epoch)
        return self.snapshots.find_one({"_id": entry_id}, {"_id": 1}) is not None

    # -- writing -----------------------------------------------------------------------------
    def mark(self, owner: str, value: str) -> int:
        """Append a marker naming the relation ``relation_id(owner, value)`` to ``owner``'s
        markers in the newest epoch; returns its n. Call it before a relation's first commit and
        after every write of it (``AggregateStore.on_applied``). When a newer epoch was opened
        meanwhile it marks there too (and deletes its marker in the old one once that one is
        dropped): the last marker is in an epoch found not yet closed *after* it was appended."""
        # The hint may be behind the newest epoch: the look after each append catches up.
        epoch = self.epochs.hint(self._epochs_key(owner))
        left: list[tuple[int, str, int]] = []  # (epoch, key, n): our markers in epochs closing
        while True:
            key = self.marker_key(owner, epoch)
            n = self.markers.append(key, {self.field: value})
            if not self._opened(owner, epoch + 1):
                break
            if self.snapshots.find_one({"_id": self.base_id(owner, epoch + 1)}, {"_id": 1}) is not None:
                # A late marker in an epoch already dropped: nobody reads it any more.
                self.markers.collection.delete_one({"_id": self.markers.entry_id(key, n)})
            else:
                left.append((epoch, key, n))
            epoch += 1
        for closed, old_key, old_n in left:
            # Its base may have gone in since, its drop missing our marker (appended after the
            # drop looked): look once more, so that a race leaks a marker only when the base
            # comes after this look, when the drop sees it.
            if self.snapshots.find_one({"_id": self.base_id(owner, closed + 1)}, {"_id": 1}) is not None:
                self.markers.collection.delete_one({"_id": self.markers.entry_id(old_key, old_n)})
        if n >= 2 * self.rotate_at and n % self.rotate_at == 0:
            self.read(owner)  # nobody read this owner for long: close the epoch here
        return n

    # -- reading -----------------------------------------------------------------------------
    def read(self, owner: str) -> list[dict[str, Any]]:
        """``owner``'s current relations, each ``{<fields>, at}``, ordered by ``at`` (from the
        marker from which each was last found current). Reads: the snapshot, the markers of its
        epoch after it until a miss, each relation those name by ``_id``, and whether a next
        epoch was opened (then its base and its markers, the same way). Writes a new snapshot
        when ``lag`` markers or more came after the stored one, its epoch changed, or there was
        none; opens the next epoch at ``rotate_at`` markers and, when it writes that epoch's base,
        drops the closed epoch's markers and base."""
        stored = self.snapshots.find_one({"_id": owner})
        epoch = int(stored.get("e", 0)) if stored else 0
        k = int(stored["k"]) if stored else 0
        relations: dict[str, dict[str, Any]] = {r["_id"]: r for r in (stored or {}).get("relations", [])}
        seed = list(self.seed(owner)) if stored is None and self.seed is not None else []
        write = stored is None
        while True:
            k, seen = self._catch_up(owner, epoch, k, relations, seed)
            seed = []
            write = write or seen >= self.lag
            # After the markers were read: no newer epoch means none of them was dropped.
            if not self._opened(owner, epoch + 1):
                if k < self.rotate_at:
                    break
                self.epochs.put(self._epochs_key(owner), epoch + 1, {})  # or a racing reader did
            epoch, k, relations = self._advance(owner, epoch, k, relations)
            write = True
        ordered = sorted(relations.values(), key=lambda r: r["at"])
        if write:
            # Racing readers may write the same owner's snapshot at once: any of them is true.
            upserts.replace(self.snapshots, owner, {"_id": owner, "e": epoch, "k": k, "relations": ordered})
        return ordered

    def _catch_up(
        self, owner: str, epoch: int, k: int, relations: dict[str, dict[str, Any]], seed: list[str]
    ) -> tuple[int, int]:
        """Apply the markers of ``epoch`` after ``k`` (and the ``seed`` relations) to
        ``relations`` in place; returns the new k and how many markers came."""
        tail = self.markers.forward(self.marker_key(owner, epoch), k + 1)
        if not tail and not seed:
            return k, 0
        # Where each named relation first appears after k, in marker order (seeded: before all).
        first: dict[str, int] = dict.fromkeys(seed, epoch * EPOCH_SPAN)
        for entry in tail:
            first.setdefault(self.relation_id(owner, entry[self.field]), epoch * EPOCH_SPAN + int(entry["n"]))
        # Read only now, after every marker up to the new k was seen (module docstring).
        states = by_ids(self.relations, list(first))
        for relation_id, at in first.items():
            state = states.get(relation_id)
            if state is None or not self.current(state):
                relations.pop(relation_id, None)
                continue
            at = relations[relation_id]["at"] if relation_id in relations else at
            relations[relation_id] = {**{f: state[f] for f in self.fields if f in state}, "at": at}
        return k + len(tail), len(tail)

    def _advance(
        self, owner: str, epoch: int, k: int, relations: dict[str, dict[str, Any]]
    ) -> tuple[int, int, dict[str, dict[str, Any]]]:
        """A newer epoch than ``epoch`` is open: start from the newest base written (a reader
        that fell behind skips the epochs between), or write ``epoch + 1``'s base from what we
        hold, caught up after the newer epoch was seen opened."""
        for newer in range(self.epochs.head(self._epochs_key(owner)), epoch, -1):
            base = self.snapshots.find_one({"_id": self.base_id(owner, newer)})
            if base is not None:
                return newer, 0, {r["_id"]: r for r in base["relations"]}
        k, _ = self._catch_up(owner, epoch, k, relations, [])
        ordered = sorted(relations.values(), key=lambda r: r["at"])
        try:
            self.snapshots.insert_one({"_id": self.base_id(owner, epoch + 1), "e": epoch + 1, "relations": ordered})
        except DuplicateKeyError:
            # A racing reader's base won (what we hold may come from markers already dropped).
            base = self.snapshots.find_one({"_id": self.base_id(owner, epoch + 1)})
            if base is None:  # dropped in turn since: a newer base exists; look again
                return epoch, k, relations
            return epoch + 1, 0, {r["_id"]: r for r in base["relations"]}
        # Ours is the base: the closed epoch is nobody's to read any more.
        self.markers.drop(self.marker_key(owner, epoch), k)
        if epoch >= 1:
            self.snapshots.delete_one({"_id": self.base_id(owner, epoch)})
        return epoch + 1, 0, relations
