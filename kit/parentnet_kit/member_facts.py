"""What a service needs to know about a member to authorize a request, asked of the owner.

Group roles, group visibility, blocks and protected mode belong to the members service. A
service deciding who may do what asks it (``members.viewer_context``, ``members.get_groups``:
reads by ``_id`` there) instead of taking a caller's word. A copy fed by members' events would
lag: a block or a removed admin must apply to the very next request, and a copy a second
behind would still let the blocked member reserve or the former admin cancel.

``MemberFacts`` wraps a nameko ``RpcProxy("members")`` (or anything with the same two methods)
and asks once per member per worker, so one request costs at most one call per member it is
about. No nameko import here.
"""

from __future__ import annotations

from typing import Any, Protocol


class MembersRpc(Protocol):
    """The members service's methods this needs (a nameko ``RpcProxy("members")``)."""

    def viewer_context(self, member_id: str) -> dict[str, Any]: ...

    def get_groups(self, group_ids: list[str], viewer_id: str | None = None) -> list[dict[str, Any] | None]: ...


class MemberFacts:
    """One worker's questions to the members service, each asked at most once."""

    def __init__(self, members: MembersRpc) -> None:
        self.members = members
        self._contexts: dict[str, dict[str, Any]] = {}

    def context(self, member_id: str) -> dict[str, Any]:
        """``{blocked: [ids], blocked_by: [ids], groups: {group id: role}, protected: bool}``."""
        if member_id not in self._contexts:
            self._contexts[member_id] = self.members.viewer_context(member_id)
        return self._contexts[member_id]

    def role(self, group_id: str | None, member_id: str | None) -> str | None:
        """The member's role in the group ("admin", "member"), None when not an active member."""
        if not group_id or not member_id:
            return None
        return self.context(member_id)["groups"].get(group_id)

    def is_admin(self, group_id: str, member_id: str) -> bool:
        return self.role(group_id, member_id) == "admin"

    def groups(self, member_id: str | None) -> list[str]:
        """The groups the member is an active member of (none for nobody)."""
        return sorted(self.context(member_id)["groups"]) if member_id else []

    def blocked_by(self, member_id: str | None) -> list[str]:
        """Who blocked the member: none of theirs may show to them."""
        return sorted(self.context(member_id)["blocked_by"]) if member_id else []

    def apart(self, member_id: str) -> list[str]:
        """Members the member blocked or was blocked by: never matched or shown to each other."""
        context = self.context(member_id)
        return sorted(set(context.get("blocked", [])) | set(context.get("blocked_by", [])))

    def protected(self, member_id: str) -> bool:
        """The member is in protected mode (what they post is placed at city level)."""
        return bool(self.context(member_id).get("protected", False))

    def group_visibility(self, group_id: str) -> str | None:
        """ "public" or "private"; None for a group that does not exist."""
        found = self.members.get_groups([group_id], None)
        group = found[0] if found else None
        return group.get("visibility") if group else None
