"""Co-op childcare: within a group, a member offers a shift; others book places for their
children; hosting earns credits per child-hour and booking spends them.

Correct under concurrency on FerretDB and MongoDB, by inserts with unique keys only:
- places: a booking takes seat documents ``<shift>:<k>`` for k ≤ places; so no shift ever
  holds more children than its places;
- the ledger: every entry moves an amount from one account to another in ONE document, so
  every group's ledger sums to zero by construction. A booking moves the cost from the booker
  to the group's escrow; when the shift is over the escrow pays the host; a cancellation pays
  the booker back. Escrow settlements are keyed by booking, so each happens once;
- the floor: a member's debits are numbered ``<group>:<member>:<n>``; two racing bookings by
  one member cannot both take number n, and the loser checks the floor again on fresh data.
  Only bookings debit a member, so nobody is pushed below the floor by anyone else.
Amounts are child-minutes (integers); the API shows them as child-hours.

What the five-second settle timer reads stays small however many shifts were ever offered
(docs/store.md): ``coop_due`` holds a marker per open shift (due at its end) and per pending
booking (due ``PENDING_TIMEOUT`` after it started), written *before* the shift or booking and
deleted once settled, so the timer reads only what is open and looks the rest up by ``_id``.
A shift's seats are ``<shift>:<k>`` for k ≤ its places: a shift's bookings are read from them.

A member's balance, read on every booking, never reads the whole ledger (which only grows): their
debits are the dense ``<group>:<member>:1..n`` (by ``_id`` until a miss, kept per process: the
ledger is insert-only), and the entries crediting them are listed in ``coop_credit_ids``, a
per-(group, member) sequence appended *before* each credit is written; an entry listed but never
written (a crash, or a refund that lost to a payout) credits nobody and is skipped on read.

A group's shifts and its balances are read by ``_id`` too (FerretDB answers a filter on
``group_id`` by reading every shift or ledger entry ever written):
- ``coop_group_shifts``: a per-group sequence of ``{shift, starts_at}``, appended *before* the
  shift is committed (a listed shift that was never written is skipped; a redelivered offer
  lists it again, and the reader keeps one). A group's upcoming shifts are those entries with
  ``starts_at`` ahead, then the shifts by ``_id``; each process keeps what it read of a group
  (the sequence is insert-only) and reads only what came after.
- ``coop_group_entries``: a per-group sequence of ledger entry ids, appended *before* each
  entry is inserted, and ``coop_group_balances``: per group, ``{_id: group, upto: k, accounts: [...],
  minutes: [...], seen: [ids], unseen: [ids]}``, the sum of the entries the first ``k`` listings name
  (each counted once: a debit that lost its number and a refund that lost to a payout list an
  id another writer wrote), ``unseen`` those not written when it was summed. The ledger is
  insert-only, so a summary ever written stays true: a reader reads it, then the listings after
  ``k`` and the ``unseen`` ids again, and writes it back (a replace by ``_id``) when it moved.
  A racing writer putting back an older one costs the next reader a few lookups, never a wrong
  sum; an entry redelivered is the same ``_id``, so it is never counted twice.
A store from before these sequences is adopted once at start-up (``_adopt_groups``).
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from parentnet_kit import cells, upserts
from parentnet_kit.clock import aware as _aware
from parentnet_kit.envelope import Event
from parentnet_kit.fields import field_error as error
from parentnet_kit.i18n import t
from parentnet_kit.lookups import by_ids
from parentnet_kit.outbox import AggregateStore, ConcurrencyConflict
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.sequences import Sequences

from . import domain

ESCROW = "escrow"
DEFAULT_FLOOR_MINUTES = -600  # ten child-hours in debt, then host before booking again
PENDING_TIMEOUT = timedelta(seconds=30)
MAX_ATTEMPTS = 200


class Coop:
    def __init__(self, db: Database, publisher: EventPublisher | None = None) -> None:
        # Shifts are published (coop_shift_offered) so search can show them to the group.
        self.shift_store = AggregateStore(db, "coop_shifts", publisher, outbox="coop_shifts_outbox")
        self.shifts = self.shift_store.aggregates
        self.bookings = db["coop_bookings"]
        self.seats = db["coop_seats"]
        self.ledger = db["coop_ledger"]
        self.settings = db["coop_settings"]
        self.due = db["coop_due"]
        self.credits = Sequences(db["coop_credit_ids"], cache_keys=10_000)
        # A member's debits are numbered <group>:<member>:<n> in the ledger: read as a sequence.
        self.debits = Sequences(self.ledger, cache_keys=10_000)
        self.group_shift_ids = Sequences(db["coop_group_shifts"], cache_keys=10_000)
        self.group_entries = Sequences(db["coop_group_entries"])
        self.group_balances = db["coop_group_balances"]

    def ensure_indexes(self) -> None:
        self.shift_store.ensure_indexes()
        self.seats.create_index([("booking_id", ASCENDING)])
        self.seats.create_index([("shift_id", ASCENDING)])
        self.ledger.create_index([("group_id", ASCENDING), ("debtor", ASCENDING)])
        self.ledger.create_index([("group_id", ASCENDING), ("creditor", ASCENDING)])
        self.bookings.create_index([("status", ASCENDING), ("at", ASCENDING)])
        self.shifts.create_index([("group_id", ASCENDING), ("starts_at", ASCENDING)])
        self.shifts.create_index([("host_id", ASCENDING), ("status", ASCENDING)])
        self._adopt_due()
        self._adopt_groups()

    def _adopt_groups(self) -> None:
        """Once per database: the group sequences (shifts, ledger entries) for what code from
        before them wrote (one read of shifts and of the ledger)."""
        adopted = self.due.database["coop_groups_adopted"]
        if adopted.find_one({"_id": "v1"}) is not None:
            return
        shifts: dict[str, list[dict[str, Any]]] = {}
        for shift in self.shifts.find({}, {"group_id": 1, "starts_at": 1, "created_at": 1}):
            shifts.setdefault(shift["group_id"], []).append(shift)
        for group_id, found in shifts.items():
            found.sort(key=lambda d: (_aware(d.get("created_at") or d["starts_at"]), d["_id"]))
            self.group_shift_ids.extend(group_id, [{"shift": d["_id"], "starts_at": d["starts_at"]} for d in found])
        entries: dict[str, list[dict[str, Any]]] = {}
        for entry in self.ledger.find({}, {"group_id": 1, "at": 1}):
            entries.setdefault(entry["group_id"], []).append(entry)
        for group_id, found in entries.items():
            found.sort(key=lambda d: (_aware(d["at"]), d["_id"]))
            self.group_entries.extend(group_id, [{"entry": d["_id"]} for d in found])
        with contextlib.suppress(DuplicateKeyError):
            adopted.insert_one({"_id": "v1", "at": datetime.now(UTC)})

    def _adopt_due(self) -> None:
        """Once per database: markers for what code from before ``coop_due`` left open or pending
        (one read of shifts and bookings)."""
        adopted = self.due.database["coop_due_adopted"]
        if adopted.find_one({"_id": "v1"}) is not None:
            return
        for shift in self.shifts.find({"status": "open"}, {"ends_at": 1}):
            with contextlib.suppress(DuplicateKeyError):
                self.due.insert_one({"_id": f"shift:{shift['_id']}", "at": shift["ends_at"]})
        for booking in self.bookings.find({"status": "pending"}, {"at": 1}):
            with contextlib.suppress(DuplicateKeyError):
                self.due.insert_one({"_id": f"booking:{booking['_id']}", "at": booking["at"] + PENDING_TIMEOUT})
        for entry in self.ledger.find({"debtor": ESCROW}, {"group_id": 1, "creditor": 1}):  # credits so far
            self.credits.append(f"{entry['group_id']}:{entry['creditor']}", {"entry": entry["_id"]})
        with contextlib.suppress(DuplicateKeyError):
            adopted.insert_one({"_id": "v1", "at": datetime.now(UTC)})

    # -- shifts --------------------------------------------------------------------------
    def offer(
        self, host_id: str, group_id: str, raw: dict[str, Any], shift_id: str | None = None, protected: bool = False
    ) -> dict[str, Any]:
        """Offer a shift; ``shift_id`` (``once_id``): a request delivered twice returns the shift it offered.
        ``protected``: the host is in protected mode, so the shift's area is the whole city."""
        now = datetime.now(UTC)
        errors: list[dict[str, Any]] = []
        city = domain.cities.get(raw.get("city") or "")
        if city is None:
            errors.append(error(("city",), t("city is not one of the network's cities"), "UNKNOWN_CITY"))
        zone = domain.ZoneInfo(city.time_zone) if city else UTC
        starts = domain.parse_local_time(raw.get("starts_at"), zone)
        ends = domain.parse_local_time(raw.get("ends_at"), zone)
        if starts is None:
            errors.append(error(("starts_at",), t("startsAt must be a date and time"), "INVALID"))
        elif starts < now:
            errors.append(error(("starts_at",), t("startsAt must not be in the past"), "IN_THE_PAST"))
        if ends is None or (starts and ends and not timedelta(minutes=15) <= ends - starts <= timedelta(hours=12)):
            errors.append(error(("ends_at",), t("a shift lasts 15 minutes to 12 hours"), "OUT_OF_RANGE"))
        places = raw.get("places")
        if isinstance(places, bool) or not isinstance(places, int) or not 1 <= places <= 12:
            errors.append(error(("places",), t("places must be 1 to 12 children"), "OUT_OF_RANGE"))
        age_min, age_max = raw.get("age_min"), raw.get("age_max")
        for name, value in (("age_min", age_min), ("age_max", age_max)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 12):
                errors.append(error((name,), t("{name} must be 0 to 12 years", name=name), "OUT_OF_RANGE"))
        location = raw.get("location")
        area = None
        if location is not None:
            point = domain._coordinate(location, [])
            if point is None:
                errors.append(error(("location",), t("location must have lat and lon"), "INVALID"))
            else:
                # Only a fixed ~1 km area of where the host lives (their city in protected
                # mode) is ever kept, shown or indexed: the point itself is not stored.
                area = cells.placement(point, city.slug, protected).to_dict() if city else None
        note = raw.get("place_note") or ""
        if not isinstance(note, str) or len(note) > 300:
            errors.append(error(("place_note",), t("placeNote is at most 300 characters"), "TOO_LONG"))
        if errors:
            return {"shift": None, "errors": errors}
        assert starts is not None and ends is not None and city is not None
        shift = {
            "_id": shift_id or uuid.uuid4().hex,
            "group_id": group_id,
            "host_id": host_id,
            "city": city.slug,
            "time_zone": city.time_zone,
            "starts_at": starts,
            "ends_at": ends,
            "places": places,
            "age_min": age_min,
            "age_max": age_max,
            "place_note": note.strip(),
            "area": area,
            "status": "open",
            "created_at": now,
            "version": 1,
        }
        data = {**self.view(shift), "area": area}
        # Before the shift: a crash between leaves a marker the timer drops (no open shift).
        with contextlib.suppress(DuplicateKeyError):
            self.due.insert_one({"_id": f"shift:{shift['_id']}", "at": ends})
        # Listed before it is written: a listed shift that never was is skipped on read.
        self.group_shift_ids.append(group_id, {"shift": shift["_id"], "starts_at": starts})
        try:
            self.shift_store.commit(shift, Event("coop_shift_offered", "events", shift["_id"], 1, city.slug, data))
        except ConcurrencyConflict:
            shift = self.shifts.find_one({"_id": shift["_id"]}) or shift  # offered by this request's first delivery
        return {"shift": self.view(shift), "errors": []}

    def export_page(self, after: str | None, size: int) -> list[dict[str, Any]]:
        """Up to ``size`` shifts after id ``after``, in id order, for the search backfill: what
        their last event (``coop_shift_offered``/``_moved``) told search, ``{id, version,
        group_id, host_id, city, starts_at, ends_at (ISO 8601), area ({lat, lon, ...} or None)}``
        (no seat counts: search keeps none)."""
        query = {"_id": {"$gt": after}} if after else {}
        return [
            {
                "id": shift["_id"],
                "version": shift.get("version", 1),
                "group_id": shift["group_id"],
                "host_id": shift["host_id"],
                "city": shift["city"],
                "starts_at": domain._iso(shift["starts_at"]),
                "ends_at": domain._iso(shift["ends_at"]),
                "area": shift.get("area"),
            }
            for shift in self.shifts.find(query).sort("_id", 1).limit(size)
        ]

    def place_host(self, host_id: str) -> int:
        """Move a host's open shifts to city level after they turned protected mode on (the exact
        point was never kept, so turning it off leaves them there). Idempotent; returns how many moved."""
        moved = 0
        for shift in self.shifts.find({"host_id": host_id, "status": "open"}):
            if not shift.get("area") or shift["area"]["id"].startswith("city:"):
                continue
            area = cells.city_cell(shift["city"]).to_dict()
            state = {**shift, "area": area, "version": shift.get("version", 1) + 1}
            data = {**self.view(state), "area": area}
            event = Event("coop_shift_moved", "events", shift["_id"], state["version"], shift["city"], data)
            with contextlib.suppress(ConcurrencyConflict):  # moved by a racing call already
                self.shift_store.commit(state, event)
                moved += 1
        return moved

    def _seats(self, shift: dict[str, Any]) -> list[dict[str, Any]]:
        """The seats taken in ``shift`` (``<shift>:<k>``, k ≤ places), by ``_id``."""
        return list(by_ids(self.seats, (f"{shift['_id']}:{k}" for k in range(1, shift["places"] + 1))).values())

    def _free_seats(self, booking: dict[str, Any], shift: dict[str, Any] | None) -> None:
        if shift is None:
            self.seats.delete_many({"booking_id": booking["_id"]})  # only for a shift that vanished
            return
        for seat in self._seats(shift):
            if seat["booking_id"] == booking["_id"]:
                self.seats.delete_one({"_id": seat["_id"]})

    def view(self, shift: dict[str, Any]) -> dict[str, Any]:
        taken = len(self._seats(shift))
        minutes = int((_aware(shift["ends_at"]) - _aware(shift["starts_at"])).total_seconds() // 60)
        return {
            "id": shift["_id"],
            "group_id": shift["group_id"],
            "host_id": shift["host_id"],
            "city": shift["city"],
            "time_zone": shift["time_zone"],
            "starts_at": domain._iso(shift["starts_at"]),
            "ends_at": domain._iso(shift["ends_at"]),
            "places": shift["places"],
            "places_left": max(0, shift["places"] - taken),
            "age_min": shift.get("age_min"),
            "age_max": shift.get("age_max"),
            "place_note": shift["place_note"],
            "status": shift["status"],
            "child_minutes": minutes,
        }

    def group_shifts(self, group_id: str, first: int) -> list[dict[str, Any]]:
        """The group's shifts starting at most 12 hours ago or later, earliest first, at most
        ``first``: the group's sequence of shifts, then those shifts by ``_id``."""
        since = datetime.now(UTC) - timedelta(hours=12)
        listed = {e["shift"]: _aware(e["starts_at"]) for e in self.group_shift_ids.all(group_id)}
        wanted = sorted((at, shift_id) for shift_id, at in listed.items() if at >= since)
        views: list[dict[str, Any]] = []
        for start in range(0, len(wanted), first):
            ids = [shift_id for _, shift_id in wanted[start : start + first]]
            found = by_ids(self.shifts, ids)
            views += [self.view(found[i]) for i in ids if i in found]  # a listed shift never written: skipped
            if len(views) >= first:
                break
        return views[:first]

    # -- balances ------------------------------------------------------------------------
    def floor(self, group_id: str) -> int:
        doc = self.settings.find_one({"_id": group_id})
        return int(doc["floor_minutes"]) if doc else DEFAULT_FLOOR_MINUTES

    def set_floor(self, group_id: str, floor_minutes: int) -> None:
        try:
            self.settings.insert_one({"_id": group_id, "floor_minutes": floor_minutes})
        except DuplicateKeyError:
            self.settings.update_one({"_id": group_id}, {"$set": {"floor_minutes": floor_minutes}})

    def balance(self, group_id: str, member_id: str) -> int:
        """Child-minutes credited to the member in the group less those debited (by ``_id`` only)."""
        key = f"{group_id}:{member_id}"
        listed = sorted({e["entry"] for e in self.credits.all(key)})
        credit = sum(e["amount"] for e in by_ids(self.ledger, listed).values() if e["creditor"] == member_id)
        return credit - sum(e["amount"] for e in self._debits(group_id, member_id))

    def _debits(self, group_id: str, member_id: str) -> list[dict[str, Any]]:
        """The member's debits in the group, ``<group>:<member>:1..n``: a dense, insert-only
        sequence in the ledger itself, read as one (what this process read before, then forward)."""
        return self.debits.all(f"{group_id}:{member_id}")

    def balances(self, group_id: str) -> dict[str, int]:
        """Every account's child-minutes in the group (``{account: minutes}``, the escrow's
        included; they sum to zero): the stored summary, plus the entries listed after it and
        those it had not seen written, by ``_id``; the summary is written back when it moved."""
        stored = self.group_balances.find_one({"_id": group_id}) or {}
        upto = int(stored.get("upto", 0))
        totals: dict[str, int] = dict(zip(stored.get("accounts", []), stored.get("minutes", []), strict=True))
        seen: set[str] = set(stored.get("seen", []))
        unseen: list[str] = list(stored.get("unseen", []))
        listed = self._listed_after(group_id, upto)
        candidates = [i for i in dict.fromkeys([*unseen, *listed]) if i not in seen]
        found = by_ids(self.ledger, candidates)
        for entry_id in candidates:
            entry = found.get(entry_id)
            if entry is None:
                continue
            totals[entry["creditor"]] = totals.get(entry["creditor"], 0) + entry["amount"]
            totals[entry["debtor"]] = totals.get(entry["debtor"], 0) - entry["amount"]
            seen.add(entry_id)
        still_unseen = [i for i in candidates if i not in found]
        if listed or still_unseen != unseen:
            summary = {
                "_id": group_id,
                "upto": upto + len(listed),
                "accounts": list(totals),  # FerretDB stores no nested arrays: two lists, same order
                "minutes": list(totals.values()),
                "seen": sorted(seen),
                "unseen": still_unseen,
            }
            # Two readers may upsert a group's first summary at once (the loser writes again over
            # it). Any summary is a true prefix, so whichever stays only costs a later reader reads.
            upserts.replace(self.group_balances, group_id, summary)
        return totals

    def _listed_after(self, group_id: str, upto: int) -> list[str]:
        """The entry ids the group's listings ``upto + 1, upto + 2, ...`` name, until a miss."""
        listed: list[str] = []
        while True:
            entry_id = Sequences.entry_id(group_id, upto + len(listed) + 1)
            listing = self.group_entries.collection.find_one({"_id": entry_id})
            if listing is None:
                return listed
            listed.append(listing["entry"])

    def _list_entry(self, group_id: str, entry_id: str) -> None:
        """List a ledger entry in its group's sequence, before it is inserted."""
        self.group_entries.append(group_id, {"entry": entry_id})

    # -- booking -------------------------------------------------------------------------
    def book(self, shift_id: str, member_id: str, children: Any, booking_id: str | None = None) -> dict[str, Any]:
        """Book places, paying in child-minutes. ``booking_id`` (``once_id``): a request delivered
        twice answers with the first delivery's booking and is never debited twice."""
        if booking_id:
            known = self.bookings.find_one({"_id": booking_id})
            if known is not None:
                return self._outcome(known)
        shift = self.shifts.find_one({"_id": shift_id})
        if shift is None:
            return {"booking": None, "errors": [error(("shift_id",), t("No such shift."), "NOT_FOUND")]}
        if shift["host_id"] == member_id:
            return {"booking": None, "errors": [error(("shift_id",), t("You host this shift."), "OWN_SHIFT")]}
        if shift["status"] != "open" or _aware(shift["starts_at"]) <= datetime.now(UTC):
            return {"booking": None, "errors": [error(("shift_id",), t("This shift is closed."), "CLOSED")]}
        if isinstance(children, bool) or not isinstance(children, int) or not 1 <= children <= shift["places"]:
            message = t("children must be 1 to {places}", places=shift["places"])
            return {"booking": None, "errors": [error(("children",), message, "OUT_OF_RANGE")]}
        minutes = int((_aware(shift["ends_at"]) - _aware(shift["starts_at"])).total_seconds() // 60)
        cost = minutes * children
        booking = {
            "_id": booking_id or uuid.uuid4().hex,
            "shift_id": shift_id,
            "group_id": shift["group_id"],
            "member_id": member_id,
            "children": children,
            "cost": cost,
            "status": "pending",
            "at": datetime.now(UTC),
        }
        # Before the booking: if this delivery dies half way, the timer finishes or undoes it.
        with contextlib.suppress(DuplicateKeyError):
            self.due.insert_one({"_id": f"booking:{booking['_id']}", "at": booking["at"] + PENDING_TIMEOUT})
        try:
            self.bookings.insert_one(booking)
        except DuplicateKeyError:  # a twin delivery got there first
            return self._outcome(self.bookings.find_one({"_id": booking["_id"]}) or booking)
        if not self._take_seats(shift, booking):
            self._fail(booking, "full", shift)
        elif not self._debit(booking, shift):
            self._fail(booking, "floor", shift)
        else:
            self.bookings.update_one({"_id": booking["_id"]}, {"$set": {"status": "confirmed"}})
            booking["status"] = "confirmed"
        self.due.delete_one({"_id": f"booking:{booking['_id']}"})
        return self._outcome(self.bookings.find_one({"_id": booking["_id"]}) or booking)

    def _outcome(self, booking: dict[str, Any]) -> dict[str, Any]:
        """What booking answers, from the booking as stored (so a second delivery answers alike).
        A pending one, left by a delivery that died half way, is settled by ``settle_finished``."""
        status = booking["status"]
        if status == "failed:full":
            return {"booking": None, "errors": [error(("shift_id",), t("Not enough places left."), "FULL")]}
        if status == "failed:floor":
            shift = self.shifts.find_one({"_id": booking["shift_id"]}, {"group_id": 1}) or booking
            floor_hours = self.floor(shift["group_id"]) / 60
            message = t(
                "Booking this would take you below {floor_hours} child-hours: host a shift first.",
                floor_hours=floor_hours,
            )
            return {"booking": None, "errors": [error(("children",), message, "BELOW_FLOOR")]}
        return {"booking": booking_view(booking), "errors": []}

    def _take_seats(self, shift: dict[str, Any], booking: dict[str, Any]) -> bool:
        taken = 0
        for k in range(1, shift["places"] + 1):
            try:
                self.seats.insert_one(
                    {"_id": f"{shift['_id']}:{k}", "shift_id": shift["_id"], "booking_id": booking["_id"]}
                )
            except DuplicateKeyError:
                continue
            taken += 1
            if taken == booking["children"]:
                return True
        return False

    def _debit(self, booking: dict[str, Any], shift: dict[str, Any]) -> bool:
        """Move the cost from the booker to the escrow, if the floor allows; numbered per debtor."""
        group, member = booking["group_id"], booking["member_id"]
        floor = self.floor(group)
        for _ in range(MAX_ATTEMPTS):
            seq = len(self._debits(group, member)) + 1  # dense: the next number after the last taken
            if self.balance(group, member) - booking["cost"] < floor:
                return False
            self._list_entry(group, f"{group}:{member}:{seq}")
            entry = {
                "_id": f"{group}:{member}:{seq}",
                "group_id": group,
                "debtor": member,
                "creditor": ESCROW,
                "amount": booking["cost"],
                "seq": seq,
                "booking_id": booking["_id"],
                "kind": "booking",
                "at": datetime.now(UTC),
            }
            try:
                self.ledger.insert_one(entry)
                return True
            except DuplicateKeyError:
                continue  # another debit of this member took the number: check the floor again
        raise RuntimeError(f"no ledger number for {member} after {MAX_ATTEMPTS} attempts")

    def _fail(self, booking: dict[str, Any], why: str, shift: dict[str, Any] | None) -> None:
        self._free_seats(booking, shift)
        self.bookings.update_one({"_id": booking["_id"]}, {"$set": {"status": f"failed:{why}"}})

    def cancel(self, booking_id: str, member_id: str) -> dict[str, Any]:
        booking = self.bookings.find_one({"_id": booking_id})
        if booking is None or booking["member_id"] != member_id:
            return {"booking": None, "errors": [error(("booking_id",), t("No such booking of yours."), "NOT_FOUND")]}
        if booking["status"] != "confirmed":
            return {
                "booking": booking_view(booking),
                "errors": [error(("booking_id",), t("It is not confirmed."), "NOT_CONFIRMED")],
            }
        shift = self.shifts.find_one({"_id": booking["shift_id"]})
        if shift is None or _aware(shift["starts_at"]) <= datetime.now(UTC):
            return {
                "booking": booking_view(booking),
                "errors": [error(("booking_id",), t("The shift has started."), "STARTED")],
            }
        if not self._settle(booking, to=member_id, kind="refund"):
            return {
                "booking": booking_view(booking),
                "errors": [error(("booking_id",), t("Cancelled already."), "CANCELLED")],
            }
        self._free_seats(booking, shift)
        self.bookings.update_one({"_id": booking_id}, {"$set": {"status": "cancelled"}})
        booking["status"] = "cancelled"
        return {"booking": booking_view(booking), "errors": []}

    def _settle(self, booking: dict[str, Any], to: str, kind: str) -> bool:
        """The escrow pays ``to`` for a booking, once (a refund and a payout exclude each other)."""
        entry_id = f"{booking['group_id']}:{ESCROW}:{booking['_id']}"
        self.credits.append(f"{booking['group_id']}:{to}", {"entry": entry_id})  # listed before it is written
        self._list_entry(booking["group_id"], entry_id)
        entry = {
            "_id": entry_id,
            "group_id": booking["group_id"],
            "debtor": ESCROW,
            "creditor": to,
            "amount": booking["cost"],
            "booking_id": booking["_id"],
            "kind": kind,
            "at": datetime.now(UTC),
        }
        try:
            self.ledger.insert_one(entry)
        except DuplicateKeyError:
            return False
        return True

    def settle_finished(self, limit: int = 500) -> int:
        """Pay hosts for shifts that are over; and finish or undo bookings a crash left pending.
        Reads the due markers only; returns how many bookings were paid out."""
        now = datetime.now(UTC)
        paid = 0
        due = sorted((m for m in self.due.find({}) if _aware(m["at"]) <= now), key=lambda m: _aware(m["at"]))
        for marker in due[:limit]:
            kind, _, key = marker["_id"].partition(":")
            if kind == "shift":
                paid += self._settle_shift(key)
            elif kind == "booking":
                self._settle_pending(key)
            self.due.delete_one({"_id": marker["_id"]})
        return paid

    def _settle_shift(self, shift_id: str) -> int:
        shift = self.shifts.find_one({"_id": shift_id})
        if shift is None or shift["status"] != "open":
            return 0
        paid = 0
        booking_ids = {seat["booking_id"] for seat in self._seats(shift)}
        for booking in by_ids(self.bookings, sorted(booking_ids)).values():
            if booking["status"] == "confirmed":
                paid += int(self._settle(booking, to=shift["host_id"], kind="payout"))
        self.shifts.update_one({"_id": shift["_id"]}, {"$set": {"status": "done"}})
        return paid

    def _settle_pending(self, booking_id: str) -> None:
        booking = self.bookings.find_one({"_id": booking_id})
        if booking is None or booking["status"] != "pending":
            return
        debited = self.ledger.find_one({"booking_id": booking["_id"], "kind": "booking"})
        if debited:
            self.bookings.update_one({"_id": booking["_id"]}, {"$set": {"status": "confirmed"}})
        else:
            self._fail(booking, "interrupted", self.shifts.find_one({"_id": booking["shift_id"]}))

    def seat_count(self, shift_id: str) -> int:
        shift = self.shifts.find_one({"_id": shift_id})
        return len(self._seats(shift)) if shift else 0


def booking_view(booking: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": booking["_id"],
        "shift_id": booking["shift_id"],
        "member_id": booking["member_id"],
        "children": booking["children"],
        "child_minutes": booking["cost"],
        "status": booking["status"],
    }
