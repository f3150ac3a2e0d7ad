"""The members service's storage and rules that need it: accounts, sessions, groups, blocks.

Aggregates (members, groups, memberships, blocks) go through the kit's outbox, each kind
with its own outbox collection. Anything that can race is an insert with a unique key:
an email is reserved by inserting it, a membership or a block is one document per pair
whose versions are outbox keys, a refresh token is spent by inserting its digest.

A member's current blocks (either way) and groups are read from a per-member snapshot plus the
changes after it (``parentnet_kit.relation_index``): every write of a block or membership marks
it in the member's sequence after the write (the outbox's ``on_applied``, repeated by the sweeper
for a record a crash left pending), and a snapshot holds the states read after its marker k, so
it stays true and a read costs the snapshot, the markers after it and what they name, a few
finds however many blocks or groups the member ever had (docs/store.md).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from cachetools import TTLCache
from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from parentnet_kit.clock import aware as _aware
from parentnet_kit.envelope import Event
from parentnet_kit.fields import field_error as error
from parentnet_kit.i18n import t, tn
from parentnet_kit.lookups import by_ids
from parentnet_kit.outbox import AggregateStore, ConcurrencyConflict, retry_on_conflict
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.relation_index import RelationIndex
from parentnet_kit.sequences import Sequences
from parentnet_kit.tokens import TokenSigner

from . import cells, domain
from .nearby_cells import NearbyCells
from .security import DUMMY_HASH, Attempts, Blocking, Limits, Sessions, digest, hash_password, verify_password

SOURCE = "members"
ORPHAN_EMAIL_AFTER = timedelta(minutes=2)
SIMILAR_AGE_MONTHS = 12
CONFLICT_ATTEMPTS = 5
# Owners whose sequences (insert-only) a process keeps in memory, reading only what came after.
CACHED_KEYS = 10_000
# Other members' profiles as a page shows them (get_members): a page of 20 outings names up to 20
# organizers, each a lookup. Kept this long in a process, this many at most; a write through
# this process drops its copy at once, another process's when its member_updated arrives
# (members.dependencies), and PUBLIC_TTL bounds what a lost event leaves.
PUBLIC_TTL = timedelta(seconds=30)
PUBLIC_CACHED = 20_000
ALL_GROUPS = "*"  # the groups_in key listing every group, whatever its city
CURRENT_STATUSES = ("active", "pending")  # the memberships a member's snapshot keeps


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if cursor is None:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValueError("after is not a cursor from this list") from None


# What both indexes of memberships (a member's groups, a group's members) keep of one, and when
# it is current (active or pending).
MEMBERSHIP_FIELDS = ("version", "group_id", "member_id", "role", "status")


def _membership_current(state: dict[str, Any]) -> bool:
    return state["status"] in CURRENT_STATUSES


class MemberStore:
    def __init__(
        self,
        db: Database,
        publisher: EventPublisher | None,
        signer: TokenSigner,
        limits: Limits,
        refresh_ttl: timedelta,
        run_blocking: Blocking,
        public_ttl: timedelta = PUBLIC_TTL,
    ) -> None:
        self.db = db
        # member id -> stored state, for others' public views only (never the viewer's own).
        # Dropped when the member changes (``forget_profile``: this process's writes at once,
        # other processes' through their member_updated event, ``members.dependencies``).
        self.public_states: TTLCache[str, dict[str, Any]] = TTLCache(PUBLIC_CACHED, public_ttl.total_seconds())
        # member id -> the generation it was last forgotten at: a read that began before is not kept.
        self._forgotten: TTLCache[str, int] = TTLCache(PUBLIC_CACHED, public_ttl.total_seconds())
        self._generation = 0
        self._floor = 0  # reads that began before the last forget_profiles are not kept
        self.members = AggregateStore(db, "members", publisher, outbox="members_outbox")
        self.groups = AggregateStore(db, "groups", publisher, outbox="groups_outbox")
        # Every write of a membership or a block appends a marker to its member's (both members')
        # sequence, before its event is published (``on_applied``; relation_index.py).
        self.memberships = AggregateStore(
            db, "memberships", publisher, outbox="memberships_outbox", on_applied=self._membership_applied
        )
        self.blocks = AggregateStore(db, "blocks", publisher, outbox="blocks_outbox", on_applied=self._block_applied)
        self.emails = db["emails"]
        # Per-owner lists read by _id (FerretDB scans a collection for any other filter;
        # docs/store.md). Each is appended *before* the commit it indexes: a crash in between
        # leaves an entry that points at nothing, skipped on read; duplicates are skipped too.
        self.groups_of = Sequences(db["member_group_ids"], CACHED_KEYS)  # member -> {group_id} per change
        self.admins_of = Sequences(db["group_admin_ids"], CACHED_KEYS)  # group -> {member_id} ever made admin
        self.members_of = Sequences(db["group_member_ids"], CACHED_KEYS)  # group -> {member_id} ever joined
        self.blocks_of = Sequences(db["member_block_ids"], CACHED_KEYS)  # member -> {block_id} per change, both ways
        # A member's current blocks (either way) and groups (active or pending): a snapshot plus
        # the markers after it (parentnet_kit.relation_index): a few finds, however many they
        # ever had. The two sequences above are their markers: one entry before a relation's
        # first commit, one after every write of it.
        self.block_index = RelationIndex(
            self.blocks_of,
            db["member_block_snapshots"],
            db["blocks"],
            "block_id",
            lambda _member, block_id: block_id,
            lambda state: bool(state["active"]),
            ("blocker_id", "blocked_id"),
        )
        self.group_index = RelationIndex(
            self.groups_of,
            db["member_group_snapshots"],
            db["memberships"],
            "group_id",
            lambda member_id, group_id: f"gm:{group_id}:{member_id}",
            _membership_current,
            MEMBERSHIP_FIELDS,
        )
        # A group's current memberships (active or pending), the same way with the group as
        # owner: its markers, one entry before a membership's first commit and one after every
        # write of it, in their own sequence. A group from before it is seeded once from its
        # list of members ever joined (the first read without a snapshot).
        self.group_marks = Sequences(db["group_membership_marks"])  # group -> {member_id} per change
        self.member_index = RelationIndex(
            self.group_marks,
            db["group_member_snapshots"],
            db["memberships"],
            "member_id",
            lambda group_id, member_id: f"gm:{group_id}:{member_id}",
            _membership_current,
            MEMBERSHIP_FIELDS,
            seed=lambda group_id: [f"gm:{group_id}:{e['member_id']}" for e in self.members_of.all(group_id)],
        )
        # city (and ALL_GROUPS) -> {group_id} created there, appended once the group is
        # committed (and again by a redelivered creation): the group list reads it, then groups by _id.
        self.groups_in = Sequences(db["city_group_ids"], CACHED_KEYS)
        # tile -> {member_id, cell} of members who became discoverable there (nearby_cells.py):
        # appended before the commit that makes them so, read by parents_nearby once adopted.
        self.nearby = NearbyCells(db)
        self.attempts = Attempts(db, limits)
        self.sessions = Sessions(db, refresh_ttl)
        self.signer = signer
        self.limits = limits
        self.run_blocking = run_blocking

    # -- set-up and housekeeping -------------------------------------------------------
    def ensure_indexes(self) -> None:
        for store in (self.members, self.groups, self.memberships, self.blocks):
            store.ensure_indexes()
        self.members.aggregates.create_index([("discoverable", ASCENDING), ("cell.lat", ASCENDING)])
        self.groups.aggregates.create_index([("city", ASCENDING)])
        self.attempts.ensure_indexes()
        self.sessions.ensure_indexes()
        self.adopt_sequences()
        self.nearby.adopt_if_empty(self.members.aggregates)

    def adopt_nearby(self) -> int | None:
        """On a timer once the service answers (never at start-up): enter the members written
        before the tiles of ``parents_nearby``, once per database (``NearbyCells.adopt``).
        Returns how many were entered, None when done already or adopted by another process."""
        return self.nearby.adopt(self.members.aggregates, domain.now_utc())

    def remark_relations(self) -> int:
        """An operator's step after a rolling deploy from a version that did not mark every
        change (``README``): one read of ``memberships`` and of ``blocks``, and a marker for each
        relation in its owners' indexes (member and group; blocker and blocked), so every reader
        reads each relation's current state again. Safe beside running instances (an extra
        marker only costs a re-read). Returns how many relations were marked."""
        marked = 0
        for m in self.memberships.aggregates.find({}, {"group_id": 1, "member_id": 1}):
            self.group_index.mark(m["member_id"], m["group_id"])
            self.member_index.mark(m["group_id"], m["member_id"])
            marked += 1
        for b in self.blocks.aggregates.find({}, {"blocker_id": 1, "blocked_id": 1}):
            for member_id in (b["blocker_id"], b["blocked_id"]):
                self.block_index.mark(member_id, b["_id"])
            marked += 1
        return marked

    def adopt_sequences(self) -> None:
        """Once per database: index the memberships and blocks written before the per-member
        sequences (one read of each collection). Safe to run twice or concurrently: readers
        skip duplicate entries."""
        adopted = self.db["sequences_adopted"]
        if adopted.find_one({"_id": "memberships"}) is None:
            groups: dict[str, list[dict[str, Any]]] = {}
            members: dict[str, list[dict[str, Any]]] = {}
            admins: dict[str, list[dict[str, Any]]] = {}
            for m in self.memberships.aggregates.find({}, {"group_id": 1, "member_id": 1, "role": 1}):
                groups.setdefault(m["member_id"], []).append({"group_id": m["group_id"]})
                members.setdefault(m["group_id"], []).append({"member_id": m["member_id"]})
                if m["role"] == "admin":
                    admins.setdefault(m["group_id"], []).append({"member_id": m["member_id"]})
            for member_id, entries in groups.items():
                self.groups_of.extend(member_id, entries)
            for group_id, entries in members.items():
                self.members_of.extend(group_id, entries)
            for group_id, entries in admins.items():
                self.admins_of.extend(group_id, entries)
            with contextlib.suppress(DuplicateKeyError):
                adopted.insert_one({"_id": "memberships", "at": domain.now_utc()})
        if adopted.find_one({"_id": "blocks"}) is None:
            pairs: dict[str, list[dict[str, Any]]] = {}
            for b in self.blocks.aggregates.find({}, {"blocker_id": 1, "blocked_id": 1}):
                for member_id in (b["blocker_id"], b["blocked_id"]):
                    pairs.setdefault(member_id, []).append({"block_id": b["_id"]})
            for member_id, entries in pairs.items():
                self.blocks_of.extend(member_id, entries)
            with contextlib.suppress(DuplicateKeyError):
                adopted.insert_one({"_id": "blocks", "at": domain.now_utc()})
        if adopted.find_one({"_id": "city_group_ids"}) is None:
            cities_groups: dict[str, list[dict[str, Any]]] = {}
            for g in self.groups.aggregates.find({}, {"city": 1}):
                for key in (g.get("city"), ALL_GROUPS):
                    if key:
                        cities_groups.setdefault(key, []).append({"group_id": g["_id"]})
            for key, entries in cities_groups.items():
                self.groups_in.extend(key, entries)
            with contextlib.suppress(DuplicateKeyError):
                adopted.insert_one({"_id": "city_group_ids", "at": domain.now_utc()})
        self.sessions.adopt()

    def relay_pending(self) -> int:
        return sum(s.relay_pending() for s in (self.members, self.groups, self.memberships, self.blocks))

    def purge_attempts(self) -> int:
        """Hourly: attempts older than two days and refresh-token days that are over (drops
        whole collections; reads nothing). Returns how many collections went."""
        now = domain.now_utc()
        return self.attempts.purge(timedelta(days=2), now) + self.sessions.purge(now)

    def expire_due(self, now: datetime | None = None) -> int:
        """On a timer: sessions that are over and clients no longer known go
        (``Sessions.expire``, ``Attempts.expire_known``); returns how many markers were handled."""
        now = now or domain.now_utc()
        return self.sessions.expire(now) + self.attempts.expire_known(now)

    def _event(self, type_: str, state: dict[str, Any], city: str | None, data: dict[str, Any]) -> Event:
        return Event(
            type=type_, source=SOURCE, aggregate_id=state["_id"], version=state["version"], city=city, data=data
        )

    # -- accounts ------------------------------------------------------------------------
    def _tokens(self, member_id: str, session_id: str, refresh: str, now: datetime) -> dict[str, Any]:
        access, expires = self.signer.issue(member_id, session_id, now)
        return {"access_token": access, "access_token_expires_at": expires.isoformat(), "refresh_token": refresh}

    def _signed_in(self, state: dict[str, Any], now: datetime) -> dict[str, Any]:
        session_id, refresh = self.sessions.start(state["_id"], now)
        return {
            "member": domain.private_view(state, now),
            **self._tokens(state["_id"], session_id, refresh, now),
            "errors": [],
        }

    def _reserve_email(self, email: str, member_id: str, now: datetime) -> bool:
        for _ in range(2):
            try:
                self.emails.insert_one({"_id": email, "member_id": member_id, "at": now})
                return True
            except DuplicateKeyError:
                holder = self.emails.find_one({"_id": email})
                if holder is None:
                    continue
                # A registration that died between reserving and storing leaves an orphan.
                orphan = (
                    self.members.get(holder["member_id"]) is None and now - _aware(holder["at"]) > ORPHAN_EMAIL_AFTER
                )
                if not orphan:
                    return False
                self.emails.delete_one({"_id": email, "member_id": holder["member_id"]})
        return False

    def register(self, raw: dict[str, Any], client: str, member_id: str | None = None) -> dict[str, Any]:
        """Create an account and sign in. ``member_id`` (``once_id``): a request delivered twice
        signs in to the account its first delivery made instead of finding the email taken."""
        now = domain.now_utc()
        clean, errors = domain.validate_registration(raw)
        if errors:
            return {"errors": [e.to_dict() for e in errors]}
        refusal = self.attempts.rate_refusal(
            "register", "", client, self.limits.registrations_per_client_hour, timedelta(hours=1), now
        )
        if refusal:
            return {
                "errors": [error((), t("Too many sign-ups from this address; try again later."), "THROTTLED")],
                "retry_after_seconds": refusal.retry_after_seconds,
            }
        password_hash = hash_password(clean["password"], self.run_blocking)
        state = domain.new_member_state(clean, password_hash, now)
        if member_id:
            state["_id"] = member_id
        taken = {"errors": [error(("email",), t("An account with this email already exists."), "EMAIL_TAKEN")]}
        if not self._reserve_email(clean["email"], state["_id"], now):
            holder = self.emails.find_one({"_id": clean["email"]})
            if not (member_id and holder and holder["member_id"] == member_id):
                return taken
        self.nearby.enter(None, state)
        with contextlib.suppress(ConcurrencyConflict):  # stored by this request's first delivery
            self.members.commit(state, self._event("member_registered", state, state["city"], domain.event_view(state)))
        stored = self.members.get(state["_id"]) or state
        if stored is not state and (
            stored["email"] != clean["email"]
            or not verify_password(stored["password_hash"], clean["password"], self.run_blocking)
        ):
            return taken  # never sign anyone in to an account that is not the one they asked for
        return self._signed_in(stored, now)

    def login(self, email: Any, password: Any, client: str) -> dict[str, Any]:
        now = domain.now_utc()
        email = domain.normalise_email(email)
        password = password if isinstance(password, str) else ""
        account = digest(email)
        attempt = self.attempts.record("login", account, client, now)
        refusal = self.attempts.login_refusal(account, client, now)
        if refusal:
            self.attempts.settle(attempt, "refused")
            return {
                "errors": [error((), t("Too many attempts; try again later."), "THROTTLED")],
                "retry_after_seconds": refusal.retry_after_seconds,
            }
        holder = self.emails.find_one({"_id": email}) if email else None
        # The same two reads and one hash whether the email is known or not.
        state = self.members.get(holder["member_id"] if holder else "-")
        # Unknown email or not: one argon2 verification either way, so timing tells nothing.
        ok = verify_password(state["password_hash"] if state else DUMMY_HASH, password, self.run_blocking)
        if not (ok and state):
            self.attempts.settle(attempt, "failed")
            return {"errors": [error((), t("The email or the password is wrong."), "INVALID_CREDENTIALS")]}
        self.attempts.settle(attempt, "ok")
        self.attempts.succeeded(account, client, now, attempt)
        return self._signed_in(state, now)

    def refresh(self, token: Any) -> dict[str, Any]:
        now = domain.now_utc()
        rotated = self.sessions.rotate(token, now)
        if rotated is None:
            return {"errors": [error(("refresh_token",), t("Sign in again."), "INVALID_REFRESH_TOKEN")]}
        member_id, session_id, refresh = rotated
        state = self.members.get(member_id)
        if state is None:
            return {"errors": [error(("refresh_token",), t("Sign in again."), "INVALID_REFRESH_TOKEN")]}
        return {
            "member": domain.private_view(state, now),
            **self._tokens(member_id, session_id, refresh, now),
            "errors": [],
        }

    def logout(self, member_id: str, session_id: str, everywhere: bool) -> int:
        now = domain.now_utc()
        if everywhere:
            return self.sessions.revoke_all(member_id, now)
        if self.sessions.member_of(session_id) != member_id:
            return 0
        self.sessions.revoke(session_id, now)
        return 1

    def session_active(self, session_id: str) -> bool:
        return self.sessions.active(session_id)

    # -- profiles ------------------------------------------------------------------------
    def viewer(self, member_id: str) -> dict[str, Any] | None:
        state = self.members.get(member_id)
        return None if state is None else domain.private_view(state, domain.now_utc())

    def update_profile(self, member_id: str, raw: dict[str, Any]) -> dict[str, Any]:
        def change() -> dict[str, Any]:
            now = domain.now_utc()
            current = self.members.get(member_id)
            if current is None:
                return {"member": None, "errors": [error((), t("Your account no longer exists."), "NOT_FOUND")]}
            patch, errors = domain.validate_profile_patch(raw, current, now)
            if errors:
                return {"member": None, "errors": [e.to_dict() for e in errors]}
            moves = [_aware(t) for t in current.get("home_moves", []) if now - _aware(t) < timedelta(days=1)]
            if patch.get("home") and patch["home"] != current.get("home"):
                if len(moves) >= self.limits.home_moves_per_day:
                    message = tn(
                        "Your home location can change {count} time a day.",
                        "Your home location can change {count} times a day.",
                        self.limits.home_moves_per_day,
                    )
                    return {"member": None, "errors": [error(("home_location",), message, "RATE_LIMITED")]}
                moves.append(now)
            state = domain.with_cell({**current, **patch, "home_moves": moves, "updated_at": now})
            state["version"] = current["version"] + 1
            event = self._event("member_updated", state, state["city"], domain.event_view(state))
            self.nearby.enter(current, state)
            self.members.commit(state, event)
            self.forget_profile(state["_id"])
            return {"member": domain.private_view(state, now), "errors": []}

        return retry_on_conflict(CONFLICT_ATTEMPTS, change)

    def forget_profile(self, member_id: str) -> None:
        """Drop this process's copy of a member's profile (it changed), and keep any read that
        began before from putting an older copy back."""
        self._generation += 1
        self._forgotten[member_id] = self._generation
        self.public_states.pop(member_id, None)

    def forget_profiles(self) -> None:
        """Drop every kept profile (events may have been missed: the broadcast reconnected)."""
        self._generation += 1
        self.public_states.clear()
        self._forgotten.clear()
        self._floor = self._generation

    def get_members(self, member_ids: list[str], viewer_id: str | None) -> list[dict[str, Any] | None]:
        now = domain.now_utc()
        hidden = set(self.blocked_by(viewer_id)) if viewer_id else set()
        found = {}
        for member_id in member_ids:
            if member_id != viewer_id and (kept := self.public_states.get(member_id)) is not None:
                found[member_id] = kept
        began = self._generation
        read = by_ids(self.members.aggregates, [i for i in member_ids if i not in found])
        for member_id, state in read.items():
            # Not one that changed while it was read: the copy could be older than the change.
            if member_id != viewer_id and began >= self._floor and self._forgotten.get(member_id, 0) <= began:
                self.public_states[member_id] = state
        found.update(read)
        views: list[dict[str, Any] | None] = []
        for member_id in member_ids:
            state = found.get(member_id)
            if state is None or member_id in hidden:
                views.append(None)
            elif member_id == viewer_id:
                views.append(domain.private_view(state, now))
            else:
                views.append(domain.public_view(state, now))
        return views

    # -- parents near me -----------------------------------------------------------------
    def parents_nearby(self, viewer_id: str, filters: dict[str, Any], first: int, after: str | None) -> dict[str, Any]:
        now = domain.now_utc()
        empty = {"edges": [], "has_next_page": False, "total": 0}
        viewer = self.members.get(viewer_id)
        if viewer is None:
            return {**empty, "errors": [error((), t("Your account no longer exists."), "NOT_FOUND")]}
        if viewer["home"] is None:
            message = t("Set your home location in your profile to find parents near you.")
            return {**empty, "errors": [error(("home_location",), message, "HOME_LOCATION_REQUIRED")]}
        try:
            start = decode_cursor(after)
        except ValueError as exc:
            return {**empty, "errors": [error(("after",), str(exc), "INVALID")]}
        refusal = self.attempts.rate_refusal(
            "nearby", viewer_id, "", self.limits.nearby_per_account_hour, timedelta(hours=1), now
        )
        if refusal:
            message = t(
                "Too many searches; try again in {retry_after_seconds} s.",
                retry_after_seconds=refusal.retry_after_seconds,
            )
            return {
                **empty,
                "errors": [error((), message, "RATE_LIMITED")],
                "retry_after_seconds": refusal.retry_after_seconds,
            }
        centre = viewer["cell"]
        box = cells.search_box(centre)
        apart = self.block_relations(viewer_id)
        hidden = set(apart["blocked_by"]) | set(apart["blocked"]) | {viewer_id}
        wanted_languages = set(filters.get("languages") or [])
        if filters.get("shared_language"):
            wanted_languages |= set(viewer["languages"])
        viewer_ages = [domain.age_months(c, now) for c in viewer["children"]]
        age_min, age_max = filters.get("child_age_min_months"), filters.get("child_age_max_months")
        ranked = []
        for state in self._discoverable_in(box, centre, hidden):
            if state["_id"] in hidden:
                continue
            band = cells.band(centre, state["cell"])
            if band is None:
                continue
            if wanted_languages and not wanted_languages & set(state["languages"]):
                continue
            ages = [domain.age_months(c, now) for c in state["children"]]
            if age_min is not None and not any(
                age_min <= a <= (age_max if age_max is not None else 10**6) for a in ages
            ):
                continue
            if age_min is None and age_max is not None and not any(a <= age_max for a in ages):
                continue
            if filters.get("similar_child_ages") and not any(
                abs(a - b) <= SIMILAR_AGE_MONTHS for a in ages for b in viewer_ages
            ):
                continue
            # Within a band, a stable order that says nothing about distance.
            key = [cells.band_rank(band), digest(f"{viewer_id}:{state['_id']}")[:16]]
            ranked.append((key, band, state))
        ranked.sort(key=lambda item: item[0])
        total = len(ranked)
        if start is not None:
            ranked = [item for item in ranked if item[0] > start]
        page = ranked[:first]
        edges = [
            {"cursor": encode_cursor(key), "distance_band": band, "node": domain.public_view(state, now)}
            for key, band, state in page
        ]
        return {"edges": edges, "has_next_page": len(ranked) > first, "total": total, "errors": []}

    def _discoverable_in(
        self, box: dict[str, tuple[float, float]], centre: dict[str, Any], hidden: set[str]
    ) -> Iterator[dict[str, Any]]:
        """The members discoverable now with their cell in ``box`` (others' states, without
        ``hidden`` ids): by the tiles of ``nearby_cells`` (reads by ``_id``) once adopted, by
        scanning the members collection until then."""
        projection = {"password_hash": 0, "email": 0, "home": 0, "home_moves": 0}
        if not self.nearby.adopted():
            query = {
                "discoverable": True,
                "cell.lat": {"$gte": box["lat"][0], "$lte": box["lat"][1]},
                "cell.lon": {"$gte": box["lon"][0], "$lte": box["lon"][1]},
            }
            yield from (s for s in self.members.aggregates.find(query, projection) if s["_id"] not in hidden)
            return
        cells_of: dict[str, set[str]] = {}  # member -> the cells they were entered in (in the box)
        for entry in self.nearby.candidates(box):
            # Beyond the largest band the member would be dropped anyway: never read them.
            if entry["member_id"] not in hidden and cells.band(centre, entry) is not None:
                cells_of.setdefault(entry["member_id"], set()).add(entry["cell_id"])
        found = by_ids(self.members.aggregates, list(cells_of))
        for member_id, entered in cells_of.items():
            state = found.get(member_id)
            # The member's own document is the truth: gone or never committed, protected or
            # without a home since, or moved to a cell they have no entry of here: not shown.
            if state is None or not state.get("discoverable") or state["cell"]["id"] not in entered:
                continue
            yield {k: v for k, v in state.items() if k not in projection}

    # -- blocks --------------------------------------------------------------------------
    def blocked_by(self, member_id: str | None) -> list[str]:
        """Who blocked ``member_id`` (active blocks); [] without a member."""
        if not member_id:
            return []
        return self.block_relations(member_id)["blocked_by"]

    def blocked(self, member_id: str) -> list[str]:
        """Whom ``member_id`` blocked (active blocks)."""
        return self.block_relations(member_id)["blocked"]

    def block_relations(self, member_id: str) -> dict[str, list[str]]:
        """``{blocked: [whom the member blocked], blocked_by: [who blocked them]}`` (active
        blocks): the member's snapshot of their blocks either way, then the blocks changed after
        it by ``_id`` (``block_index``: 3 finds when none did, whatever the blocks ever made)."""
        blocks = self.block_index.read(member_id)
        return {
            "blocked": [b["blocked_id"] for b in blocks if b["blocker_id"] == member_id],
            "blocked_by": [b["blocker_id"] for b in blocks if b["blocked_id"] == member_id],
        }

    def set_block(self, blocker_id: str, blocked_id: Any, active: bool) -> dict[str, Any]:
        """Block or unblock ``blocked_id`` for ``blocker_id``: ``{errors}``. A member who
        blocked ``blocker_id`` answers as an unknown id does (``NOT_FOUND``), the change made
        all the same: the answer was an oracle of who blocked you (review 8: null without an
        error for the blocker, NOT_FOUND for an unknown id), and the block holds for when
        theirs is lifted."""
        unknown = {"errors": [error(("member_id",), t("No such member."), "NOT_FOUND")]}
        if not isinstance(blocked_id, str) or self.members.get(blocked_id) is None:
            return unknown
        if blocked_id == blocker_id:
            return {"errors": [error(("member_id",), t("You cannot block yourself."), "INVALID")]}
        result = self._set_block(blocker_id, blocked_id, active)
        theirs = self.blocks.get(f"block:{blocked_id}:{blocker_id}")
        return unknown if theirs is not None and theirs["active"] else result

    def _set_block(self, blocker_id: str, blocked_id: str, active: bool) -> dict[str, Any]:
        block_id = f"block:{blocker_id}:{blocked_id}"

        def change() -> dict[str, Any]:
            current = self.blocks.get(block_id)
            if (current is None and not active) or (current is not None and current["active"] == active):
                return {"errors": []}
            if current is None:
                # Indexed for both members before it exists (a crash leaves a harmless entry);
                # every write of it is marked again after (``_block_applied``).
                for member_id in (blocker_id, blocked_id):
                    self.block_index.mark(member_id, block_id)
            now = domain.now_utc()
            state = {
                "_id": block_id,
                "version": 1 if current is None else current["version"] + 1,
                "blocker_id": blocker_id,
                "blocked_id": blocked_id,
                "active": active,
                "updated_at": now,
            }
            data = {"blocker_id": blocker_id, "blocked_id": blocked_id, "active": active}
            self.blocks.commit(
                state, self._event("member_blocked" if active else "member_unblocked", state, None, data)
            )
            return {"errors": []}

        return retry_on_conflict(CONFLICT_ATTEMPTS, change)

    def _block_applied(self, state: dict[str, Any]) -> None:
        """After each write of a block (``AggregateStore.on_applied``): both members' markers."""
        for member_id in (state["blocker_id"], state["blocked_id"]):
            self.block_index.mark(member_id, state["_id"])

    def export_blocks(self, after: str | None, size: int) -> list[dict[str, Any]]:
        query = {"_id": {"$gt": after}} if after else {}
        docs = self.blocks.aggregates.find(query).sort("_id", ASCENDING).limit(size)
        return [
            {
                "id": d["_id"],
                "version": d["version"],
                "blocker_id": d["blocker_id"],
                "blocked_id": d["blocked_id"],
                "active": d["active"],
            }
            for d in docs
        ]

    def export_memberships(self, after: str | None, size: int) -> list[dict[str, Any]]:
        """A page of memberships in id order, as their events carry them (``{id, version,
        group_id, member_id, role, status}``), for the search backfill (its copy of who may see a
        private group's items). A scan a page: an operator's rebuild, never a request's path."""
        query = {"_id": {"$gt": after}} if after else {}
        docs = self.memberships.aggregates.find(query).sort("_id", ASCENDING).limit(size)
        return [{"id": d["_id"], "version": d["version"], **domain.membership_view(d)} for d in docs]

    def export_groups(self, after: str | None, size: int) -> list[dict[str, Any]]:
        """Public groups only: a private group is never in a discovery index."""
        query: dict[str, Any] = {"visibility": "public"}
        if after:
            query["_id"] = {"$gt": after}
        docs = self.groups.aggregates.find(query).sort("_id", ASCENDING).limit(size)
        return [{**domain.group_view(d), "version": d["version"]} for d in docs]

    # -- groups --------------------------------------------------------------------------
    def create_group(self, creator_id: str, raw: dict[str, Any], group_id: str | None = None) -> dict[str, Any]:
        """A new group with its creator as admin. ``group_id`` (``once_id``): a request delivered
        twice returns the group it made, and finishes it if the first delivery died half way."""
        clean, errors = domain.validate_group(raw)
        if errors:
            return {"group": None, "errors": [e.to_dict() for e in errors]}
        now = domain.now_utc()
        group = domain.new_group_state(clean, creator_id, now)
        if group_id:
            group["_id"] = group_id
        # The founder's admin membership first: a crash in between leaves a harmless
        # membership of a group that never existed, never a group without an admin.
        # A conflict on either means this request's first delivery got there: go on from it.
        with contextlib.suppress(ConcurrencyConflict):
            self._commit_membership(group["_id"], creator_id, None, "admin", "active", group["city"])
        with contextlib.suppress(ConcurrencyConflict):
            self.groups.commit(group, self._event("group_created", group, group["city"], domain.group_view(group)))
        # Listed after the commit (a redelivery lists it again: the list reads each id once).
        for key in (group.get("city"), ALL_GROUPS):
            if key:
                self.groups_in.append(key, {"group_id": group["_id"]})
        return {"group": domain.group_view(self.groups.get(group["_id"]) or group), "errors": []}

    def _commit_membership(
        self, group_id: str, member_id: str, current: dict[str, Any] | None, role: str, status: str, city: str | None
    ) -> dict[str, Any]:
        if current is None:
            self.group_index.mark(member_id, group_id)  # before the first commit; after each: on_applied
            self.member_index.mark(group_id, member_id)
            self.members_of.append(group_id, {"member_id": member_id})
        if role == "admin" and (current is None or current["role"] != "admin"):
            self.admins_of.append(group_id, {"member_id": member_id})
        state = {
            "_id": f"gm:{group_id}:{member_id}",
            "version": 1 if current is None else current["version"] + 1,
            "group_id": group_id,
            "member_id": member_id,
            "role": role,
            "status": status,
            "updated_at": domain.now_utc(),
        }
        self.memberships.commit(
            state, self._event("group_membership_changed", state, city, domain.membership_view(state))
        )
        return state

    def membership(self, group_id: str, member_id: str | None) -> dict[str, Any] | None:
        if not member_id:
            return None
        return self.memberships.get(f"gm:{group_id}:{member_id}")

    def _active_role(self, group_id: str, member_id: str | None) -> str | None:
        state = self.membership(group_id, member_id)
        return state["role"] if state and state["status"] == "active" else None

    def _membership_change(self, group_id: Any, decide: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Run ``decide`` on the group, again on fresh state if a racing change won."""
        group = self.groups.get(group_id) if isinstance(group_id, str) else None
        if group is None:
            return {"membership": None, "errors": [error(("group_id",), t("No such group."), "NOT_FOUND")]}
        return retry_on_conflict(CONFLICT_ATTEMPTS, lambda: decide(group))

    def join_group(self, member_id: str, group_id: Any) -> dict[str, Any]:
        def decide(group: dict[str, Any]) -> dict[str, Any]:
            if member_id in self.blocked(group["created_by"]):
                return {"membership": None, "errors": [error(("group_id",), t("No such group."), "NOT_FOUND")]}
            current = self.membership(group["_id"], member_id)
            if current and current["status"] in ("active", "pending"):
                code = "ALREADY_MEMBER" if current["status"] == "active" else "ALREADY_REQUESTED"
                return {
                    "membership": domain.membership_view(current),
                    "errors": [error(("group_id",), t("You are in already."), code)],
                }
            status = "active" if group["join_policy"] == "open" else "pending"
            state = self._commit_membership(group["_id"], member_id, current, "member", status, group["city"])
            return {"membership": domain.membership_view(state), "errors": []}

        return self._membership_change(group_id, decide)

    def leave_group(self, member_id: str, group_id: Any) -> dict[str, Any]:
        def decide(group: dict[str, Any]) -> dict[str, Any]:
            current = self.membership(group["_id"], member_id)
            if not current or current["status"] not in ("active", "pending"):
                return {
                    "membership": None,
                    "errors": [error(("group_id",), t("You are not in this group."), "NOT_MEMBER")],
                }
            if current["role"] == "admin" and current["status"] == "active" and self._admin_count(group["_id"]) <= 1:
                message = t("Name another admin before you leave; a group needs one.")
                return {
                    "membership": domain.membership_view(current),
                    "errors": [error(("group_id",), message, "LAST_ADMIN")],
                }
            state = self._commit_membership(group["_id"], member_id, current, current["role"], "left", group["city"])
            return {"membership": domain.membership_view(state), "errors": []}

        return self._membership_change(group_id, decide)

    def _admin_count(self, group_id: str) -> int:
        """Active admins of the group: those ever made admin, their memberships by ``_id``."""
        ids = [f"gm:{group_id}:{e['member_id']}" for e in self.admins_of.all(group_id)]
        found = by_ids(self.memberships.aggregates, ids).values()
        return sum(1 for m in found if m["status"] == "active" and m["role"] == "admin")

    def group_memberships(self, group_id: str, status: str) -> list[dict[str, Any]]:
        """The group's memberships with ``status``. Active or pending (``CURRENT_STATUSES``): the
        group's snapshot, then what changed after it (``member_index``: 3 finds when nothing did,
        whatever the members ever joined), each ``{_id, version, group_id, member_id, role,
        status, at}``. Another status: its sequence of members ever joined, then
        ``gm:<group>:<member>`` by ``_id`` (grows with every member the group ever had)."""
        if status in CURRENT_STATUSES:
            return [m for m in self.member_index.read(group_id) if m["status"] == status]
        ids = [f"gm:{group_id}:{e['member_id']}" for e in self.members_of.all(group_id)]
        return [m for m in by_ids(self.memberships.aggregates, ids).values() if m["status"] == status]

    def memberships_of(self, member_id: str, statuses: tuple[str, ...]) -> list[dict[str, Any]]:
        """The member's memberships with one of ``statuses`` (among ``CURRENT_STATUSES``), each
        ``{_id, version, group_id, member_id, role, status, at}``, in the order joined (or
        rejoined): the member's snapshot, then what changed after it (``group_index``: 3 finds
        when nothing did, whatever the groups ever joined). Raises ``ValueError`` for another
        status (the snapshot keeps only current memberships)."""
        if not set(statuses) <= set(CURRENT_STATUSES):
            raise ValueError(f"statuses must be among {CURRENT_STATUSES}")
        return [m for m in self.group_index.read(member_id) if m["status"] in statuses]

    def _membership_applied(self, state: dict[str, Any]) -> None:
        """After each write of a membership (``AggregateStore.on_applied``): its member's marker
        and its group's."""
        self.group_index.mark(state["member_id"], state["group_id"])
        self.member_index.mark(state["group_id"], state["member_id"])

    def decide_request(self, admin_id: str, group_id: Any, member_id: Any, approve: bool) -> dict[str, Any]:
        def decide(group: dict[str, Any]) -> dict[str, Any]:
            if self._active_role(group["_id"], admin_id) != "admin":
                return {
                    "membership": None,
                    "errors": [error(("group_id",), t("Only the group's admins can do that."), "FORBIDDEN")],
                }
            current = self.membership(group["_id"], member_id) if isinstance(member_id, str) else None
            if not current or current["status"] != "pending":
                return {
                    "membership": None,
                    "errors": [error(("member_id",), t("No pending request from this member."), "NOT_FOUND")],
                }
            status = "active" if approve else "declined"
            state = self._commit_membership(group["_id"], member_id, current, "member", status, group["city"])
            return {"membership": domain.membership_view(state), "errors": []}

        return self._membership_change(group_id, decide)

    def set_role(self, admin_id: str, group_id: Any, member_id: Any, role: Any) -> dict[str, Any]:
        def decide(group: dict[str, Any]) -> dict[str, Any]:
            if role not in domain.ROLES:
                return {
                    "membership": None,
                    "errors": [error(("role",), t("role must be admin, moderator or member"), "INVALID")],
                }
            if self._active_role(group["_id"], admin_id) != "admin":
                return {
                    "membership": None,
                    "errors": [error(("group_id",), t("Only the group's admins can do that."), "FORBIDDEN")],
                }
            current = self.membership(group["_id"], member_id) if isinstance(member_id, str) else None
            if not current or current["status"] != "active":
                return {
                    "membership": None,
                    "errors": [error(("member_id",), t("This member is not in the group."), "NOT_MEMBER")],
                }
            if current["role"] == "admin" and role != "admin" and self._admin_count(group["_id"]) <= 1:
                message = t("A group needs an admin; name another one first.")
                return {
                    "membership": domain.membership_view(current),
                    "errors": [error(("role",), message, "LAST_ADMIN")],
                }
            if current["role"] == role:
                return {"membership": domain.membership_view(current), "errors": []}
            state = self._commit_membership(group["_id"], member_id, current, role, "active", group["city"])
            return {"membership": domain.membership_view(state), "errors": []}

        return self._membership_change(group_id, decide)

    def get_groups(self, group_ids: list[str], viewer_id: str | None) -> list[dict[str, Any] | None]:
        found = by_ids(self.groups.aggregates, group_ids)
        hidden = set(self.blocked_by(viewer_id))
        return [self._group_for(found.get(i), viewer_id, hidden) for i in group_ids]

    def _group_for(
        self, state: dict[str, Any] | None, viewer_id: str | None, hidden: set[str] | None = None
    ) -> dict[str, Any] | None:
        """The group as ``viewer_id`` sees it. ``hidden``: who blocked the viewer; they are not
        counted, as ``group_members`` does not list them, so the count and the list agree and the
        blocked viewer sees the group as if the blocker had never joined (no oracle)."""
        if state is None:
            return None
        view = domain.group_view(state)
        active = self.group_memberships(state["_id"], "active")
        view["member_count"] = len([m for m in active if m["member_id"] not in (hidden or set())])
        mine = self.membership(state["_id"], viewer_id)
        view["viewer_membership"] = domain.membership_view(mine) if mine else None
        view["members_visible"] = state["visibility"] == "public" or bool(mine and mine["status"] == "active")
        return view

    def list_groups(self, city: Any, viewer_id: str | None, first: int, after: str | None) -> dict[str, Any]:
        empty = {"edges": [], "has_next_page": False, "total": 0}
        if city is not None and city not in domain.cities.CITIES:
            return {**empty, "errors": [error(("city",), t("unknown city {city}", city=repr(city)), "UNKNOWN_CITY")]}
        try:
            start = decode_cursor(after)
        except ValueError as exc:
            return {**empty, "errors": [error(("after",), str(exc), "INVALID")]}
        # The city's (or every) group id from its sequence, then the page's groups by _id.
        ids = sorted({e["group_id"] for e in self.groups_in.all(city or ALL_GROUPS)})
        total = len(ids)
        if start is not None:
            ids = [i for i in ids if i > start]
        found = by_ids(self.groups.aggregates, ids[: first + 1])
        docs = [found[i] for i in ids[: first + 1] if i in found]
        hidden = set(self.blocked_by(viewer_id))
        edges = [
            {"cursor": encode_cursor(d["_id"]), "node": self._group_for(d, viewer_id, hidden)} for d in docs[:first]
        ]
        return {"edges": edges, "has_next_page": len(docs) > first, "total": total, "errors": []}

    def group_members(
        self, viewer_id: str | None, group_id: str, status: str, first: int, after: str | None
    ) -> dict[str, Any] | None:
        """A page of a group's members (or, for admins, pending requests); None when not allowed."""
        group = self.groups.get(group_id)
        if group is None:
            return None
        role = self._active_role(group_id, viewer_id)
        if status == "pending" and role != "admin":
            return None
        if status == "active" and group["visibility"] == "private" and role is None:
            return None
        try:
            start = decode_cursor(after)
        except ValueError:
            start = None
        hidden = set(self.blocked_by(viewer_id))
        listed = self.group_memberships(group_id, status)
        if role is None:
            # Outsiders browsing a public group's list: members in protected mode stay out of it.
            states = by_ids(self.members.aggregates, [m["member_id"] for m in listed])
            hidden |= {i for i, d in states.items() if d.get("protected")}
        rows = sorted((m for m in listed if m["member_id"] not in hidden), key=lambda m: m["_id"])
        total = len(rows)
        if start is not None:
            rows = [m for m in rows if m["_id"] > start]
        page = rows[:first]
        views = self.get_members([m["member_id"] for m in page], viewer_id)
        edges = [
            {"cursor": encode_cursor(m["_id"]), "role": m["role"], "node": view}
            for m, view in zip(page, views, strict=True)
            if view is not None
        ]
        return {"edges": edges, "has_next_page": len(rows) > first, "total": total}

    def viewer_context(self, member_id: str) -> dict[str, Any]:
        """What other services' answers depend on: who blocked the viewer, their groups' roles, and
        whether they are in protected mode (what they post is then placed at city level):
        ``{blocked, blocked_by, groups: {group_id: role}, protected}``."""
        # This runs on every signed-in request: every read below is by _id.
        rows = self.memberships_of(member_id, ("active",))
        member = self.members.aggregates.find_one({"_id": member_id}, {"protected": 1}) or {}
        return {
            **self.block_relations(member_id),
            "groups": {m["group_id"]: m["role"] for m in rows},
            "protected": bool(member.get("protected", False)),
        }

    def member_groups(self, member_id: str) -> list[dict[str, Any]]:
        rows = self.memberships_of(member_id, ("active", "pending"))
        groups = self.get_groups([m["group_id"] for m in rows], member_id)
        return [g for g in groups if g is not None]
