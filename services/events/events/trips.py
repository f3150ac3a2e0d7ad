"""School runs and activity trips: a group's parents take turns walking or driving their
children to school or a class. A trip has weekdays and a time; parents join it with their
children (first names, shown only to the group); each day has one driver or walker in the
rota, and two parents can swap days.

Concurrency (FerretDB and MongoDB alike). FerretDB 1.24 checks an update's filter in its own
process (read, compare, write back: its issue #3040), so a guarded ``update_one({_id, driver_id:
before})`` is not a compare-and-set there; only an insert of a unique ``_id`` is atomic. So:

- A day's rota entry ``<trip>:<date>`` is inserted by whoever volunteers first (version 0).
- Every later change of a day is the document ``<trip>:<date>:<n>`` in ``trip_rota_changes``,
  the day's n-th change, inserted once: of two swaps that read the day at version n - 1, one
  inserts change n and the other gets a duplicate key and loses. A change names its swap, the
  driver before and after.
- A swap's outcome is the document ``<swap>`` in ``trip_swap_outcomes`` (``done`` or
  ``conflict``), inserted once, after the swap holds a change of each of its days (``done``) or
  lost one (``conflict``). A change counts only once its swap's outcome is ``done``; until an
  outcome exists, the day is *pending*: readers show the driver before it, and any other swap
  that needs the day ends as a conflict. So a swap is applied whole or not at all, and two swaps
  sharing a day never both end ``done``.
- The rota entry keeps ``(version, driver_id)`` of a true state as a cache for readers, written
  after a done outcome; readers follow the changes after it (one lookup by ``_id`` per day when
  none came). A stale cache costs a lookup, never a wrong answer.
- A swap is proposed, then accepted once (a unique insert); a timer finishes an accepted swap
  that a crash interrupted, from its marker in ``trip_swaps_due``; finishing twice, or at once
  with the accepting request, reaches the same outcome (the outcome insert decides).
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from parentnet_kit.clock import aware as _aware
from parentnet_kit.envelope import Event
from parentnet_kit.fields import field_error as error
from parentnet_kit.i18n import t, tn
from parentnet_kit.lookups import by_ids
from parentnet_kit.outbox import AggregateStore, ConcurrencyConflict
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.sequences import Sequences

from . import domain

MODES = ("walk", "car")
ROTA_WEEKS = 6
NAME_RE = re.compile(r"^[^\W\d_][\w' -]{0,39}$", re.UNICODE)


class Trips:
    def __init__(self, db: Database, notify: Any, publisher: EventPublisher | None = None) -> None:
        # Trips are published (trip_created) so search can show them to the group.
        self.trip_store = AggregateStore(db, "trips", publisher, outbox="trips_outbox")
        self.trips = self.trip_store.aggregates
        self.members = db["trip_members"]
        self.rota = db["trip_rota"]
        # A day's n-th change ``<trip>:<date>:<n>`` and a swap's outcome ``<swap>``, each inserted
        # once (module docstring): the two compare-and-sets FerretDB can do.
        self.rota_changes = db["trip_rota_changes"]
        self.swap_outcomes = db["trip_swap_outcomes"]
        self.swaps = db["trip_swaps"]
        # A marker per accepted swap until it is applied: the five-second timer reads these,
        # never the history of swaps (docs/store.md).
        self.swaps_due = db["trip_swaps_due"]
        self.notify = notify  # (recipient, key, kind, message, subject, city) -> bool
        # Per-key lists read by _id (docs/store.md), appended before what they list is written:
        # group -> {trip_id}, trip -> {member_id} (a rider's document is ``<trip>:<member>``).
        # A rota entry is ``<trip>:<date>``: the rota reads its coming dates by _id.
        self.group_trips = Sequences(db["group_trip_ids"], cache_keys=10_000)
        self.trip_riders = Sequences(db["trip_member_ids"], cache_keys=10_000)

    def ensure_indexes(self) -> None:
        self.trip_store.ensure_indexes()
        self.trips.create_index([("group_id", ASCENDING)])
        self.members.create_index([("trip_id", ASCENDING)])
        self.rota.create_index([("trip_id", ASCENDING), ("date", ASCENDING)])
        adopted = self.swaps_due.database["trip_swaps_due_adopted"]
        if adopted.find_one({"_id": "v1"}) is None:  # once: swaps older code left accepted
            for swap in self.swaps.find({"status": "accepted"}, {"_id": 1}):
                with contextlib.suppress(DuplicateKeyError):
                    self.swaps_due.insert_one({"_id": swap["_id"], "at": datetime.now(UTC)})
            with contextlib.suppress(DuplicateKeyError):
                adopted.insert_one({"_id": "v1", "at": datetime.now(UTC)})
        self._adopt_sequences()

    def _adopt_sequences(self) -> None:
        """Once per database: list the trips and riders stored before ``group_trip_ids`` and
        ``trip_member_ids`` (one read of each). Twice or concurrently only lists an id twice,
        which readers read once."""
        adopted = self.trips.database["sequences_adopted"]
        for name, source, key, field, sequences in (
            ("group_trip_ids", self.trips, "group_id", "trip_id", self.group_trips),
            ("trip_member_ids", self.members, "trip_id", "member_id", self.trip_riders),
        ):
            if adopted.find_one({"_id": name}) is not None:
                continue
            listed: dict[str, list[dict[str, Any]]] = {}
            rows = source.find({}, {key: 1, "member_id": 1, "created_at": 1})
            if source is self.trips:
                rows = sorted(rows, key=lambda t: (_aware(t["created_at"]), t["_id"]))
            for row in rows:
                listed.setdefault(row[key], []).append({field: row["_id"] if source is self.trips else row[field]})
            for owner, entries in listed.items():
                sequences.extend(owner, entries)
            with contextlib.suppress(DuplicateKeyError):
                adopted.insert_one({"_id": name, "at": datetime.now(UTC)})

    def _riders(self, trip_id: str) -> list[dict[str, Any]]:
        """The trip's riders' documents, in the order they first joined."""
        member_ids = list(dict.fromkeys(e["member_id"] for e in self.trip_riders.all(trip_id)))
        ids = [f"{trip_id}:{m}" for m in member_ids]
        found = by_ids(self.members, ids)
        return [found[i] for i in ids if i in found]

    def create(self, creator_id: str, group_id: str, raw: dict[str, Any], trip_id: str | None = None) -> dict[str, Any]:
        """A school run; ``trip_id`` (``once_id``): a request delivered twice returns the trip it made."""
        errors: list[dict[str, Any]] = []
        title = (raw.get("title") or "").strip() if isinstance(raw.get("title"), str) else ""
        if not 1 <= len(title) <= 140:
            errors.append(error(("title",), t("title must be 1 to 140 characters"), "REQUIRED"))
        mode = raw.get("mode")
        if mode not in MODES:
            errors.append(error(("mode",), t("mode must be walk or car"), "INVALID"))
        days = raw.get("weekdays")
        if not isinstance(days, list) or not days or not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
            errors.append(error(("weekdays",), t("weekdays are 0 (Monday) to 6 (Sunday)"), "INVALID"))
        clock = raw.get("time")
        if not isinstance(clock, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", clock):
            errors.append(error(("time",), t("time must be HH:MM"), "INVALID"))
        city = domain.cities.get(raw.get("city") or "")
        if city is None:
            errors.append(error(("city",), t("city is not one of the network's cities"), "UNKNOWN_CITY"))
        meeting = domain._coordinate(raw.get("meeting_location"), [])
        if meeting is None:
            errors.append(error(("meeting_location",), t("meetingLocation must have lat and lon"), "REQUIRED"))
        for name in ("meeting_point", "destination"):
            value = raw.get(name)
            if not isinstance(value, str) or not 1 <= len(value.strip()) <= 200:
                errors.append(error((name,), t("{name} must be 1 to 200 characters", name=name), "REQUIRED"))
        seats = raw.get("seats")
        if isinstance(seats, bool) or not isinstance(seats, int) or not 1 <= seats <= 20:
            errors.append(error(("seats",), t("seats (children per trip) must be 1 to 20"), "OUT_OF_RANGE"))
        if errors:
            return {"trip": None, "errors": errors}
        assert city is not None
        trip = {
            "_id": trip_id or uuid.uuid4().hex,
            "group_id": group_id,
            "created_by": creator_id,
            "title": title,
            "mode": mode,
            "weekdays": sorted(set(days)),
            "time": clock,
            "city": city.slug,
            "time_zone": city.time_zone,
            "meeting_point": raw["meeting_point"].strip(),
            "meeting_location": meeting,
            "destination": raw["destination"].strip(),
            "seats": seats,
            "created_at": datetime.now(UTC),
            "version": 1,
        }
        self.group_trips.append(group_id, {"trip_id": trip["_id"]})  # before: a crash lists a trip that is not
        try:
            self.trip_store.commit(trip, Event("trip_created", "events", trip["_id"], 1, city.slug, self.view(trip)))
        except ConcurrencyConflict:
            trip = self.trips.find_one({"_id": trip["_id"]}) or trip  # made by this request's first delivery
        return {"trip": self.view(trip), "errors": []}

    def export_page(self, after: str | None, size: int) -> list[dict[str, Any]]:
        """Up to ``size`` trips after id ``after``, in id order, for the search backfill: what
        ``trip_created`` told search (``view``) and ``version``."""
        query = {"_id": {"$gt": after}} if after else {}
        return [
            {**self.view(trip), "version": trip.get("version", 1)}
            for trip in self.trips.find(query).sort("_id", 1).limit(size)
        ]

    def view(self, trip: dict[str, Any]) -> dict[str, Any]:
        return {
            k: trip[k]
            for k in (
                "group_id",
                "title",
                "mode",
                "weekdays",
                "time",
                "city",
                "time_zone",
                "meeting_point",
                "meeting_location",
                "destination",
                "seats",
                "created_by",
            )
        } | {"id": trip["_id"]}

    def get(self, trip_id: str) -> dict[str, Any] | None:
        trip = self.trips.find_one({"_id": trip_id})
        return None if trip is None else self.view(trip)

    def of_group(self, group_id: str) -> list[dict[str, Any]]:
        """The group's trips, oldest first: its sequence of trip ids, then each trip by ``_id``."""
        ids = list(dict.fromkeys(e["trip_id"] for e in self.group_trips.all(group_id)))
        found = by_ids(self.trips, ids)
        trips = [found[i] for i in ids if i in found and found[i]["group_id"] == group_id]
        return [self.view(t) for t in sorted(trips, key=lambda t: (_aware(t["created_at"]), t["_id"]))]

    def join(self, trip_id: str, member_id: str, children: Any) -> dict[str, Any]:
        trip = self.trips.find_one({"_id": trip_id})
        if trip is None:
            return {"errors": [error(("trip_id",), t("No such trip."), "NOT_FOUND")]}
        if (
            not isinstance(children, list)
            or not 1 <= len(children) <= 6
            or not all(isinstance(c, str) and NAME_RE.match(c.strip()) for c in children)
        ):
            return {"errors": [error(("children",), t("give 1 to 6 first names"), "INVALID")]}
        riders = sum(len(m["children"]) for m in self._riders(trip_id) if m["member_id"] != member_id)
        if riders + len(children) > trip["seats"]:
            return {
                "errors": [
                    error(
                        ("children",),
                        tn("only {count} place left", "only {count} places left", trip["seats"] - riders),
                        "FULL",
                    )
                ]
            }
        doc = {
            "_id": f"{trip_id}:{member_id}",
            "trip_id": trip_id,
            "member_id": member_id,
            "children": [c.strip() for c in children],
        }
        if not any(e["member_id"] == member_id for e in self.trip_riders.all(trip_id)):
            self.trip_riders.append(trip_id, {"member_id": member_id})  # before the rider's document
        try:
            self.members.insert_one(doc)
        except DuplicateKeyError:
            self.members.update_one({"_id": doc["_id"]}, {"$set": {"children": doc["children"]}})
        return {"errors": []}

    def riders(self, trip_id: str) -> list[dict[str, Any]]:
        return [{"member_id": m["member_id"], "children": m["children"]} for m in self._riders(trip_id)]

    def _dates(self, trip: dict[str, Any], weeks: int = ROTA_WEEKS) -> list[date]:
        today = datetime.now(UTC).date()
        return [
            today + timedelta(days=i)
            for i in range(weeks * 7)
            if (today + timedelta(days=i)).weekday() in trip["weekdays"]
        ]

    def _days(self, trip_id: str, days: list[str]) -> dict[str, dict[str, Any]]:
        """The current state of these days of the trip: ``{date: {version, driver_id, pending}}``
        for the days someone took (absent: nobody did). ``pending`` is a change whose swap has no
        outcome yet (its driver is still the one before it). Reads the days' entries, then the
        change after each one's cached version (one lookup by ``_id`` per day), more only when
        changes came since the cache was written."""
        entries = by_ids(self.rota, [f"{trip_id}:{d}" for d in days])
        states = {
            e["date"]: {"version": e.get("version", 0), "driver_id": e["driver_id"], "pending": None}
            for e in entries.values()
        }
        walking = list(states)
        while walking:
            changes = by_ids(self.rota_changes, [f"{trip_id}:{d}:{states[d]['version'] + 1}" for d in walking])
            outcomes = by_ids(self.swap_outcomes, [c["swap_id"] for c in changes.values()])
            walking = []
            for change in changes.values():
                state = states[change["date"]]
                outcome = outcomes.get(change["swap_id"])
                if outcome is None:
                    state["pending"] = change
                    continue
                state["version"] += 1
                if outcome["outcome"] == "done":
                    state["driver_id"] = change["after"]
                walking.append(change["date"])
        return states

    def rota_of(self, trip_id: str) -> list[dict[str, Any]] | None:
        """The trip's coming days ``[{date: "YYYY-MM-DD", driver_id: str | None}]``, in order;
        None for an unknown trip."""
        trip = self.trips.find_one({"_id": trip_id})
        if trip is None:
            return None
        dates = [d.isoformat() for d in self._dates(trip)]
        states = self._days(trip_id, dates)
        return [{"date": d, "driver_id": states[d]["driver_id"] if d in states else None} for d in dates]

    def volunteer(self, trip_id: str, member_id: str, day: Any) -> dict[str, Any]:
        trip = self.trips.find_one({"_id": trip_id})
        if trip is None:
            return {"errors": [error(("trip_id",), t("No such trip."), "NOT_FOUND")]}
        if not isinstance(day, str) or day not in {d.isoformat() for d in self._dates(trip)}:
            return {"errors": [error(("date",), t("date must be one of the trip's coming days"), "INVALID")]}
        try:
            self.rota.insert_one({"_id": f"{trip_id}:{day}", "trip_id": trip_id, "date": day, "driver_id": member_id})
        except DuplicateKeyError:
            return {"errors": [error(("date",), t("Someone takes that day already."), "TAKEN")]}
        return {"errors": []}

    def propose_swap(
        self,
        trip_id: str,
        member_id: str,
        my_day: Any,
        their_day: Any,
        swap_id: str | None = None,
        apart: Callable[[str], bool] = lambda _: False,
    ) -> dict[str, Any]:
        """Ask whoever takes ``their_day`` to swap it for ``my_day``. ``swap_id`` (``once_id``): a
        request delivered twice returns the swap it proposed (its notice is sent once).
        ``apart(member_id)``: True for a member the proposer is kept apart from by a block (asked
        of members with the proposer's token): a day such a driver takes answers as one nobody
        takes (``INVALID``), and the riders among them are kept in the swap (``untold``) so that
        the rota's change is not told to them when it is applied, by whichever request or timer."""
        known = self.swaps.find_one({"_id": swap_id}) if swap_id else None
        if known is not None:
            self._tell_proposed(known)
            return {"swap": swap_view(known), "errors": []}
        days = [d for d in (my_day, their_day) if isinstance(d, str)]
        states = self._days(trip_id, days)
        mine, theirs = states.get(my_day) if days else None, states.get(their_day) if days else None
        if mine is None or mine["driver_id"] != member_id:
            return {"swap": None, "errors": [error(("my_date",), t("You do not take that day."), "NOT_YOURS")]}
        if theirs is None or theirs["driver_id"] == member_id or apart(theirs["driver_id"]):
            return {"swap": None, "errors": [error(("their_date",), t("Nobody else takes that day."), "INVALID")]}
        swap = {
            "_id": swap_id or uuid.uuid4().hex,
            "trip_id": trip_id,
            "from_member": member_id,
            "to_member": theirs["driver_id"],
            "from_date": my_day,
            "to_date": their_day,
            "status": "proposed",
            "at": datetime.now(UTC),
            # Only the trip's riders the proposer is kept apart from: no more of her relations
            # than this swap needs is written here.
            "untold": sorted(m["member_id"] for m in self._riders(trip_id) if apart(m["member_id"])),
        }
        try:
            self.swaps.insert_one(swap)
        except DuplicateKeyError:
            swap = self.swaps.find_one({"_id": swap["_id"]}) or swap  # a twin delivery got there first
        self._tell_proposed(swap)
        return {"swap": swap_view(swap), "errors": []}

    def _tell_proposed(self, swap: dict[str, Any]) -> None:
        trip = self.trips.find_one({"_id": swap["trip_id"]})
        self.notify(
            swap["to_member"],
            f"swap:{swap['_id']}:proposed",
            "trip_swap_proposed",
            t(
                "Swap {from_date} for your {to_date} on “{title}”?",
                from_date=swap["from_date"],
                to_date=swap["to_date"],
                title=trip["title"],
            ),
            {"type": "Trip", "id": swap["trip_id"]},
            trip["city"],
        )

    def accept_swap(
        self, swap_id: str, member_id: str, apart: Callable[[str], bool] = lambda _: False
    ) -> dict[str, Any]:
        """Accept a swap proposed to ``member_id``: ``{swap, errors}`` (``NOT_FOUND``, ``STALE``,
        ``DONE``). ``apart(member_id)``: True for a member the accepting one is kept apart from by
        a block (asked of members with their token): a swap proposed before a block between the
        two, or on a trip whose organizer is kept apart from them, is not found any more, and the
        riders among them are not told of the change."""
        swap = self._swap_for(swap_id, member_id, apart)
        if swap is None:
            return {"swap": None, "errors": [error(("swap_id",), t("No such swap for you."), "NOT_FOUND")]}
        changed = [error(("swap_id",), t("The rota changed since this swap was proposed; propose it again."), "STALE")]
        if swap["status"] in ("stale", "conflict"):
            return {"swap": swap_view(swap), "errors": changed}
        if swap["status"] == "proposed" and self._drivers(swap) != [swap["from_member"], swap["to_member"]]:
            # One of the two days changed hands since: swapping now would apply only half.
            self.swaps.update_one({"_id": swap_id, "status": "proposed"}, {"$set": {"status": "stale"}})
            swap["status"] = "stale"
            return {"swap": swap_view(swap), "errors": changed}
        with contextlib.suppress(DuplicateKeyError):  # before: a crash after it is finished by the timer
            self.swaps_due.insert_one({"_id": swap_id, "at": datetime.now(UTC)})
        try:
            self.swaps.insert_one({"_id": f"accepted:{swap_id}", "at": datetime.now(UTC)})
        except DuplicateKeyError:
            return {"swap": swap_view(swap), "errors": [error(("swap_id",), t("Accepted already."), "DONE")]}
        self.swaps.update_one({"_id": swap_id}, {"$set": {"status": "accepted"}})
        swap["status"] = "done" if self._apply(swap, apart) else "conflict"
        self.swaps_due.delete_one({"_id": swap_id})
        return {"swap": swap_view(swap), "errors": [] if swap["status"] == "done" else changed}

    def _swap_for(self, swap_id: Any, member_id: str, apart: Callable[[str], bool]) -> dict[str, Any] | None:
        """The swap proposed to ``member_id``, or None: unknown (or not a string), someone else's,
        proposed by someone kept apart from them, or on a trip whose organizer is (a trip they do
        not see)."""
        swap = self.swaps.find_one({"_id": swap_id}) if isinstance(swap_id, str) else None
        if swap is None or swap["to_member"] != member_id or apart(swap["from_member"]):
            return None
        trip = self.trips.find_one({"_id": swap["trip_id"]}, {"created_by": 1})
        return None if trip is not None and apart(trip["created_by"]) else swap

    def _moves(self, swap: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
        """(day, driver before, driver after) for both days of a swap."""
        return (
            (swap["from_date"], swap["from_member"], swap["to_member"]),
            (swap["to_date"], swap["to_member"], swap["from_member"]),
        )

    def _drivers(self, swap: dict[str, Any]) -> list[str | None]:
        states = self._days(swap["trip_id"], [day for day, _, _ in self._moves(swap)])
        return [states[day]["driver_id"] if day in states else None for day, _, _ in self._moves(swap)]

    def _claim(self, swap: dict[str, Any]) -> str:
        """Insert a change of each of the swap's days, in date order, each at the version after
        the day's current one and only while the day has the driver the swap expects; ``done``
        if the swap holds both, ``conflict`` as soon as a day changed hands or another swap holds
        it (its change exists at that version, or is pending). Run again, it finds its own."""
        for day, before, after in sorted(self._moves(swap)):
            state = self._days(swap["trip_id"], [day]).get(day)
            if state is None:
                return "conflict"
            pending = state["pending"]
            if pending is not None:
                if pending["swap_id"] == swap["_id"]:
                    continue  # ours, from an earlier run
                return "conflict"
            if state["driver_id"] != before:
                return "conflict"
            change_id = f"{swap['trip_id']}:{day}:{state['version'] + 1}"
            try:
                self.rota_changes.insert_one(
                    {
                        "_id": change_id,
                        "trip_id": swap["trip_id"],
                        "date": day,
                        "swap_id": swap["_id"],
                        "before": before,
                        "after": after,
                        "at": datetime.now(UTC),
                    }
                )
            except DuplicateKeyError:
                holder = self.rota_changes.find_one({"_id": change_id})
                if holder is None or holder["swap_id"] != swap["_id"]:
                    return "conflict"
        return "done"

    def _apply(self, swap: dict[str, Any], apart: Callable[[str], bool] = lambda _: False) -> bool:
        """Apply an accepted swap whole or not at all (module docstring), then tell everyone on
        its days but the riders kept apart by a block from the proposer (``untold``, written
        when it was proposed) or from the accepting member (``apart``, during their request; the
        timer, finishing after a crash, knows the proposer's side only). Run again after a crash,
        or at once by the timer and the accepting request, it reaches the outcome the first run
        decided. True when the swap is done."""
        decided = self.swap_outcomes.find_one({"_id": swap["_id"]})
        if decided is None:
            decided = {"_id": swap["_id"], "outcome": self._claim(swap), "at": datetime.now(UTC)}
            try:
                self.swap_outcomes.insert_one(decided)
            except DuplicateKeyError:
                decided = self.swap_outcomes.find_one({"_id": swap["_id"]}) or decided
        if decided["outcome"] != "done":
            self.swaps.update_one({"_id": swap["_id"]}, {"$set": {"status": "conflict"}})
            return False
        days = [day for day, _, _ in self._moves(swap)]
        for day, state in self._days(swap["trip_id"], days).items():
            if state["pending"] is None:  # a true (version, driver): the next readers start there
                self.rota.update_one(
                    {"_id": f"{swap['trip_id']}:{day}"},
                    {"$set": {"version": state["version"], "driver_id": state["driver_id"]}},
                )
        self.swaps.update_one({"_id": swap["_id"]}, {"$set": {"status": "done"}})
        trip = self.trips.find_one({"_id": swap["trip_id"]})
        riders = {m["member_id"] for m in self._riders(swap["trip_id"])}
        untold = set(swap.get("untold", ())) | {m for m in riders if apart(m)}
        everyone = (riders - untold) | {swap["from_member"], swap["to_member"]}
        for day in (swap["from_date"], swap["to_date"]):
            for member in everyone:
                self.notify(
                    member,
                    f"swap:{swap['_id']}:{day}",
                    "trip_rota_changed",
                    t("“{title}” on {day}: the rota changed.", title=trip["title"], day=day),
                    {"type": "Trip", "id": swap["trip_id"]},
                    trip["city"],
                )
        return True

    def finish_accepted(self) -> int:
        """Apply the swaps a crash left accepted but not applied (reads the due markers only);
        returns how many were applied."""
        done = 0
        now = datetime.now(UTC)
        for marker in list(self.swaps_due.find({})):
            swap = self.swaps.find_one({"_id": marker["_id"]})
            accepted = swap is not None and (
                swap["status"] == "accepted" or self.swaps.find_one({"_id": f"accepted:{swap['_id']}"}) is not None
            )
            if swap is not None and accepted and swap["status"] in ("proposed", "accepted"):
                self.swaps.update_one({"_id": swap["_id"]}, {"$set": {"status": "accepted"}})
                self._apply(swap)
                done += 1
            elif swap is not None and not accepted and now - _aware(marker["at"]) < timedelta(minutes=1):
                continue  # its accept may still be on its way
            self.swaps_due.delete_one({"_id": marker["_id"]})
        return done


def swap_view(swap: dict[str, Any]) -> dict[str, Any]:
    return {k: swap[k] for k in ("trip_id", "from_member", "to_member", "from_date", "to_date", "status")} | {
        "id": swap["_id"]
    }
