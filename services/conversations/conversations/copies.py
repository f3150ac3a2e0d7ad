"""This service's copies of other services' facts, fed by their events: groups, memberships
and blocks (members), suspensions and holds (moderation). Who may read a private group's
thread, who is an admin, who blocked whom comes from here, never from the caller's word.

Each copy is a document by ``_id`` (the owner's aggregate id: ``gm:<group>:<member>``,
``block:<blocker>:<blocked>``) holding the event's ``version``; an event is applied only when
its version is newer than the copy's, so a repeated or late event changes nothing (at most
once). A group's members and a member's groups are per-key sequences (``kit.sequences``),
appended the first time a membership is seen (a racing duplicate entry is skipped on read),
so every read is by ``_id``.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from parentnet_kit.clock import aware
from parentnet_kit.envelope import Event
from parentnet_kit.lookups import by_ids
from parentnet_kit.sequences import Sequences

MEMBERS_EVENTS = ("group_created", "group_membership_changed", "member_blocked", "member_unblocked")
MODERATION_EVENTS = (
    "content_hidden",
    "content_removed",
    "content_restored",
    "member_suspended",
    "member_unsuspended",
    "member_held",
    "member_released",
)


class Copies:
    def __init__(self, db: Database) -> None:
        self.groups = db["groups"]
        self.memberships = db["memberships"]
        self.blocks = db["blocks"]
        self.suspensions = db["suspensions"]
        self.holds = db["holds"]
        self.group_members = Sequences(db["group_member_ids"], cache_keys=2_000)
        self.member_groups = Sequences(db["member_group_ids"], cache_keys=10_000)

    # -- applying events -------------------------------------------------------------------
    def _newer(self, collection: Any, doc_id: str, version: int, doc: dict[str, Any]) -> bool:
        """Store ``doc`` as the copy of ``doc_id`` at ``version`` unless the copy is as new;
        True when stored."""
        current = collection.find_one({"_id": doc_id}, {"version": 1})
        if current is None:
            try:
                collection.insert_one({**doc, "_id": doc_id, "version": version})
                return True
            except DuplicateKeyError:
                current = collection.find_one({"_id": doc_id}, {"version": 1})
        if current is not None and current["version"] >= version:
            return False
        collection.replace_one({"_id": doc_id}, {**doc, "version": version})
        return True

    def apply_members(self, event: Event) -> None:
        data = event.data
        if event.type == "group_created":
            doc = {"city": data["city"], "visibility": data["visibility"], "name": data.get("name", "")}
            self._newer(self.groups, event.aggregate_id, event.version, doc)
        elif event.type == "group_membership_changed":
            group_id, member_id = data["group_id"], data["member_id"]
            if self.memberships.find_one({"_id": event.aggregate_id}, {"_id": 1}) is None:
                # Indexed before the copy (a crash between leaves an entry whose copy is missing: skipped).
                self.group_members.append(group_id, {"member_id": member_id})
                self.member_groups.append(member_id, {"group_id": group_id})
            doc = {"group_id": group_id, "member_id": member_id, "role": data["role"], "status": data["status"]}
            self._newer(self.memberships, event.aggregate_id, event.version, doc)
        elif event.type in ("member_blocked", "member_unblocked"):
            doc = {"blocker_id": data["blocker_id"], "blocked_id": data["blocked_id"], "active": bool(data["active"])}
            self._newer(self.blocks, event.aggregate_id, event.version, doc)

    def apply_moderation(self, event: Event) -> None:
        data = event.data
        if event.type == "member_suspended":
            until = datetime.fromisoformat(str(data["until"]).replace("Z", "+00:00"))
            self._newer(self.suspensions, data["member_id"], event.version, {"until": until})
        elif event.type == "member_unsuspended":  # lifted before its end: no end to wait for
            self._newer(self.suspensions, data["member_id"], event.version, {"until": None})
        elif event.type in ("member_held", "member_released"):
            self._newer(self.holds, data["member_id"], event.version, {"held": event.type == "member_held"})

    # -- reading ---------------------------------------------------------------------------
    def group(self, group_id: str) -> dict[str, Any] | None:
        return self.groups.find_one({"_id": group_id}) if isinstance(group_id, str) else None

    def role(self, group_id: str, member_id: str | None) -> str | None:
        """The member's role in the group while active (``member``, ``admin``...), else None."""
        if not member_id:
            return None
        doc = self.memberships.find_one({"_id": f"gm:{group_id}:{member_id}"})
        return doc["role"] if doc and doc["status"] == "active" else None

    def may_read(self, group: dict[str, Any] | None, member_id: str | None) -> bool:
        if group is None:
            return False
        return group["visibility"] == "public" or self.role(group["_id"], member_id) is not None

    def active_members(self, group_id: str) -> list[str]:
        """Every active member of the group (a read per member ever joined: grows with the group)."""
        ids = list(dict.fromkeys(e["member_id"] for e in self.group_members.all(group_id)))
        found = by_ids(self.memberships, [f"gm:{group_id}:{m}" for m in ids])
        return [m for m in ids if (found.get(f"gm:{group_id}:{m}") or {}).get("status") == "active"]

    def share_a_group(self, a: str, b: str) -> bool:
        groups = list(dict.fromkeys(e["group_id"] for e in self.member_groups.all(a)))
        if not groups:
            return False
        mine = by_ids(self.memberships, [f"gm:{g}:{a}" for g in groups])
        active = [g for g in groups if (mine.get(f"gm:{g}:{a}") or {}).get("status") == "active"]
        theirs = by_ids(self.memberships, [f"gm:{g}:{b}" for g in active])
        return any(d.get("status") == "active" for d in theirs.values())

    def blocked(self, blocker_id: str, blocked_id: str) -> bool:
        doc = self.blocks.find_one({"_id": f"block:{blocker_id}:{blocked_id}"})
        return bool(doc and doc["active"])

    def suspended_until(self, member_id: str, now: datetime) -> datetime | None:
        doc = self.suspensions.find_one({"_id": member_id})
        if doc is None or doc.get("until") is None:
            return None
        until = aware(doc["until"])
        return until if until > now else None

    def held(self, member_id: str) -> bool:
        doc = self.holds.find_one({"_id": member_id})
        return bool(doc and doc["held"])


def record_applied(db: Database, event_id: str) -> bool:
    """Remember an event applied whose effect is not a versioned copy; False when it was already."""
    with contextlib.suppress(DuplicateKeyError):
        db["applied_events"].insert_one({"_id": event_id})
        return True
    return False
