"""Passwords, login throttling and sessions with rotating refresh tokens.

Passwords are hashed with argon2id at OWASP's recommended minimum (19 MiB, 2 passes,
1 lane), in a real OS thread so the service's other green threads keep running. A login
for an unknown email verifies against a dummy hash, so both failures cost the same.

Throttling counts *attempts*, not requests: every call records its attempt before it
counts, so 500 aliased logins in one GraphQL request are 500 attempts, and racing
attempts see each other (an insert is atomic on MongoDB and FerretDB alike). Limits:
- per account and client address: a few failures per window;
- per client address: many failures across accounts;
- per account from clients that never logged into it: so a distributed guesser slows
  down, while the owner's known addresses are exempt and never locked out.
Every limit is a sliding window, so no one is ever locked out for good.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from parentnet_kit.clock import aware
from parentnet_kit.expiry import DueDays, markers_database
from parentnet_kit.lookups import by_ids
from parentnet_kit.sequences import Sequences

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# A hash of a random password, made once: what an unknown email is checked against.
DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(24))

Blocking = Callable[..., Any]


def _direct(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


def hash_password(password: str, run: Blocking = _direct) -> str:
    return run(HASHER.hash, password)


def verify_password(password_hash: str, password: str, run: Blocking = _direct) -> bool:
    def check() -> bool:
        try:
            return HASHER.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return run(check)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Limits:
    window: timedelta = timedelta(minutes=15)
    per_account_client: int = 5
    per_client: int = 50
    per_account_unknown_clients: int = 20
    known_client_days: int = 90
    registrations_per_client_hour: int = 20
    nearby_per_account_hour: int = 120
    home_moves_per_day: int = 5

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Limits:
        def get(name: str, default: int) -> int:
            return int(config.get(name) or default)

        base = cls()
        return cls(
            window=timedelta(seconds=get("LOGIN_WINDOW_SECONDS", int(base.window.total_seconds()))),
            per_account_client=get("LOGIN_LIMIT_ACCOUNT_CLIENT", base.per_account_client),
            per_client=get("LOGIN_LIMIT_CLIENT", base.per_client),
            per_account_unknown_clients=get("LOGIN_LIMIT_ACCOUNT", base.per_account_unknown_clients),
            registrations_per_client_hour=get("REGISTRATIONS_PER_CLIENT_HOUR", base.registrations_per_client_hour),
            nearby_per_account_hour=get("NEARBY_QUERIES_PER_HOUR", base.nearby_per_account_hour),
            home_moves_per_day=get("HOME_MOVES_PER_DAY", base.home_moves_per_day),
        )


@dataclass(frozen=True)
class Refusal:
    retry_after_seconds: int


COUNTED = ("pending", "failed")
DAYS_KEPT = 2  # attempt collections older than this are dropped by the hourly purge


def _read_max(limit: int) -> int:
    """How many attempts of a key one check reads at most, whatever their outcome."""
    return 3 * limit + 20


@dataclass(frozen=True)
class Attempt:
    """One recorded attempt: the day collection it is in and its entries' ``_id``s there."""

    day: str
    entries: tuple[str, ...]


class Attempts:
    """Every login, registration and location query, counted over sliding windows.

    Stored as per-key sequences (``parentnet_kit.sequences``) in one collection per UTC day,
    ``attempts_<YYYYMMDD>``, so that a check reads by ``_id`` only, newest first, and stops at
    the window's start, whatever the volume (FerretDB scans a collection for any other filter;
    docs/store.md). A login appends one entry to each of three keys (account+client, client,
    account), entries ``{at, outcome}``; its outcome is then written to the three by ``_id``.
    The purge drops whole day collections: it never reads an attempt.

    A check reads newest first until it has found ``limit + 1`` counted attempts (refused), the
    window's start (allowed) or ``3 * limit + 20`` attempts of any outcome (refused too: that
    many attempts inside one window is hammering, whatever their outcome), so it is bounded.
    """

    def __init__(self, db: Database, limits: Limits) -> None:
        self.db = db
        self.known: Collection = db["known_clients"]
        # A known client is forgotten ``known_client_days`` after its last sign-in: each
        # sign-in marks the day that falls on (``parentnet_kit.expiry``), and ``expire_known``
        # reads only the days that are over.
        self.known_due = DueDays(db, "known_clients_expiring")
        self.limits = limits

    def ensure_indexes(self) -> None:
        """Nothing to index: every read is by ``_id``."""

    def _known_until(self, at: datetime) -> datetime:
        return at + timedelta(days=self.limits.known_client_days)

    def expire_known(self, now: datetime, limit: int = 500) -> int:
        """Forget the clients not signed in from for ``known_client_days`` (by the UTC day that
        falls on); returns how many markers were handled. A client that signed in since is kept
        (its newer sign-in marked a later day)."""

        def forget(markers: list[dict[str, Any]]) -> None:
            for marker in markers:
                doc = self.known.find_one({"_id": marker["_id"]})
                if doc is not None and self._known_until(aware(doc["at"])) <= now:
                    self.known.delete_one({"_id": marker["_id"]})

        # Once per database: the known clients from before the markers (one read of them).
        self.known_due.adopt(
            "known_clients:expiry",
            lambda: ((self._known_until(aware(d["at"])), d["_id"], {}) for d in self.known.find({}, {"at": 1})),
        )
        return self.known_due.sweep(now, forget, limit)

    @staticmethod
    def _day(at: datetime) -> str:
        return at.strftime("%Y%m%d")

    def _sequences(self, day: str) -> Sequences:
        return Sequences(self.db[f"attempts_{day}"])

    @staticmethod
    def _keys(kind: str, account: str, client: str) -> list[str]:
        if kind == "login":
            return [f"login|ac|{account}|{client}", f"login|c|{client}", f"login|a|{account}"]
        return [f"{kind}|a|{account}" if account else f"{kind}|c|{client}"]

    def record(self, kind: str, account: str, client: str, now: datetime) -> Attempt:
        """Record one attempt, pending, under each key it counts for (before it is checked, so
        racing attempts see each other)."""
        day = self._day(now)
        sequences = self._sequences(day)
        entries = []
        for key in self._keys(kind, account, client):
            n = sequences.append(key, {"at": now, "outcome": "pending"})
            entries.append(sequences.entry_id(key, n))
        if len(entries) > 1:
            # The first key's entry names its siblings, so a success can clear all three.
            sequences.collection.update_one({"_id": entries[0]}, {"$set": {"also": entries[1:]}})
        return Attempt(day, tuple(entries))

    def settle(self, attempt: Attempt, outcome: str) -> None:
        """Write the outcome (ok, failed, refused) into the attempt's entries, by ``_id``."""
        collection = self._sequences(attempt.day).collection
        for entry_id in attempt.entries:
            collection.update_one({"_id": entry_id}, {"$set": {"outcome": outcome}})

    def _newest_first(self, key: str, since: datetime, now: datetime) -> Iterator[tuple[str, dict[str, Any]]]:
        """The entries of ``key`` at or after ``since``, newest first, with their day."""
        day = now.date()
        while day >= since.date():
            name = day.strftime("%Y%m%d")
            for entry in self._sequences(name).newest_first(key):
                if aware(entry["at"]) < since:
                    return
                yield name, entry
            day -= timedelta(days=1)

    def _refusal(self, key: str, limit: int, window: timedelta, now: datetime, counted: bool) -> Refusal | None:
        """Refuse when more than ``limit`` attempts of ``key`` (of a counted outcome when
        ``counted``) are in the window ending ``now``; retry once the ``limit``-th newest leaves."""
        hits: list[datetime] = []
        for read, (_, entry) in enumerate(self._newest_first(key, now - window, now), start=1):
            if not counted or entry.get("outcome", "pending") in COUNTED:
                hits.append(aware(entry["at"]))
                if len(hits) > limit:
                    return Refusal(max(1, int((hits[limit - 1] + window - now).total_seconds()) + 1))
            if read >= _read_max(limit):
                return Refusal(max(1, int((aware(entry["at"]) + window - now).total_seconds()) + 1))
        return None

    def login_refusal(self, account: str, client: str, now: datetime) -> Refusal | None:
        window = self.limits.window
        by_account_client, by_client, by_account = self._keys("login", account, client)
        refusal = self._refusal(by_account_client, self.limits.per_account_client, window, now, counted=True)
        if refusal is None:
            refusal = self._refusal(by_client, self.limits.per_client, window, now, counted=True)
        if refusal is None and not self.is_known(account, client, now):
            refusal = self._refusal(by_account, self.limits.per_account_unknown_clients, window, now, counted=True)
        return refusal

    def succeeded(self, account: str, client: str, now: datetime, attempt: Attempt) -> None:
        """Clear the failures of this account+client inside the window (under all three keys),
        and remember the client as known. Reads back to the previous success only (``attempt``,
        this sign-in's own, settled ``ok`` already, is passed over): that one cleared what came
        before it, so a member who signs in often costs no more reads than one who rarely does."""
        key = self._keys("login", account, client)[0]
        own = set(attempt.entries)
        for day, entry in self._newest_first(key, now - self.limits.window, now):
            if entry["_id"] in own:
                continue
            if entry.get("outcome") == "ok":
                break
            if entry.get("outcome") != "failed":
                continue
            collection = self._sequences(day).collection
            for entry_id in (entry["_id"], *entry.get("also", [])):
                collection.update_one({"_id": entry_id}, {"$set": {"outcome": "cleared"}})
        known = f"{account}:{client}"
        self.known_due.mark(self._known_until(now), known, {})
        try:
            self.known.insert_one({"_id": known, "at": now})
        except DuplicateKeyError:
            self.known.update_one({"_id": known}, {"$set": {"at": now}})

    def is_known(self, account: str, client: str, now: datetime) -> bool:
        doc = self.known.find_one({"_id": f"{account}:{client}"})
        if doc is None:
            return False
        at = aware(doc["at"])
        return now - at < timedelta(days=self.limits.known_client_days)

    def rate_refusal(
        self, kind: str, account: str, client: str, limit: int, window: timedelta, now: datetime
    ) -> Refusal | None:
        """Record one use of ``kind`` by ``account`` (or, without one, by ``client``) and refuse
        it beyond ``limit`` per ``window``; every use counts, refused ones too."""
        self.record(kind, account, client, now)
        return self._refusal(self._keys(kind, account, client)[0], limit, window, now, counted=False)

    def purge(self, older_than: timedelta, now: datetime) -> int:
        """Drop the day collections entirely older than ``older_than`` (and the one collection
        of attempts from before the day collections); returns how many were dropped."""
        oldest_kept = self._day(now - older_than)
        dropped = 0
        for name in self.db.list_collection_names():
            day = name.removeprefix("attempts_")
            if name == "attempts" or (day != name and day.isdigit() and day < oldest_kept):
                self.db.drop_collection(name)
                dropped += 1
        return dropped


_TOKEN_DAY = re.compile(r"^pnr_(\d{8})_[A-Za-z0-9_-]{20,}$")


class Sessions:
    """A login starts a session; its refresh tokens rotate, and logout revokes the session.

    A refresh token is spent by inserting its digest into the spent tokens: of two racing uses
    only one insert succeeds. A second use of a spent token means it was stolen (or replayed),
    so the whole session is revoked.

    Every rotation writes a token and spends one, so both are kept by the day the token expires
    (``pnr_<YYYYMMDD>_<random>``: ``refresh_tokens_<day>``, ``spent_refresh_tokens_<day>``) and the
    hourly purge drops the days that are over without reading them. Tokens from before the days
    (``pnr_<random>``) stay in ``refresh_tokens`` / ``spent_refresh_tokens``, dropped whole once
    the last of them has expired (``legacy_refresh_until``, one refresh lifetime after the first
    start of this code).

    A session is over once its newest refresh token has expired: the session holds that moment
    (``expires_at``), and every new token marks its day (``parentnet_kit.expiry``,
    ``sessions_expiring_<YYYYMMDD>``), so ``expire`` deletes the sessions that are over, reading
    only the days that are over. Revoked ones go the same way (their access tokens expired long
    before). The member's list of sessions (``member_session_ids``) keeps its entries: "sign out
    everywhere" skips those whose session is gone.
    """

    def __init__(self, db: Database, refresh_ttl: timedelta) -> None:
        self.db = db
        self.sessions: Collection = db["sessions"]
        self.tokens: Collection = db["refresh_tokens"]
        self.spent: Collection = db["spent_refresh_tokens"]
        # member -> {session_id}, appended before the session: "sign out everywhere" reads it by
        # _id instead of scanning every session ever started (a dangling entry is skipped).
        self.sessions_of = Sequences(db["member_session_ids"], cache_keys=10_000)
        self.refresh_ttl = refresh_ttl
        self.due = DueDays(db, "sessions_expiring")
        # The token days (~60: tokens and spent tokens, 30 days each) are kept beside the expiry
        # markers, not here: FerretDB lists every collection of a database on each find, so
        # each would cost every read of members (parentnet_kit.expiry). Days written here by
        # earlier code are still read, then dropped once over.
        self.token_days = markers_database(db)

    def ensure_indexes(self) -> None:
        """Nothing to index: every read is by ``_id``. Records when the legacy token collections
        may go (once)."""
        with contextlib.suppress(DuplicateKeyError):
            self.db["legacy_refresh_until"].insert_one({"_id": "until", "at": datetime.now(UTC) + self.refresh_ttl})

    def expire(self, now: datetime, limit: int = 500) -> int:
        """Delete the sessions whose newest refresh token expired (by the UTC day it did);
        returns how many markers were handled. A session refreshed since is kept: its newer
        token moved ``expires_at`` and marked a later day."""

        def over(markers: list[dict[str, Any]]) -> None:
            for marker in markers:
                doc = self.sessions.find_one({"_id": marker["_id"]}, {"expires_at": 1})
                # Without ``expires_at``: from before it, not refreshed since (a refresh sets it),
                # so its last token expired by the day its marker was written for.
                if doc is not None and ("expires_at" not in doc or aware(doc["expires_at"]) <= now):
                    self.sessions.delete_one({"_id": marker["_id"]})

        # Once per database: the sessions from before ``expires_at`` are marked for a refresh
        # lifetime from now, the latest any token they hold can expire (one read of them).
        self.due.adopt(
            "sessions:expiry",
            lambda: (
                (now + self.refresh_ttl, d["_id"], {})
                for d in self.sessions.find({}, {"expires_at": 1})
                if "expires_at" not in d
            ),
        )
        return self.due.sweep(now, over, limit)

    def _collections(self, token: str, days: Database | None = None) -> tuple[Collection, Collection]:
        """(tokens, spent) where ``token`` is kept: its expiry day's (in ``days``, by default the
        token days' database), or the legacy ones."""
        day = _TOKEN_DAY.match(token)
        if day is None:
            return self.tokens, self.spent
        days = self.token_days if days is None else days
        return days[f"refresh_tokens_{day.group(1)}"], days[f"spent_refresh_tokens_{day.group(1)}"]

    def purge(self, now: datetime) -> int:
        """Drop the token days that are over (and the legacy collections once their last token
        expired); returns how many collections went. Reads no token."""
        today = f"{now:%Y%m%d}"
        dropped = 0
        for db in (self.token_days, self.db):  # and the days earlier code wrote beside members
            for name in db.list_collection_names():
                day = re.fullmatch(r"(?:spent_)?refresh_tokens_(\d{8})", name)
                if day and day.group(1) < today:
                    db.drop_collection(name)
                    dropped += 1
        until = self.db["legacy_refresh_until"].find_one({"_id": "until"})
        if until is not None and aware(until["at"]) <= now:
            for name in ("refresh_tokens", "spent_refresh_tokens"):
                if name in self.db.list_collection_names():
                    self.db.drop_collection(name)
                    dropped += 1
        return dropped

    def adopt(self) -> None:
        """Once per database: index the sessions started before ``sessions_of`` (one read)."""
        adopted = self.sessions.database["sequences_adopted"]
        if adopted.find_one({"_id": "sessions"}) is not None:
            return
        by_member: dict[str, list[dict[str, Any]]] = {}
        for doc in self.sessions.find({"revoked": False}, {"member_id": 1}):
            by_member.setdefault(doc["member_id"], []).append({"session_id": doc["_id"]})
        for member_id, entries in by_member.items():
            self.sessions_of.extend(member_id, entries)
        with contextlib.suppress(DuplicateKeyError):
            adopted.insert_one({"_id": "sessions", "at": datetime.now(UTC)})

    def start(self, member_id: str, now: datetime) -> tuple[str, str]:
        session_id = secrets.token_hex(16)
        self.sessions_of.append(member_id, {"session_id": session_id})
        expires = now + self.refresh_ttl
        self.sessions.insert_one(
            {"_id": session_id, "member_id": member_id, "created_at": now, "revoked": False, "expires_at": expires}
        )
        return session_id, self._new_refresh(session_id, member_id, now)

    def _new_refresh(self, session_id: str, member_id: str, now: datetime) -> str:
        expires = now + self.refresh_ttl
        self.due.mark(expires, session_id, {})
        token = f"pnr_{expires.astimezone(UTC):%Y%m%d}_{secrets.token_urlsafe(32)}"
        tokens, _ = self._collections(token)
        tokens.insert_one(
            {"_id": digest(token), "session_id": session_id, "member_id": member_id, "expires_at": expires}
        )
        return token

    def rotate(self, token: str, now: datetime) -> tuple[str, str, str] | None:
        """Spend ``token``; returns (member id, session id, new refresh token) or None."""
        if not isinstance(token, str) or not token.startswith("pnr_"):
            return None
        key = digest(token)
        tokens, spent = self._collections(token)
        record = tokens.find_one({"_id": key})
        if record is None and _TOKEN_DAY.match(token):  # issued by earlier code, beside members
            tokens, spent = self._collections(token, self.db)
            record = tokens.find_one({"_id": key})
        if record is None:
            return None
        try:
            spent.insert_one({"_id": key, "at": now})
        except DuplicateKeyError:
            self.revoke(record["session_id"], now)
            return None
        expires = aware(record["expires_at"])
        if expires <= now or not self.active(record["session_id"]):
            return None
        refresh = self._new_refresh(record["session_id"], record["member_id"], now)
        # Raised after the new token exists: a sweep in between finds the old moment, not over.
        self.sessions.update_one({"_id": record["session_id"]}, {"$max": {"expires_at": now + self.refresh_ttl}})
        return record["member_id"], record["session_id"], refresh

    def active(self, session_id: str) -> bool:
        doc = self.sessions.find_one({"_id": session_id}, {"revoked": 1})
        return doc is not None and not doc["revoked"]

    def member_of(self, session_id: str) -> str | None:
        doc = self.sessions.find_one({"_id": session_id}, {"member_id": 1})
        return None if doc is None else doc["member_id"]

    def revoke(self, session_id: str, now: datetime) -> None:
        self.sessions.update_one({"_id": session_id}, {"$set": {"revoked": True, "revoked_at": now}})

    def revoke_all(self, member_id: str, now: datetime) -> int:
        """Revoke every live session of the member; returns how many were live."""
        ids = [e["session_id"] for e in self.sessions_of.all(member_id)]
        live = [s for s in by_ids(self.sessions, ids).values() if not s["revoked"] and s["member_id"] == member_id]
        for session in live:
            self.revoke(session["_id"], now)
        return len(live)
