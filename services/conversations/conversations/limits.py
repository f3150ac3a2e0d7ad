"""Limits against abuse: posts, answers, messages and message requests per member per hour, and
messages into a request its recipient has not accepted yet.

The members service's throttling shape (docs/store.md, *Round 2*): each attempt is an entry of
a per-key sequence in the collection of its UTC day (``limits_<YYYYMMDD>``, key
``<kind>:<member>``), recorded *before* it is counted, so racing attempts see each other and
none is lost; a check reads that key newest first, today's then yesterday's, until the hour's
start or ``limit`` entries. Nothing but ``_id`` lookups; old days are dropped whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database

from parentnet_kit.clock import aware
from parentnet_kit.sequences import Sequences

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Limits:
    """How many of each a member may do in any hour."""

    posts_per_hour: int = 30
    answers_per_hour: int = 30
    requests_per_hour: int = 10
    messages_per_hour: int = 60
    # Messages a request may hold before its recipient accepts it (the first one included).
    messages_per_request: int = 3

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Limits:
        return cls(
            int(config.get("POSTS_PER_HOUR", cls.posts_per_hour)),
            int(config.get("ANSWERS_PER_HOUR", cls.answers_per_hour)),
            int(config.get("MESSAGE_REQUESTS_PER_HOUR", cls.requests_per_hour)),
            int(config.get("MESSAGES_PER_HOUR", cls.messages_per_hour)),
            int(config.get("MESSAGES_PER_REQUEST", cls.messages_per_request)),
        )

    def of(self, kind: str) -> int:
        return {
            "post": self.posts_per_hour,
            "answer": self.answers_per_hour,
            "request": self.requests_per_hour,
            "message": self.messages_per_hour,
        }[kind]


class RateLimiter:
    def __init__(self, db: Database, limits: Limits) -> None:
        self.db = db
        self.limits = limits

    def _day(self, moment: datetime) -> Sequences:
        return Sequences(self.db[f"limits_{moment:%Y%m%d}"])

    def allow(self, kind: str, member_id: str, now: datetime) -> bool:
        """Record one ``kind`` (``post``, ``answer``, ``request``, ``message``) by the member now; False when it
        is beyond the hour's limit (that attempt counts too: hammering stays refused)."""
        key, limit = f"{kind}:{member_id}", self.limits.of(kind)
        self._day(now).append(key, {"at": now})
        start, seen = now - HOUR, 0
        for day in (now, now - timedelta(days=1)):
            if day.date() < start.date():
                break
            for entry in self._day(day).newest_first(key):
                if aware(entry["at"]) <= start:
                    return seen <= limit
                seen += 1
                if seen > limit:
                    return False
        return seen <= limit

    def purge(self, now: datetime) -> int:
        """Drop the day collections older than yesterday; returns how many."""
        keep = {f"limits_{now:%Y%m%d}", f"limits_{now - timedelta(days=1):%Y%m%d}"}
        dropped = 0
        for name in self.db.list_collection_names():
            if name.startswith("limits_") and name not in keep:
                self.db.drop_collection(name)
                dropped += 1
        return dropped
