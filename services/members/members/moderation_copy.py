"""The members service's copy of moderation's suspensions (``parentnet_kit.moderation_copy``):
``member_suspended`` / ``member_unsuspended`` into ``moderation_suspensions`` (the highest
version wins, so a redelivered or late event changes nothing), read by ``_id`` when a member
proposes something to others (a group). Members owns no content moderation hides: profiles are
warned or suspended, not hidden. Fed by queue ``members.moderation``."""

from __future__ import annotations

from typing import Any

from parentnet_kit.moderation_copy import ModerationCopy


def copy(config: dict[str, Any]) -> ModerationCopy:
    return ModerationCopy(config, "MEMBERS_DB", "members", {})
