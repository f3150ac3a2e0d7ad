"""What moderation decides, as plain Python: reports, actions, who may see which queue. No I/O here.

A report names a subject (``SUBJECT_TYPES``) and keeps a snapshot of what was reported (its text,
author, group and city; never a location), so a moderator sees what the reporter saw even after
the author edits or deletes it. A report goes to one queue: its group's (``group:<id>``) when the
subject belongs to a group, else the network's (``network``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from parentnet_kit.fields import FieldError, control_characters
from parentnet_kit.i18n import t

SUBJECT_TYPES = ("outing", "listing", "contact", "member", "thread", "reply", "question", "answer", "message")
# Subjects whose owner applies a hide or a removal (they keep the content; moderation decides).
CONTENT_TYPES = tuple(kind for kind in SUBJECT_TYPES if kind != "member")
REASONS = (
    "spam",
    "harassment",
    "hate",
    "violence",
    "sexual",
    "child_safety",
    "privacy",
    "scam",
    "misleading",
    "other",
)
# Filed by the network itself when a member is held (``SYSTEM``): nobody picks it.
HELD = "held_for_review"
SYSTEM = "system"
CONTENT_ACTIONS = ("hide", "remove", "restore", "dismiss")
MEMBER_ACTIONS = ("warn", "suspend", "unsuspend", "release")
ACTIONS = CONTENT_ACTIONS + MEMBER_ACTIONS
# Acting on a member's account reaches beyond one group: the network's moderators only.
NETWORK_ONLY_ACTIONS = ("suspend", "unsuspend", "release")
GROUP_QUEUE_ROLES = ("admin", "moderator")
NOTE_MAX = 1_000
REASON_MAX = 500
SNAPSHOT_TEXT_MAX = 4_000
SUSPEND_MAX = timedelta(days=366)
NETWORK = "network"

# Subjects' moderation states, and the event each action publishes.
CONTENT_EVENTS = {"hide": "content_hidden", "remove": "content_removed", "restore": "content_restored"}
CONTENT_STATES = {"hide": "hidden", "remove": "removed", "restore": "visible"}
MEMBER_EVENTS = {
    "warn": "member_warned",
    "suspend": "member_suspended",
    "unsuspend": "member_unsuspended",
    "release": "member_released",
}

# What the reporter is told, per action (marked: shown in the reporter's language).
OUTCOMES = {
    "hide": t("Thank you for your report: a moderator hid what you reported."),
    "remove": t("Thank you for your report: a moderator removed what you reported."),
    "warn": t("Thank you for your report: a moderator warned the member."),
    "suspend": t("Thank you for your report: a moderator suspended the member."),
    "dismiss": t("Thank you for your report: a moderator looked at it and left it as it is."),
    "release": t("A moderator reviewed the member and released them."),
}


def queue_key(group_id: str | None) -> str:
    """The queue a report on content of ``group_id`` (None: not in a group) goes to."""
    return f"group:{group_id}" if group_id else NETWORK


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def validate_report(raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """``{subject_type, subject_id, reason, note}`` checked; ``(clean, errors)``."""
    errors: list[FieldError] = []
    subject_type = raw.get("subject_type")
    if subject_type not in SUBJECT_TYPES:
        errors.append(FieldError(("subject_id",), t("This cannot be reported."), "INVALID"))
    subject_id = raw.get("subject_id")
    if not isinstance(subject_id, str) or not subject_id:
        errors.append(FieldError(("subject_id",), t("Say what you report."), "REQUIRED"))
    reason = raw.get("reason")
    if reason not in REASONS:
        errors.append(FieldError(("reason",), t("Choose a reason."), "INVALID"))
    note = raw.get("note") or ""
    if not isinstance(note, str):
        errors.append(FieldError(("note",), t("The note must be text."), "INVALID"))
        note = ""
    note = note.strip()
    if len(note) > NOTE_MAX:
        errors.append(
            FieldError(("note",), t("The note must be at most {most} characters.", most=NOTE_MAX), "TOO_LONG")
        )
    written = raw.get("note")  # as sent: a control stripped off its ends is refused too
    hostile = control_characters(("note",), written) if isinstance(written, str) else None
    if hostile is not None:
        errors.append(hostile)
    clean = {"subject_type": subject_type, "subject_id": subject_id, "reason": reason, "note": note}
    return clean, errors


def clean_snapshot(raw: dict[str, Any]) -> dict[str, Any]:
    """What a report keeps of its subject: text, title, author, group, city. Anything else the
    caller sent (a location above all) is dropped here."""
    text = raw.get("text") if isinstance(raw.get("text"), str) else ""
    title = raw.get("title") if isinstance(raw.get("title"), str) else ""
    return {
        "title": title[:300],
        "text": text[:SNAPSHOT_TEXT_MAX],
        "author_id": raw.get("author_id") if isinstance(raw.get("author_id"), str) else None,
        "group_id": raw.get("group_id") if isinstance(raw.get("group_id"), str) else None,
        "city": raw.get("city") if isinstance(raw.get("city"), str) else None,
    }


def validate_action(raw: dict[str, Any], now: datetime) -> tuple[dict[str, Any], list[FieldError]]:
    """``{action, reason, until}`` checked: a reason is always required (it goes in the audit
    log); a suspension needs an ``until`` in the future, at most a year away."""
    errors: list[FieldError] = []
    action = raw.get("action")
    if action not in ACTIONS:
        errors.append(FieldError(("action",), t("Choose an action."), "INVALID"))
    reason = raw.get("reason")
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        errors.append(FieldError(("reason",), t("Say why: it goes in the audit log."), "REQUIRED"))
    elif len(reason) > REASON_MAX:
        errors.append(
            FieldError(("reason",), t("The reason must be at most {most} characters.", most=REASON_MAX), "TOO_LONG")
        )
    elif (hostile := control_characters(("reason",), raw["reason"])) is not None:  # as sent
        errors.append(hostile)
    until = None
    if action == "suspend":
        raw_until = raw.get("until")
        try:
            until = datetime.fromisoformat(str(raw_until).replace("Z", "+00:00")) if raw_until else None
        except ValueError:
            until = None
        if until is None or until.tzinfo is None:
            errors.append(FieldError(("until",), t("Say until when, as a date and time with its offset."), "INVALID"))
        elif until <= now:
            errors.append(FieldError(("until",), t("The end of a suspension must be in the future."), "IN_THE_PAST"))
        elif until - now > SUSPEND_MAX:
            errors.append(FieldError(("until",), t("A suspension lasts at most a year."), "OUT_OF_RANGE"))
    return {"action": action, "reason": reason, "until": until}, errors


def may_act(action: str, queue: str, network_moderator: bool, group_role: str | None) -> bool:
    """A network moderator acts on every queue; a group's admins and moderators on their group's
    queue, except on a member's account (``NETWORK_ONLY_ACTIONS``)."""
    if network_moderator:
        return True
    if queue == NETWORK or action in NETWORK_ONLY_ACTIONS:
        return False
    return group_role in GROUP_QUEUE_ROLES


def report_view(state: dict[str, Any]) -> dict[str, Any]:
    """A report as moderators see it (never who reported it)."""
    return {
        "id": state["_id"],
        "subject_type": state["subject_type"],
        "subject_id": state["subject_id"],
        "reason": state["reason"],
        "note": state["note"],
        "snapshot": dict(state["snapshot"]),
        "status": state["status"],
        "outcome": state.get("outcome"),
        "group_id": state["snapshot"].get("group_id"),
        "created_at": iso(state["created_at"]),
    }


def action_view(doc: dict[str, Any]) -> dict[str, Any]:
    """An audit log entry: who did what to what, when and why."""
    return {
        "id": doc["_id"],
        "action": doc["action"],
        "actor_id": doc["actor_id"],
        "subject_type": doc.get("subject_type"),
        "subject_id": doc.get("subject_id"),
        "member_id": doc.get("member_id"),
        "report_id": doc.get("report_id"),
        "group_id": doc.get("group_id"),
        "reason": doc["reason"],
        "until": iso(doc.get("until")),
        "at": iso(doc["at"]),
    }
