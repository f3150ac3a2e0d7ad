"""Who comes to an outing: places, the waitlist and promotions, correct under concurrency on
MongoDB and on FerretDB (whose conditional updates are not atomic).

Every join takes a *ticket*: the document ``<outing>:<n>`` with the lowest free ``n`` above
the highest taken, inserted under a unique ``_id``. Racing joins can never share a number,
and a lower number can never appear after a higher one (it would have had to be free while
the higher one was chosen as "highest + 1"), so ticket order is arrival order. A member holds
at most one live ticket: a join first inserts the claim ``<outing>:<member>``.

Nothing about places is stored as a counter. The first ``capacity`` live tickets in number
order *are* the confirmed families; the rest are the waitlist in order. Leaving marks the
ticket left, and the next ticket moves up by that alone. Whoever moved up is told once: the
promotion is an insert of ``<outing>:<n>`` into ``promotions``, so two racing leavers cannot
both tell the same family.

Every read is by ``_id`` (docs/store.md: FerretDB serves nothing else without reading the
whole collection). Ticket numbers are dense (``n`` is taken only once ``n - 1`` exists), so an
outing's tickets are the point lookups ``<outing>:1``, ``<outing>:2``, ... up to the first
missing one. A leave is recorded the same way, as ``<outing>:left:<k>`` (dense, insert-only)
besides the ticket's ``left`` flag. Both are written once and never changed, so each process
keeps what it read of an outing and asks only for what came after: reading an outing's
attendance is two lookups when nothing changed, however many families came and went.

What one process read is shared with the others through the store: ``attendance_snapshots``
holds, per outing, ``{_id: <outing>, tickets: [...], leaves: k, left: [...]}``, i.e. the
tickets ``1..len(tickets)`` and which tickets the first ``k`` leave records name. A snapshot is
a function of a prefix of two insert-only sequences, so *any* snapshot ever written stays true:
a reader that does not know the outing reads the snapshot, then forward from it until a miss
(three lookups when it is current), instead of every ticket the outing ever had. It is written
(a plain replace by ``_id``, no condition: FerretDB could not honour one atomically) when the
one in the store lags what a join, leave or read just saw by ``SNAPSHOT_LAG`` records or more;
a racing writer that puts back an older one costs the next reader a few lookups, never a wrong
answer. An outing gets its snapshot the first time it is read; ``adopt_snapshots`` writes them
for every outing ahead at once (one read of every ticket: a one-off, not at start-up).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from parentnet_kit import upserts
from parentnet_kit.lookups import is_ferretdb

MAX_TICKET_ATTEMPTS = 200


@dataclass(frozen=True)
class Place:
    member_id: str
    ticket: int
    adults: int
    children: int
    status: str  # confirmed | waitlisted
    position: int  # 1-based, within its status

    def to_dict(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "ticket": self.ticket,
            "adults": self.adults,
            "children": self.children,
            "status": self.status,
            "position": self.position,
        }


class AlreadyJoined(Exception):
    pass


def ticket_id(outing_id: str, n: int) -> str:
    return f"{outing_id}:{n:08d}"


@dataclass(frozen=True)
class _Known:
    """What this process has read of one outing: tickets 1..len, and the first ``leaves`` leave
    records (which tickets they name: ``left``); ``stored``: (tickets, leaves) of the outing's
    snapshot in the store as this process last read or wrote it."""

    tickets: tuple[dict[str, Any], ...] = ()
    leaves: int = 0
    left: frozenset[int] = frozenset()
    stored: tuple[int, int] = (0, 0)

    def lag(self) -> int:
        """Records read since the stored snapshot."""
        return len(self.tickets) - self.stored[0] + self.leaves - self.stored[1]


KNOWN_OUTINGS_MAX = 2_000
SNAPSHOT_LAG = 2  # records a stored snapshot may lag before a writer replaces it
SNAPSHOT_FIELDS = ("_id", "outing_id", "n", "member_id", "adults", "children", "left", "waitlisted")
# Green locks under nameko (eventlet patches threading), shared by the process's workers.
TICKET_LOCKS = [threading.Lock() for _ in range(64)]


class Attendance:
    def __init__(self, db: Database) -> None:
        self.tickets = db["tickets"]
        self.leaves = db["attendance_leaves"]
        self.claims = db["attendance_claims"]
        self.promotions = db["promotions"]
        self.snapshots = db["attendance_snapshots"]
        self._ferretdb = is_ferretdb(db)
        self._known: OrderedDict[str, _Known] = OrderedDict()

    def ensure_indexes(self) -> None:
        """Nothing to index: tickets, leaves, claims, promotions and snapshots are read by ``_id``
        only. Not ``adopt_snapshots``: on a year of data its one read of every ticket kept the
        service from serving for minutes (the gateway's health probe then ran out of channels);
        outings get their snapshot the first time they are read instead."""

    def _from_store(self, outing_id: str) -> _Known:
        """The outing's snapshot as stored (nothing known when it has none)."""
        doc = self.snapshots.find_one({"_id": outing_id})
        if doc is None:
            return _Known()
        tickets = tuple(doc["tickets"])
        return _Known(tickets, doc["leaves"], frozenset(doc["left"]), (len(tickets), doc["leaves"]))

    def _read(self, outing_id: str) -> _Known:
        """The outing's tickets and leaves: what this process knew (else the stored snapshot),
        plus what came after."""
        known = self._known.get(outing_id) or self._from_store(outing_id)
        tickets = known.tickets + tuple(self.more_tickets(outing_id, len(known.tickets) + 1))
        leaves = []
        while (
            leave := self.leaves.find_one({"_id": f"{outing_id}:left:{known.leaves + len(leaves) + 1}"})
        ) is not None:
            leaves.append(leave)
        fresh = _Known(tickets, known.leaves + len(leaves), known.left | {leave["n"] for leave in leaves}, known.stored)
        self._keep(outing_id, fresh)
        self._store_snapshot(outing_id, fresh)
        return fresh

    def _keep(self, outing_id: str, fresh: _Known) -> None:
        # Green threads share this: keep whichever read saw more.
        current = self._known.get(outing_id, _Known())
        if (len(fresh.tickets), fresh.leaves) >= (len(current.tickets), current.leaves):
            self._known[outing_id] = fresh
            self._known.move_to_end(outing_id)
            while len(self._known) > KNOWN_OUTINGS_MAX:
                self._known.popitem(last=False)

    def _store_snapshot(self, outing_id: str, known: _Known) -> None:
        """Share ``known`` through the store when the stored snapshot lags it by ``SNAPSHOT_LAG``."""
        if known.lag() < SNAPSHOT_LAG:
            return
        # Another process (two instances in a rolling restart, or workers of two) may upsert the
        # same outing's first snapshot at the same instant: the loser writes again over it. Any
        # snapshot is true, so whichever lands last is too.
        upserts.replace(self.snapshots, outing_id, self.snapshot_of(outing_id, known.tickets, known))
        self._keep(outing_id, _Known(known.tickets, known.leaves, known.left, (len(known.tickets), known.leaves)))

    @staticmethod
    def snapshot_of(outing_id: str, tickets: Sequence[dict[str, Any]], known: _Known) -> dict[str, Any]:
        """The stored shape: ``{_id: outing, tickets: [ticket fields], leaves: k, left: [n]}``."""
        return {
            "_id": outing_id,
            "tickets": [{k: t[k] for k in SNAPSHOT_FIELDS if k in t} for t in tickets],
            "leaves": known.leaves,
            "left": sorted(known.left),
        }

    def adopt_snapshots(self) -> int:
        """Once per database: a snapshot for every outing still ahead that has tickets, from one
        read of the outings ahead, the tickets and the leave records (a store filled by code from
        before snapshots). Returns how many were written."""
        adopted = self.snapshots.database["attendance_snapshots_adopted"]
        if adopted.find_one({"_id": "v1"}) is not None:
            return 0
        now = datetime.now(UTC)
        ahead = {o["_id"] for o in self.snapshots.database["outings"].find({"ends_at": {"$gt": now}}, {"_id": 1})}
        tickets: dict[str, list[dict[str, Any]]] = {}
        for ticket in self.tickets.find({}, {"joined_at": 0}):
            if ticket.get("outing_id") in ahead:
                tickets.setdefault(ticket["outing_id"], []).append(ticket)
        leaves: dict[str, dict[int, int]] = {}
        for leave in self.leaves.find({}, {"at": 0}):
            if leave.get("outing_id") in ahead:
                k = int(leave["_id"].rsplit(":", 1)[1])
                leaves.setdefault(leave["outing_id"], {})[k] = leave["n"]
        batch, written = [], 0
        for outing_id, found in tickets.items():
            found.sort(key=lambda t: t["n"])
            dense = [t for i, t in itertools.takewhile(lambda it: it[1]["n"] == it[0], enumerate(found, start=1))]
            named = leaves.get(outing_id, {})
            k = 0
            while k + 1 in named:
                k += 1
            known = _Known(tuple(dense), k, frozenset(named[i] for i in range(1, k + 1)))
            batch.append(self.snapshot_of(outing_id, dense, known))
            if len(batch) >= 500:
                written += self._insert_snapshots(batch)
                batch = []
        written += self._insert_snapshots(batch)
        with contextlib.suppress(DuplicateKeyError):
            adopted.insert_one({"_id": "v1", "at": datetime.now(UTC)})
        return written

    def _insert_snapshots(self, batch: list[dict[str, Any]]) -> int:
        """Insert those not stored yet (one written meanwhile by a join is as true)."""
        if not batch:
            return 0
        try:
            return len(self.snapshots.insert_many(batch, ordered=False).inserted_ids)
        except BulkWriteError as exc:
            return int(exc.details.get("nInserted", 0))

    def all_tickets(self, outing_id: str) -> list[dict[str, Any]]:
        """Every ticket of the outing in number order, with ``left`` as it is now."""
        known = self._read(outing_id)
        return [t if not (t["n"] in known.left and not t["left"]) else {**t, "left": True} for t in known.tickets]

    def _live(self, outing_id: str) -> list[dict[str, Any]]:
        return [t for t in self.all_tickets(outing_id) if not t["left"]]

    @staticmethod
    def _places_of(live: list[dict[str, Any]], capacity: int | None) -> list[Place]:
        places = []
        for rank, ticket in enumerate(live):
            confirmed = capacity is None or rank < capacity
            places.append(
                Place(
                    ticket["member_id"],
                    ticket["n"],
                    ticket["adults"],
                    ticket["children"],
                    "confirmed" if confirmed else "waitlisted",
                    rank + 1 if confirmed else rank - capacity + 1,
                )
            )
        return places

    def places(self, outing_id: str, capacity: int | None) -> list[Place]:
        """Everyone coming or waiting, in order: confirmed first, then the waitlist."""
        return self._places_of(self._live(outing_id), capacity)

    def place_of(self, outing_id: str, member_id: str, capacity: int | None) -> Place | None:
        return next((p for p in self.places(outing_id, capacity) if p.member_id == member_id), None)

    @staticmethod
    def summary_of(places: list[Place], capacity: int | None) -> dict[str, Any]:
        confirmed = [p for p in places if p.status == "confirmed"]
        return {
            "families": len(confirmed),
            "adults": sum(p.adults for p in confirmed),
            "children": sum(p.children for p in confirmed),
            "waitlist": len(places) - len(confirmed),
            "places_left": None if capacity is None else max(0, capacity - len(confirmed)),
        }

    def summary(self, outing_id: str, capacity: int | None) -> dict[str, Any]:
        return self.summary_of(self.places(outing_id, capacity), capacity)

    def join(self, outing_id: str, member_id: str, adults: int, children: int, capacity: int | None) -> Place:
        claim_id = f"{outing_id}:{member_id}"
        now = datetime.now(UTC)
        try:
            self.claims.insert_one({"_id": claim_id, "outing_id": outing_id, "member_id": member_id, "at": now})
        except DuplicateKeyError:
            claim = self.claims.find_one({"_id": claim_id})
            ticket = (
                self.tickets.find_one({"_id": claim.get("ticket_id")}) if claim and claim.get("ticket_id") else None
            )
            if ticket is not None and not ticket["left"]:
                raise AlreadyJoined(claim_id) from None
            # A claim without a live ticket: a join that died half-way. Carry on with it.
        # One ticket-taker per outing at a time in this process: racing joins would otherwise all
        # try the same next number, one insert winning per round (a write each, and SQLite
        # takes one write at a time). Other processes still race, and the unique _id decides.
        with TICKET_LOCKS[zlib.crc32(outing_id.encode()) % len(TICKET_LOCKS)]:
            seen = self._take_ticket(outing_id, member_id, adults, children, capacity, claim_id, now)
        place = next(
            p for p in self._places_of([t for t in seen if not t["left"]], capacity) if p.member_id == member_id
        )
        return place

    def _take_ticket(
        self,
        outing_id: str,
        member_id: str,
        adults: int,
        children: int,
        capacity: int | None,
        claim_id: str,
        now: datetime,
    ) -> list[dict[str, Any]]:
        """Insert the next free ticket; returns the tickets up to and including it."""
        seen = self.all_tickets(outing_id)
        for _ in range(MAX_TICKET_ATTEMPTS):
            n = len(seen) + 1
            # Whether the waitlist is where this family starts: only leaves can run at the same
            # time, and they can only move it up; then it is told it got in, which is true.
            ahead = sum(1 for t in seen if not t["left"])
            ticket = {
                "_id": ticket_id(outing_id, n),
                "outing_id": outing_id,
                "n": n,
                "member_id": member_id,
                "adults": adults,
                "children": children,
                "left": False,
                "waitlisted": capacity is not None and ahead >= capacity,
                "joined_at": now,
            }
            try:
                self.tickets.insert_one(ticket)
            except DuplicateKeyError:
                # A racing join took n: read it (and whatever came after) and go on from there.
                seen += self.more_tickets(outing_id, n)
                continue
            self.claims.update_one({"_id": claim_id}, {"$set": {"ticket_id": ticket["_id"]}})
            return [*seen, ticket]
        raise RuntimeError(f"no ticket for {outing_id} after {MAX_TICKET_ATTEMPTS} attempts")

    def more_tickets(self, outing_id: str, start: int) -> list[dict[str, Any]]:
        found = []
        while (ticket := self.tickets.find_one({"_id": ticket_id(outing_id, start + len(found))})) is not None:
            found.append(ticket)
        return found

    def leave(self, outing_id: str, member_id: str) -> bool:
        """Give the place (or the waitlist spot) up; False when the member was not coming."""
        claim_id = f"{outing_id}:{member_id}"
        claim = self.claims.find_one({"_id": claim_id})
        if claim is None or not claim.get("ticket_id"):
            return False
        now = datetime.now(UTC)
        self.tickets.update_one({"_id": claim["ticket_id"]}, {"$set": {"left": True, "left_at": now}})
        self._record_leave(outing_id, int(claim["ticket_id"].rsplit(":", 1)[1]), now)
        # Only the member removes their own claim; a later join starts at the back. MongoDB
        # checks the ticket atomically; FerretDB re-checks no filter at write time, and a second
        # key would make it read every claim, so there the claim read above is the check.
        only_if = {} if self._ferretdb else {"ticket_id": claim["ticket_id"]}
        self.claims.delete_one({"_id": claim_id, **only_if})
        return True

    def _record_leave(self, outing_id: str, n: int, now: datetime) -> None:
        """Append ``<outing>:left:<k>`` naming ticket ``n`` (the lowest free ``k``)."""
        k = self._read(outing_id).leaves + 1
        for _ in range(MAX_TICKET_ATTEMPTS):
            try:
                self.leaves.insert_one({"_id": f"{outing_id}:left:{k}", "outing_id": outing_id, "n": n, "at": now})
                return
            except DuplicateKeyError:
                k += 1
        raise RuntimeError(f"no leave record for {outing_id} after {MAX_TICKET_ATTEMPTS} attempts")

    def newly_promoted(self, outing_id: str, capacity: int | None) -> list[Place]:
        """Confirmed families who joined on the waitlist and were not told yet; each is returned once."""
        live = self._live(outing_id)
        waitlisted = {t["n"] for t in live if t.get("waitlisted")}
        promoted = []
        for place in self._places_of(live, capacity):
            if place.status != "confirmed":
                break
            if place.ticket not in waitlisted:
                continue
            try:
                self.promotions.insert_one({"_id": f"{outing_id}:{place.ticket}", "at": datetime.now(UTC)})
            except DuplicateKeyError:
                continue
            promoted.append(place)
        return promoted

    def everyone(self, outing_id: str) -> list[str]:
        """Members with a live ticket, confirmed or waiting: who hears about changes."""
        return [t["member_id"] for t in self._live(outing_id)]

    def of_member(self, member_id: str, outing_ids: list[str]) -> dict[str, str]:
        """For each of ``outing_ids`` the member is in: outing id → ticket id (a claim lookup each)."""
        claims = (self.claims.find_one({"_id": f"{outing_id}:{member_id}"}) for outing_id in dict.fromkeys(outing_ids))
        return {c["outing_id"]: c["ticket_id"] for c in claims if c and c.get("ticket_id")}
