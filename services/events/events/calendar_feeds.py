"""Secret calendar feed tokens: one per member (and one per member and private group), revocable.

A feed URL is a bearer secret (calendar apps cannot sign in), as Mobilizon's feed tokens are:
whoever holds it reads the feed, so the member can rotate it (a new URL, the old one dead) or
revoke it. Only a token's SHA-256 is stored: a copy of the database names no working URL.

Two documents, both read by ``_id`` (docs/store.md): ``calendar_feeds`` ``{_id: <hash>}`` says
whose feed a token opens; ``calendar_feed_owners`` ``{_id: "<member>:<group or ->"}`` names the
owner's current hash. A token opens its feed only while its owner's document still names it, so
a rotation that races another leaves exactly one working token (the last one written), and a
revocation needs nothing else to be right.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

from pymongo.database import Database

from parentnet_kit import upserts

# 256 bits, URL-safe: the token is the whole secret of the URL.
TOKEN_BYTES = 32


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _owner_key(member_id: str, group_id: str | None) -> str:
    return f"{member_id}:{group_id or '-'}"


class CalendarFeeds:
    def __init__(self, db: Database) -> None:
        self.feeds = db["calendar_feeds"]
        self.owners = db["calendar_feed_owners"]

    def rotate(self, member_id: str, group_id: str | None = None) -> dict[str, Any]:
        """A new token for the member's feed (of ``group_id`` when given); the previous one stops
        working. ``{token, replaced}``: the token is shown once (only its hash is kept);
        ``replaced`` says whether a previous one stopped working."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        digest = _hash(token)
        now = datetime.now(UTC)
        self.feeds.insert_one({"_id": digest, "member_id": member_id, "group_id": group_id, "created_at": now})
        key = _owner_key(member_id, group_id)
        previous = self.owners.find_one({"_id": key})
        # Two first rotations may race (the loser writes again over the winner's): the last write
        # wins, and the resolver opens only the token its owner's document names.
        upserts.replace(self.owners, key, {"_id": key, "hash": digest, "at": now})
        if previous is not None and previous["hash"] != digest:
            self.feeds.delete_one({"_id": previous["hash"]})
        return {"token": token, "replaced": previous is not None}

    def revoke(self, member_id: str, group_id: str | None = None) -> bool:
        """The member's feed token stops working; False when there was none."""
        key = _owner_key(member_id, group_id)
        previous = self.owners.find_one({"_id": key})
        if previous is None:
            return False
        self.owners.delete_one({"_id": key})
        self.feeds.delete_one({"_id": previous["hash"]})
        return True

    def resolve(self, token: str) -> dict[str, Any] | None:
        """``{member_id, group_id}`` for a working token; None for an unknown, rotated or revoked one."""
        if not isinstance(token, str) or not 20 <= len(token) <= 100:
            return None
        digest = _hash(token)
        feed = self.feeds.find_one({"_id": digest})
        if feed is None:
            return None
        owner = self.owners.find_one({"_id": _owner_key(feed["member_id"], feed.get("group_id"))})
        if owner is None or owner["hash"] != digest:
            return None
        return {"member_id": feed["member_id"], "group_id": feed.get("group_id")}
