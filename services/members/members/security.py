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

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from parentnet_kit.clock import aware

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


COUNTED = ["pending", "failed"]


class Attempts:
    """Every login, registration and location query, counted over sliding windows."""

    def __init__(self, db: Database, limits: Limits) -> None:
        self.attempts: Collection = db["attempts"]
        self.known: Collection = db["known_clients"]
        self.limits = limits

    def ensure_indexes(self) -> None:
        self.attempts.create_index([("kind", ASCENDING), ("account", ASCENDING), ("at", ASCENDING)])
        self.attempts.create_index([("kind", ASCENDING), ("client", ASCENDING), ("at", ASCENDING)])
        self.attempts.create_index([("at", ASCENDING)])

    def record(self, kind: str, account: str, client: str, now: datetime) -> str:
        attempt_id = secrets.token_hex(12)
        self.attempts.insert_one(
            {"_id": attempt_id, "kind": kind, "account": account, "client": client, "at": now, "outcome": "pending"}
        )
        return attempt_id

    def settle(self, attempt_id: str, outcome: str) -> None:
        self.attempts.update_one({"_id": attempt_id}, {"$set": {"outcome": outcome}})

    def _refusal(self, query: dict[str, Any], limit: int, window: timedelta, now: datetime) -> Refusal | None:
        since = now - window
        query = {**query, "at": {"$gte": since}}
        if self.attempts.count_documents(query) <= limit:
            return None
        # Allowed again once the oldest of the last ``limit`` attempts leaves the window.
        recent = list(self.attempts.find(query, {"at": 1}).sort("at", DESCENDING).skip(limit - 1).limit(1))
        at = aware(recent[0]["at"]) if recent else now
        return Refusal(max(1, int((at + window - now).total_seconds()) + 1))

    def login_refusal(self, account: str, client: str, now: datetime) -> Refusal | None:
        counted = {"kind": "login", "outcome": {"$in": COUNTED}}
        window = self.limits.window
        refusal = self._refusal(
            {**counted, "account": account, "client": client}, self.limits.per_account_client, window, now
        )
        if refusal is None:
            refusal = self._refusal({**counted, "client": client}, self.limits.per_client, window, now)
        if refusal is None and not self.is_known(account, client, now):
            refusal = self._refusal(
                {**counted, "account": account}, self.limits.per_account_unknown_clients, window, now
            )
        return refusal

    def succeeded(self, account: str, client: str, now: datetime) -> None:
        self.attempts.update_many(
            {"kind": "login", "account": account, "client": client, "outcome": "failed"},
            {"$set": {"outcome": "cleared"}},
        )
        key = f"{account}:{client}"
        try:
            self.known.insert_one({"_id": key, "at": now})
        except DuplicateKeyError:
            self.known.update_one({"_id": key}, {"$set": {"at": now}})

    def is_known(self, account: str, client: str, now: datetime) -> bool:
        doc = self.known.find_one({"_id": f"{account}:{client}"})
        if doc is None:
            return False
        at = aware(doc["at"])
        return now - at < timedelta(days=self.limits.known_client_days)

    def rate_refusal(
        self, kind: str, account: str, client: str, limit: int, window: timedelta, now: datetime
    ) -> Refusal | None:
        """Record one use of ``kind`` by ``account`` and refuse it beyond ``limit`` per window."""
        self.record(kind, account, client, now)
        key = {"kind": kind, "account": account} if account else {"kind": kind, "client": client}
        return self._refusal(key, limit, window, now)

    def purge(self, older_than: timedelta, now: datetime) -> int:
        return self.attempts.delete_many({"at": {"$lt": now - older_than}}).deleted_count


class Sessions:
    """A login starts a session; its refresh tokens rotate, and logout revokes the session.

    A refresh token is spent by inserting its digest into ``spent_refresh_tokens``: of two
    racing uses only one insert succeeds. A second use of a spent token means it was
    stolen (or replayed), so the whole session is revoked.
    """

    def __init__(self, db: Database, refresh_ttl: timedelta) -> None:
        self.sessions: Collection = db["sessions"]
        self.tokens: Collection = db["refresh_tokens"]
        self.spent: Collection = db["spent_refresh_tokens"]
        self.refresh_ttl = refresh_ttl

    def ensure_indexes(self) -> None:
        self.sessions.create_index([("member_id", ASCENDING)])

    def start(self, member_id: str, now: datetime) -> tuple[str, str]:
        session_id = secrets.token_hex(16)
        self.sessions.insert_one({"_id": session_id, "member_id": member_id, "created_at": now, "revoked": False})
        return session_id, self._new_refresh(session_id, member_id, now)

    def _new_refresh(self, session_id: str, member_id: str, now: datetime) -> str:
        token = "pnr_" + secrets.token_urlsafe(32)
        self.tokens.insert_one(
            {
                "_id": digest(token),
                "session_id": session_id,
                "member_id": member_id,
                "expires_at": now + self.refresh_ttl,
            }
        )
        return token

    def rotate(self, token: str, now: datetime) -> tuple[str, str, str] | None:
        """Spend ``token``; returns (member id, session id, new refresh token) or None."""
        if not isinstance(token, str) or not token.startswith("pnr_"):
            return None
        key = digest(token)
        record = self.tokens.find_one({"_id": key})
        if record is None:
            return None
        try:
            self.spent.insert_one({"_id": key, "at": now})
        except DuplicateKeyError:
            self.revoke(record["session_id"], now)
            return None
        expires = aware(record["expires_at"])
        if expires <= now or not self.active(record["session_id"]):
            return None
        return (
            record["member_id"],
            record["session_id"],
            self._new_refresh(record["session_id"], record["member_id"], now),
        )

    def active(self, session_id: str) -> bool:
        doc = self.sessions.find_one({"_id": session_id}, {"revoked": 1})
        return doc is not None and not doc["revoked"]

    def member_of(self, session_id: str) -> str | None:
        doc = self.sessions.find_one({"_id": session_id}, {"member_id": 1})
        return None if doc is None else doc["member_id"]

    def revoke(self, session_id: str, now: datetime) -> None:
        self.sessions.update_one({"_id": session_id}, {"$set": {"revoked": True, "revoked_at": now}})

    def revoke_all(self, member_id: str, now: datetime) -> int:
        return self.sessions.update_many(
            {"member_id": member_id, "revoked": False}, {"$set": {"revoked": True, "revoked_at": now}}
        ).modified_count
