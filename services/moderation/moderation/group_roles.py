"""The moderation service's copy of group roles, from members' events: who may work a group's queue.

``group_membership_changed`` carries ``{group_id, member_id, role, status}``; each is kept as
``group_roles`` ``{_id: "<group>:<member>", role, status, version}``, replaced only by a higher
version of the membership (a repeated or late event changes nothing). ``group_created`` is kept as
``groups`` ``{_id: <group>, city, visibility}``. Reads are by ``_id``; roles never come from a
caller's word.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from parentnet_kit.envelope import Event


class GroupRoles:
    def __init__(self, db: Database) -> None:
        self.roles = db["group_roles"]
        self.groups = db["groups"]

    def role(self, group_id: str | None, member_id: str | None) -> str | None:
        """The member's active role in the group (``admin``, ``moderator``, ``member``), or None."""
        if not group_id or not member_id:
            return None
        doc = self.roles.find_one({"_id": f"{group_id}:{member_id}"})
        return doc["role"] if doc and doc.get("status") == "active" else None

    def apply(self, event: Event) -> bool:
        """Apply one members event; False for another kind of event or one applied already."""
        if event.type == "group_created":
            data = event.data
            doc = {"_id": data["id"], "city": data.get("city"), "visibility": data.get("visibility")}
            try:
                self.groups.insert_one(doc)
            except DuplicateKeyError:
                return False
            return True
        if event.type != "group_membership_changed":
            return False
        data: dict[str, Any] = event.data
        key = f"{data['group_id']}:{data['member_id']}"
        doc = {"_id": key, "role": data["role"], "status": data["status"], "version": event.version}
        current = self.roles.find_one({"_id": key}, {"version": 1})
        if current is None:
            try:
                self.roles.insert_one(doc)
                return True
            except DuplicateKeyError:
                current = self.roles.find_one({"_id": key}, {"version": 1})
        if current is not None and current["version"] >= event.version:
            return False
        self.roles.replace_one({"_id": key}, doc)
        return True
