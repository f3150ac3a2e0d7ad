"""The events service's application layer for outings: proposing, changing, cancelling, joining,
leaving, waitlist promotion and the member's and group's lists, over the outings' aggregate store
and the stores beside it (attendance, inbox, co-op, trips, member indexes, calendar feeds).

No nameko here: ``dependencies.Outings`` builds one ``OutingStore`` per worker; ``service.py``
decides who may do what and calls it."""

from __future__ import annotations

import contextlib
import threading
import uuid
import zlib
from collections.abc import Callable
from collections.abc import Collection as Items
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from parentnet_kit.clock import aware as _aware
from parentnet_kit.clock import parse_iso
from parentnet_kit.envelope import Event
from parentnet_kit.fields import field_error as error
from parentnet_kit.i18n import t, tn
from parentnet_kit.inbox import Inbox
from parentnet_kit.lookups import by_ids
from parentnet_kit.nameko_rpc import once_id
from parentnet_kit.outbox import AggregateStore, ConcurrencyConflict, retry_on_conflict

from . import domain, my_outings
from .attendance import AlreadyJoined, Attendance
from .calendar_feeds import CalendarFeeds
from .coop import Coop
from .my_outings import MemberOutings
from .trips import Trips

T = TypeVar("T")
R = TypeVar("R")
# (group id, member id) -> whether the member is an admin of the group, as its owner says.
GroupAdmins = Callable[[str, str], bool]

SOURCE = "events"
# Many families joining one outing at once all bump its version: retry generously, spread out.
ATTENDANCE_ATTEMPTS, ATTENDANCE_BACKOFF = 40, 0.01
EDIT_ATTEMPTS = 5
PARTY_MAX = 12
TIME_AND_PLACE = ("starts_at", "ends_at", "venue_name", "location")


# Green locks under nameko (eventlet patches threading); shared by the process's workers.
REFRESH_LOCKS = [threading.Lock() for _ in range(64)]


# Occurrences of a series are separate aggregates: changed a few at a time, so a 52-week series
# waits for the store's round trips 52 / SERIES_PARALLEL times instead of 52 (green threads).
SERIES_PARALLEL = 8


def _each(change: Callable[[T], R], items: list[T]) -> list[R]:
    """``change`` applied to every item, a few at a time; results in the order of ``items``."""
    if len(items) <= 1:
        return [change(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(SERIES_PARALLEL, len(items))) as pool:
        return list(pool.map(change, items))


class NotFound(LookupError):
    pass


class OutingStore:
    """Domain-level operations on outings; one per worker, sharing connections."""

    def __init__(
        self,
        store: AggregateStore,
        attendance: Attendance,
        inbox: Inbox,
        coop: Coop,
        trips: Trips,
        mine: MemberOutings,
        feeds: CalendarFeeds,
    ) -> None:
        self.store = store
        self.mine = mine
        self.feeds = feeds
        self.series_index: Collection = store.aggregates.database["series"]
        self.attendance = attendance
        self.inbox = inbox
        self.coop = coop
        self.trips = trips

    # -- reading -----------------------------------------------------------------------
    def get(self, outing_id: str) -> dict[str, Any]:
        state = self.store.get(outing_id)
        if state is None:
            raise NotFound(outing_id)
        return domain.public_view(state)

    def get_many(self, outing_ids: list[str]) -> list[dict[str, Any] | None]:
        found = by_ids(self.store.aggregates, outing_ids)
        return [domain.public_view(found[i]) if i in found else None for i in outing_ids]

    def export_page(self, after: str | None, size: int) -> list[dict[str, Any]]:
        query = {"_id": {"$gt": after}} if after else {}
        return [domain.public_view(doc) for doc in self.store.aggregates.find(query).sort("_id", 1).limit(size)]

    def relay_pending(self) -> int:
        stores = (self.store, self.inbox.store, self.coop.shift_store, self.trips.trip_store)
        return sum(store.relay_pending() for store in stores)

    # -- proposing and changing ----------------------------------------------------------
    def _commit(self, state: dict[str, Any], event_type: str) -> dict[str, Any]:
        view = domain.public_view(state)
        event = Event(event_type, SOURCE, state["_id"], state["version"], state["city"], view)
        self.store.commit(state, event)
        return view

    def create(
        self, clean: dict[str, Any], organizer_id: str | None, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Store a new outing (or series). With ``idempotency_key`` (the gateway sends one per
        request), a request delivered twice, e.g. redelivered after the service died while
        handling it, returns the outing it created the first time instead of a second one."""
        now = datetime.now(UTC)
        recurrence = clean.get("recurrence")
        keyed = uuid.UUID(once_id(idempotency_key, "outing", organizer_id)) if idempotency_key else None
        if not recurrence:
            state = domain.new_outing_state(clean, organizer_id, now)
            if keyed:
                state["_id"] = keyed.hex
            self.mine.note_proposed(organizer_id, clean.get("group_id"), {state["_id"]: state["ends_at"]})
            try:
                return self._commit(state, "outing_published")
            except ConcurrencyConflict:
                return self.get(state["_id"])
        series_id = keyed.hex if keyed else uuid.uuid4().hex
        duration = clean["ends_at"] - clean["starts_at"]
        starts = domain.occurrence_starts(
            clean["starts_at"], clean["time_zone"], recurrence["frequency"], recurrence["count"]
        )
        ids = [uuid.uuid5(keyed, str(i)).hex if keyed else uuid.uuid4().hex for i in range(len(starts))]
        # The series document lists its occurrences, so they are read by _id (docs/store.md). A
        # second delivery finds it (and the same ids) and finishes what the first began.
        with contextlib.suppress(DuplicateKeyError):
            self.series_index.insert_one({"_id": series_id, "occurrences": ids, "created_at": now})
        ends = {outing_id: start + duration for outing_id, start in zip(ids, starts, strict=True)}
        self.mine.note_proposed(organizer_id, clean.get("group_id"), ends)

        def publish(index: int) -> dict[str, Any]:
            occurrence = {**clean, "starts_at": starts[index], "ends_at": starts[index] + duration}
            state = domain.new_outing_state(occurrence, organizer_id, now)
            state["_id"] = ids[index]
            state.update(series_id=series_id, occurrence=index + 1, recurrence=recurrence)
            try:
                return self._commit(state, "outing_published")
            except ConcurrencyConflict:
                return self.get(state["_id"])

        return _each(publish, list(range(len(starts))))[0]

    def _occurrences(self, series_id: str) -> list[dict[str, Any]]:
        """The series' outings in time order: by _id from its series document (older series,
        made before there was one, by a scan)."""
        index = self.series_index.find_one({"_id": series_id})
        if index is None:
            docs = list(self.store.aggregates.find({"series_id": series_id}))
        else:
            docs = list(by_ids(self.store.aggregates, index["occurrences"]).values())
        return sorted(docs, key=lambda d: _aware(d["starts_at"]))

    def series(self, series_id: str) -> list[dict[str, Any]]:
        return [domain.public_view(d) for d in self._occurrences(series_id)]

    def _may_change(self, state: dict[str, Any], actor_id: str, admins: GroupAdmins) -> bool:
        """The organizer, or an admin of the outing's group (``admins`` asks the owner, members,
        and only when the actor is not the organizer)."""
        if state["organizer_id"] == actor_id:
            return True
        return bool(state.get("group_id")) and admins(state["group_id"], actor_id)

    def update(
        self, outing_id: str, actor_id: str, raw: dict[str, Any], scope: str, admins: GroupAdmins
    ) -> dict[str, Any]:
        current = self.store.get(outing_id)
        if current is None:
            return {"outing": None, "errors": [error(("outing_id",), t("No such outing."), "NOT_FOUND")]}
        if not self._may_change(current, actor_id, admins):
            message = t("Only the organizer or an admin of its group can change this outing.")
            return {"outing": None, "errors": [error(("outing_id",), message, "FORBIDDEN")]}
        if current["status"] != "published":
            return {"outing": None, "errors": [error(("outing_id",), t("This outing was cancelled."), "CANCELLED")]}
        now = datetime.now(UTC)
        patch, errors = domain.validate_outing_patch(raw, current, now)
        if errors:
            return {"outing": None, "errors": [e.to_dict() for e in errors]}
        if "capacity" in patch:
            families = self.attendance.summary(outing_id, None)["families"]
            if patch["capacity"] is not None and patch["capacity"] < families:
                message = tn(
                    "{count} family is coming; capacity cannot go below that.",
                    "{count} families are coming; capacity cannot go below that.",
                    families,
                )
                return {"outing": None, "errors": [error(("capacity",), message, "BELOW_ATTENDANCE")]}
        if not patch:
            return {"outing": domain.public_view(current), "errors": []}

        targets = [current]
        if scope == "series" and current.get("series_id"):
            targets += [
                d
                for d in self._occurrences(current["series_id"])
                if d["status"] == "published"
                and not d.get("detached")
                and _aware(d["starts_at"]) > now
                and d["_id"] != outing_id
            ]
        # A time change moves every occurrence by the same number of days to the same wall-clock time.
        zone = current["time_zone"]
        local_start = _aware(current["starts_at"]).astimezone(domain.ZoneInfo(zone))
        new_start = patch.get("starts_at", current["starts_at"])
        new_local = _aware(new_start).astimezone(domain.ZoneInfo(zone))
        day_delta = (new_local.date() - local_start.date()).days
        duration = patch.get("ends_at", current["ends_at"]) - new_start

        def changes_of(target: dict[str, Any]) -> dict[str, Any]:
            changes = dict(patch)
            if target is not current and ("starts_at" in patch or "ends_at" in patch):
                start = domain.shift_to(
                    _aware(target["starts_at"]), zone, day_delta, new_local.time().replace(tzinfo=None)
                )
                changes.update(starts_at=start, ends_at=start + duration)
            return changes

        def change_one(target: dict[str, Any]) -> dict[str, Any]:
            return self._apply_change(
                target["_id"], changes_of(target), detach=scope != "series" and bool(target.get("series_id"))
            )

        if "ends_at" in patch or ("starts_at" in patch and len(targets) > 1):
            self._note_moved(targets, {t["_id"]: changes_of(t).get("ends_at", t["ends_at"]) for t in targets})
        view = _each(change_one, targets)[0]
        if "capacity" in patch:
            for target in targets:
                self._promote(target["_id"])
        return {"outing": view, "errors": []}

    def _note_moved(self, targets: list[dict[str, Any]], ends: dict[str, datetime]) -> None:
        """Before a change of time is committed, the new ends for everyone concerned and the
        group, one entry per member for the whole change (my_outings.py: a moved outing is
        never taken as over). A 52-week series is then a few writes, not 52 per member."""
        by_member: dict[str, dict[str, datetime]] = {}
        by_group: dict[str, dict[str, datetime]] = {}
        for target in targets:
            outing_id = target["_id"]
            for member_id in [target["organizer_id"], *self.attendance.everyone(outing_id)]:
                if member_id:
                    by_member.setdefault(member_id, {})[outing_id] = ends[outing_id]
            if target.get("group_id"):
                by_group.setdefault(target["group_id"], {})[outing_id] = ends[outing_id]
        self.mine.note_moved(by_member, by_group)

    def _apply_change(self, outing_id: str, changes: dict[str, Any], detach: bool) -> dict[str, Any]:

        def change() -> tuple[dict[str, Any], dict[str, Any]]:
            current = self.store.get(outing_id)
            assert current is not None
            state = {**current, **changes, "version": current["version"] + 1, "updated_at": datetime.now(UTC)}
            if detach:
                state["detached"] = True
            if "capacity" in changes:
                state["attendance"] = self.attendance.summary(outing_id, state.get("capacity"))
            return current, self._commit(state, "outing_updated")

        before, view = retry_on_conflict(EDIT_ATTEMPTS, change)
        moved = [name for name in TIME_AND_PLACE if name in changes and changes[name] != before.get(name)]
        if moved:
            what = (
                t("The time and place of “{title}” changed.", title=view["title"])
                if {"venue_name", "location"} & set(moved) and {"starts_at", "ends_at"} & set(moved)
                else (
                    t("The place of “{title}” changed.", title=view["title"])
                    if {"venue_name", "location"} & set(moved)
                    else t("The time of “{title}” changed.", title=view["title"])
                )
            )
            self._tell_everyone(view, what, "outing_changed")
        return view

    def cancel(self, outing_id: str, actor_id: str, scope: str, admins: GroupAdmins) -> dict[str, Any]:
        current = self.store.get(outing_id)
        if current is None:
            return {"outing": None, "errors": [error(("outing_id",), t("No such outing."), "NOT_FOUND")]}
        if not self._may_change(current, actor_id, admins):
            message = t("Only the organizer or an admin of its group can cancel this outing.")
            return {"outing": None, "errors": [error(("outing_id",), message, "FORBIDDEN")]}
        targets = [outing_id]
        if scope == "series" and current.get("series_id"):
            now = datetime.now(UTC)
            targets += [
                d["_id"]
                for d in self._occurrences(current["series_id"])
                if d["status"] == "published" and _aware(d["starts_at"]) > now and d["_id"] != outing_id
            ]
        return {"outing": _each(self._cancel_one, targets)[0], "errors": []}

    def _cancel_one(self, outing_id: str) -> dict[str, Any]:
        def change() -> dict[str, Any]:
            current = self.store.get(outing_id)
            assert current is not None
            if current["status"] == "cancelled":
                return domain.public_view(current)
            state = {
                **current,
                "status": "cancelled",
                "version": current["version"] + 1,
                "updated_at": datetime.now(UTC),
            }
            return self._commit(state, "outing_cancelled")

        view = retry_on_conflict(EDIT_ATTEMPTS, change)
        self._tell_everyone(view, t("“{title}” was cancelled.", title=view["title"]), "outing_cancelled")
        return view

    def _tell_everyone(self, view: dict[str, Any], message: str, kind: str) -> None:
        subject = {"type": "Outing", "id": view["id"]}
        key = f"outing:{view['id']}:{kind}:v{view['version']}"
        for member_id in self.attendance.everyone(view["id"]):
            if member_id != view["organizer_id"]:
                self.inbox.notify(member_id, key, kind, message, subject, view["city"])

    # -- coming along --------------------------------------------------------------------
    def join(self, outing_id: str, member_id: str, adults: Any, children: Any) -> dict[str, Any]:
        current = self.store.get(outing_id)
        if current is None:
            return {"place": None, "outing": None, "errors": [error(("outing_id",), t("No such outing."), "NOT_FOUND")]}
        errors = []
        if current["status"] != "published":
            errors.append(error(("outing_id",), t("This outing was cancelled."), "CANCELLED"))
        elif _aware(current["ends_at"]) <= datetime.now(UTC):
            errors.append(error(("outing_id",), t("This outing is over."), "ENDED"))
        if isinstance(adults, bool) or not isinstance(adults, int) or not 1 <= adults <= PARTY_MAX:
            errors.append(
                error(("adults",), t("adults must be between 1 and {party_max}", party_max=PARTY_MAX), "OUT_OF_RANGE")
            )
        if isinstance(children, bool) or not isinstance(children, int) or not 0 <= children <= PARTY_MAX:
            errors.append(
                error(
                    ("children",), t("children must be between 0 and {party_max}", party_max=PARTY_MAX), "OUT_OF_RANGE"
                )
            )
        elif children and not current.get("with_children", True):
            errors.append(error(("children",), t("This outing is for parents without children."), "NO_CHILDREN"))
        if errors:
            return {"place": None, "outing": domain.public_view(current), "errors": errors}
        self.mine.note_joining(member_id, outing_id, _aware(current["ends_at"]))
        try:
            place = self.attendance.join(outing_id, member_id, adults, children, current.get("capacity"))
        except AlreadyJoined:
            place = self.attendance.place_of(outing_id, member_id, current.get("capacity"))
            message = (
                t("You are already coming.") if place and place.status == "confirmed" else t("You are on the waitlist.")
            )
            return {
                "place": place.to_dict() if place else None,
                "outing": domain.public_view(current),
                "errors": [error(("outing_id",), message, "ALREADY_JOINED")],
            }
        view = self.refresh_attendance(outing_id)
        # A change of time committed while this member joined told the others, not them.
        self.mine.note_joining(member_id, outing_id, parse_iso(view["ends_at"]))
        return {"place": place.to_dict(), "outing": view, "errors": []}

    def leave(self, outing_id: str, member_id: str) -> dict[str, Any]:
        current = self.store.get(outing_id)
        if current is None:
            return {"outing": None, "errors": [error(("outing_id",), t("No such outing."), "NOT_FOUND")]}
        if not self.attendance.leave(outing_id, member_id):
            return {
                "outing": domain.public_view(current),
                "errors": [error(("outing_id",), t("You are not coming."), "NOT_JOINED")],
            }
        self._promote(outing_id)
        return {"outing": self.refresh_attendance(outing_id), "errors": []}

    def _promote(self, outing_id: str) -> None:
        current = self.store.get(outing_id)
        assert current is not None
        for place in self.attendance.newly_promoted(outing_id, current.get("capacity")):
            message = t("A place freed up: you are coming to “{title}”.", title=current["title"])
            subject = {"type": "Outing", "id": outing_id}
            key = f"outing:{outing_id}:promoted:{place.ticket}"
            self.inbox.notify(place.member_id, key, "waitlist_promoted", message, subject, current["city"])

    def refresh_attendance(self, outing_id: str) -> dict[str, Any]:
        """Publish the derived attendance as a new version, unless it already shows it.

        One refresh per outing at a time in this process (striped locks): fifty joins at once
        then do not fight for the next version; each waiting one finds the attendance already
        published by the one before (it read the tickets after theirs), at two lookups. Other
        processes still meet as version conflicts, retried."""
        with REFRESH_LOCKS[zlib.crc32(outing_id.encode()) % len(REFRESH_LOCKS)]:
            return self._refresh_attendance(outing_id)

    def _refresh_attendance(self, outing_id: str) -> dict[str, Any]:
        def change() -> dict[str, Any]:
            current = self.store.get(outing_id)
            assert current is not None
            summary = self.attendance.summary(outing_id, current.get("capacity"))
            if summary == current.get("attendance"):
                return domain.public_view(current)
            state = {
                **current,
                "attendance": summary,
                "version": current["version"] + 1,
                "updated_at": datetime.now(UTC),
            }
            return self._commit(state, "attendance_changed")

        return retry_on_conflict(ATTENDANCE_ATTEMPTS, change, backoff=ATTENDANCE_BACKOFF)

    def attendees(
        self,
        outing_id: str,
        viewer_id: str | None,
        first: int,
        after: int | None,
        hidden: Items[str] = (),
    ) -> dict[str, Any] | None:
        """The organizer and the families coming see who comes; nobody else (None). The members
        in ``hidden`` are left out of the list, its pages and its total."""
        current = self.store.get(outing_id)
        if current is None or viewer_id is None:
            return None
        places = self.attendance.places(outing_id, current.get("capacity"))
        if viewer_id != current["organizer_id"] and viewer_id not in {p.member_id for p in places}:
            return None
        shown = [p for p in places if p.member_id not in hidden]
        rest = [p for p in shown if after is None or p.ticket > after]
        return {"places": [p.to_dict() for p in rest[:first]], "has_next_page": len(rest) > first, "total": len(shown)}

    def _visible_only(self, visible: Any) -> Any:
        """``get_many`` with the views ``visible`` refuses as None."""
        return lambda ids: [v if v is not None and visible(v) else None for v in self.get_many(ids)]

    def member_outings(
        self, member_id: str, states: list[str], first: int, after: int | None, visible: Any = None
    ) -> dict[str, Any]:
        """A page of the member's outings in ``states`` (my_outings.STATES), see ``MemberOutings.of_member``;
        ``visible``: a predicate over public views (``my_outings.may_see``)."""
        now = datetime.now(UTC)

        def place(view: dict[str, Any]) -> dict[str, Any] | None:
            found = self.attendance.place_of(view["id"], member_id, view.get("capacity"))
            return found.to_dict() if found else None

        load = self._visible_only(visible) if visible else self.get_many
        items = self.mine.of_member(member_id, states, load, place, now)
        return my_outings.page(items, first, after)

    def group_outings(
        self,
        group_ids: list[str],
        period: str,
        first: int,
        after: int | None,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        visible: Any = None,
    ) -> dict[str, Any]:
        """A page of the groups' outings (``period`` upcoming or past), ``{items: [{outing, position}], ...}``."""
        load = self._visible_only(visible) if visible else self.get_many
        views = self.mine.of_groups(group_ids, period, load, datetime.now(UTC), starts_from, starts_before)
        return my_outings.page([{"outing": v} for v in views], first, after)

    def places_of(self, member_id: str, outing_ids: list[str]) -> list[dict[str, Any] | None]:
        """The member's place in each outing asked about (None where not coming), in order.
        Only the outings her own index names (``MemberOutings``: written before every join, one
        lookup when this process read it before) are looked up: a page of 20 outings she is in
        none of costs one read, not 20 claim lookups."""
        joined = set(self.mine.members.outing_ids(member_id))
        mine = self.attendance.of_member(member_id, [o for o in outing_ids if o in joined])
        answers: list[dict[str, Any] | None] = []
        for outing_id in outing_ids:
            place = None
            if outing_id in mine:
                state = self.store.get(outing_id)
                found = self.attendance.place_of(outing_id, member_id, state.get("capacity")) if state else None
                place = found.to_dict() if found else None
            answers.append(place)
        return answers
