"""A member's outings and a group's outings, read by ``_id`` on every app open.

Which outings a member organised or joined is known elsewhere only by outing (the claim
``<outing>:<member>``, the outing's ``organizer_id``): finding a member's would read every claim
or every outing (docs/store.md: FerretDB serves only ``{_id}`` lookups from an index). So each
member, and each group, has an *index* of dense, insert-only entries ``<member>:<k>`` in
``member_outings`` (``<group>:<k>`` in ``group_outings``), each naming outing ids — one entry per
join or proposal, one per whole series. As with tickets (attendance.py), an index is the point
lookups 1, 2, ... up to the first missing one, and a process keeps what it read and asks only for
what came after: one lookup when nothing changed. Racing writers of one index meet at the unique
``_id`` and take the next ``k``; nothing is lost on FerretDB (whose updates are not atomic).

An entry is a hint, written *before* the change it hints at (a crash in between leaves a hint
to nothing, never a change without its hint). Whether the member is still coming, confirmed or
waiting, at which position, and whether the outing was cancelled or is over is read from the
truth at read time — the outing by ``_id`` and its tickets — so no entry has to change on a
leave, a promotion, a cancellation or a change of time, and a position is always the one the
outing's own page shows.

One thing an entry does record, so that an app open does not read every outing a member ever
went to: when each outing ends (``ends``). An outing is taken as over without reading it only
when every entry naming it says it ended before now. A change of time writes a new entry to
everyone concerned *before* it is committed, so the true end is always one of the ends
recorded, hence never later than the latest: if all are past, it is over. (A change that then
fails leaves a later end than the truth, which only costs one read.)
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from parentnet_kit.clock import aware

MAX_ENTRY_ATTEMPTS = 200
KNOWN_INDEXES_MAX = 5_000
# Green locks under nameko (eventlet patches threading): one writer per index at a time in a process.
INDEX_LOCKS = [threading.Lock() for _ in range(64)]

# A member's relation to an outing, as the API names its states.
ORGANIZING, GOING, WAITLISTED, PAST = "organizing", "going", "waitlisted", "past"
STATES = (ORGANIZING, GOING, WAITLISTED, PAST)
UPCOMING, ENDED = "upcoming", "past"
PERIODS = (UPCOMING, ENDED)


def entry_id(owner_id: str, k: int) -> str:
    return f"{owner_id}:{k:06d}"


class OutingIndex:
    """Dense, insert-only lists of outing ids per owner (a member or a group) in one collection."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection
        self._known: OrderedDict[str, tuple[dict[str, Any], ...]] = OrderedDict()

    def entries(self, owner_id: str) -> list[dict[str, Any]]:
        """Every entry of ``owner_id``'s index, oldest first: what this process knew, then what came after."""
        known = self._known.get(owner_id, ())
        more = []
        while (found := self.collection.find_one({"_id": entry_id(owner_id, len(known) + len(more) + 1)})) is not None:
            more.append(found)
        entries = known + tuple(more)
        if len(entries) >= len(self._known.get(owner_id, ())):
            self._known[owner_id] = entries
            self._known.move_to_end(owner_id)
            while len(self._known) > KNOWN_INDEXES_MAX:
                self._known.popitem(last=False)
        return list(entries)

    def outing_ids(self, owner_id: str) -> list[str]:
        """The outing ids in ``owner_id``'s index, each once, oldest entry first."""
        return list(dict.fromkeys(i for e in self.entries(owner_id) for i in e["outing_ids"]))

    def latest_ends(self, owner_id: str) -> dict[str, datetime | None]:
        """Outing id -> the latest end any entry records for it (None when one records none)."""
        latest: dict[str, datetime | None] = {}
        for entry in self.entries(owner_id):
            ends = entry.get("ends") or {}
            for outing_id in entry["outing_ids"]:
                end = aware(ends[outing_id]) if outing_id in ends else None
                if outing_id not in latest:
                    latest[outing_id] = end
                elif latest[outing_id] is not None:
                    latest[outing_id] = None if end is None else max(end, latest[outing_id])
        return latest

    def add(self, owner_id: str, ends: dict[str, datetime], always: bool = False, **fields: Any) -> None:
        """Append an entry naming the outings of ``ends`` (outing id -> its end) — nothing when all
        are listed already with those ends, unless ``always``."""
        wanted = list(ends)
        with INDEX_LOCKS[zlib.crc32(owner_id.encode()) % len(INDEX_LOCKS)]:
            entries = self.entries(owner_id)
            listed = self.latest_ends(owner_id)
            if not always and all(i in listed and listed[i] is not None and listed[i] >= ends[i] for i in wanted):
                return
            k = len(entries) + 1
            for _ in range(MAX_ENTRY_ATTEMPTS):
                document = {
                    "_id": entry_id(owner_id, k),
                    "owner_id": owner_id,
                    "outing_ids": wanted,
                    "ends": ends,
                    "at": datetime.now(UTC),
                    **fields,
                }
                try:
                    self.collection.insert_one(document)
                    return
                except DuplicateKeyError:
                    k += 1  # another process wrote k: the next one is ours to try
        raise RuntimeError(f"no index entry for {owner_id} after {MAX_ENTRY_ATTEMPTS} attempts")


def _starts(view: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(view["starts_at"].replace("Z", "+00:00"))


def _ended(view: dict[str, Any], now: datetime) -> bool:
    return aware(datetime.fromisoformat(view["ends_at"].replace("Z", "+00:00"))) <= now


def member_state(view: dict[str, Any], member_id: str, place: dict[str, Any] | None, now: datetime) -> str | None:
    """ORGANIZING, GOING, WAITLISTED or PAST for ``member_id`` and this outing; None when it is
    none of them (left, or waited and the outing is over). No I/O."""
    organizer = view["organizer_id"] == member_id
    if _ended(view, now):
        went = organizer or (place is not None and place["status"] == "confirmed")
        return PAST if went and view["status"] == "published" else None
    if organizer:
        return ORGANIZING
    if place is None:
        return None
    return GOING if place["status"] == "confirmed" else WAITLISTED


def order_key(state_or_period: str, view: dict[str, Any]) -> tuple[float, str]:
    """Upcoming soonest first; past most recent first (then by id, so pages are stable)."""
    at = _starts(view).timestamp()
    return (-at if state_or_period in (PAST, ENDED) else at, view["id"])


def may_see(hidden_organizers: Iterable[str] | None, viewer_groups: Iterable[str] | None) -> Any:
    """The gateway's rule for whether a viewer sees an outing, as a predicate over public views:
    not organised by someone who blocked them; a private group's only for its members (not
    checked when ``viewer_groups`` is None). Applied before paging, so totals count what shows."""
    hidden = set(hidden_organizers or ())
    groups = None if viewer_groups is None else set(viewer_groups)

    def visible(view: dict[str, Any]) -> bool:
        if view.get("organizer_id") in hidden:
            return False
        private = view.get("group_visibility") == "private"
        return not (private and groups is not None and view.get("group_id") not in groups)

    return visible


def page(items: list[dict[str, Any]], first: int, after: int | None) -> dict[str, Any]:
    """``first`` items after position ``after`` (1-based positions; None: from the start)."""
    start = after or 0
    chosen = items[start : start + first]
    return {
        "items": [{**item, "position": start + i + 1} for i, item in enumerate(chosen)],
        "has_next_page": len(items) > start + first,
        "total": len(items),
    }


class MemberOutings:
    """Reads for "my outings" and "my groups' outings", over the indexes above."""

    def __init__(self, db: Database) -> None:
        self.members = OutingIndex(db["member_outings"])
        self.groups = OutingIndex(db["group_outings"])

    def ensure_indexes(self) -> None:
        """Nothing to index: entries are read by ``_id`` only."""

    def note_proposed(self, organizer_id: str | None, group_id: str | None, ends: dict[str, datetime]) -> None:
        """Before an outing (or a whole series) is committed: its organizer's and its group's entry.
        ``ends``: each outing's id -> its end."""
        if organizer_id:
            self.members.add(organizer_id, ends, role="organizer")
        if group_id:
            self.groups.add(group_id, ends)

    def note_joining(self, member_id: str, outing_id: str, ends_at: datetime) -> None:
        """Before a member takes a ticket: their entry (once however often they join and leave)."""
        self.members.add(member_id, {outing_id: ends_at}, role="attendee")

    def note_moved(self, members: dict[str, dict[str, datetime]], groups: dict[str, dict[str, datetime]]) -> None:
        """Before a change of time is committed: the new ends (member or group -> outing id ->
        end), one entry per member and per group."""
        for member_id, ends in members.items():
            self.members.add(member_id, ends, always=True, role="moved")
        for group_id, ends in groups.items():
            self.groups.add(group_id, ends, always=True)

    @staticmethod
    def _maybe_on(latest: dict[str, datetime | None], now: datetime) -> list[str]:
        """The ids whose recorded ends do not prove them over."""
        return [i for i, end in latest.items() if end is None or end > now]

    def of_member(
        self,
        member_id: str,
        states: Iterable[str],
        load: Any,
        place_of: Any,
        now: datetime,
    ) -> list[dict[str, Any]]:
        """The member's outings in ``states``, as ``{outing, state, place}``, in order (upcoming
        soonest first, then past most recent first). ``load(ids)`` gives public views (None for
        unknown), ``place_of(view)`` the member's place dict or None."""
        wanted = set(states)
        latest = self.members.latest_ends(member_id)
        ids = list(latest) if PAST in wanted else self._maybe_on(latest, now)
        found = []
        for view in load(ids):
            if view is None:
                continue  # a hint written before a creation that never happened
            if _ended(view, now) and PAST not in wanted:
                continue  # over: no need to read its tickets
            place = place_of(view) if view["organizer_id"] != member_id else None
            state = member_state(view, member_id, place, now)
            if state in wanted:
                found.append({"outing": view, "state": state, "place": place})
        return sorted(found, key=lambda item: (item["state"] == PAST, order_key(item["state"], item["outing"])))

    def of_groups(
        self,
        group_ids: Iterable[str],
        period: str,
        load: Any,
        now: datetime,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The groups' outings, upcoming (not over yet; cancelled ones too, marked so) or past
        (over and not cancelled), optionally starting within ``[starts_from, starts_before)``."""
        latest: dict[str, datetime | None] = {}
        for group_id in dict.fromkeys(group_ids):
            latest.update(self.groups.latest_ends(group_id))
        ids = list(latest) if period == ENDED else self._maybe_on(latest, now)
        found = []
        for view in load(ids):
            if view is None:
                continue
            ended = _ended(view, now)
            if (period == ENDED) != ended or (ended and view["status"] != "published"):
                continue
            start = _starts(view)
            if (starts_from and start < starts_from) or (starts_before and start >= starts_before):
                continue
            found.append(view)
        return sorted(found, key=lambda view: order_key(period, view))
