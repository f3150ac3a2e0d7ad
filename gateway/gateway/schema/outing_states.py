"""The enums that filter outing lists ("my outings", a group's outings): kept apart from the
types, so that members.py can name them in its fields without importing outings.py."""

from __future__ import annotations

from .base import enum

MemberOutingState = enum(
    "MemberOutingState",
    "Where you stand with an outing, as the list of your outings shows it.",
    [
        ("ORGANIZING", "organizing", "You proposed it, and it is not over yet (it may have been cancelled)."),
        ("GOING", "going", "You have a confirmed place, and it is not over yet."),
        ("WAITLISTED", "waitlisted", "You are on its waitlist (see place.position), and it is not over yet."),
        ("PAST", "past", "It is over, and you organised it or had a place; cancelled ones are left out."),
    ],
)
OutingPeriod = enum(
    "OutingPeriod",
    "Which of a list's outings: the ones to come, or the ones that are over.",
    [
        ("UPCOMING", "upcoming", "Not over yet, soonest first; cancelled ones included (their state says so)."),
        ("PAST", "past", "Over, most recent first; cancelled ones left out."),
    ],
)
