"""What a service that owns content keeps of moderation's decisions (events from ``moderation.#``).

- **Hidden and removed content.** ``content_hidden`` / ``content_removed`` / ``content_restored``
  about a subject this service owns become a new version of its aggregate carrying
  ``moderation: {state, action_id, version}``, committed through the service's outbox with the
  service's own update event: its view then says ``hidden`` (the service's ``public_view`` reads
  ``moderation``), so the search index, the gateway's lists and live feeds drop it like any other
  change, in the order of the aggregate's versions. A moderation event applies at most once: the
  aggregate keeps the moderation version it applied, and a repeated or older one changes nothing.
- **Suspensions.** ``member_suspended`` / ``member_unsuspended`` are kept as
  ``moderation_suspensions`` ``{_id: member, until, version}`` (the highest version wins), read by
  ``_id`` when the member posts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from .envelope import Event
from .outbox import AggregateStore, retry_on_conflict
from .publisher import EventPublisher

STATES = {"content_hidden": "hidden", "content_removed": "removed", "content_restored": "visible"}
ATTEMPTS = 8


def is_hidden(state: dict[str, Any]) -> bool:
    """True when moderation hid or removed this aggregate (its ``moderation`` field)."""
    return (state.get("moderation") or {}).get("state") in ("hidden", "removed")


class ModerationCopy:
    """``apply(event)`` for ``parentnet_kit.event_feed``; ``suspended_until(member)`` for posting.

    ``subjects`` maps a moderation subject type (``"outing"``) to ``(collection, outbox, event
    type, view)``: the aggregate collection and its outbox, the event the service publishes for
    an update, and the function making that event's data from a state."""

    def __init__(
        self,
        config: dict[str, Any],
        db_setting: str,
        source: str,
        subjects: dict[str, tuple[str, str, str, Callable[[dict[str, Any]], dict[str, Any]]]],
        after_commit: Callable[[Database, str, dict[str, Any]], None] | None = None,
    ) -> None:
        """``after_commit(db, kind, state)``: called after each hidden/removed/restored version
        is committed, for what the service keeps beside its aggregates (e.g. listings' contact
        directory, whose entries say whether a contact is hidden)."""
        self.client: MongoClient = MongoClient(config["MONGO_URI"], tz_aware=True, serverSelectionTimeoutMS=5000)
        db = self.db = self.client[config[db_setting]]
        self.after_commit = after_commit
        self.publisher = EventPublisher(config["AMQP_URI"])
        self.source = source
        self.stores = {
            kind: (AggregateStore(db, collection, self.publisher, outbox=outbox), event_type, view)
            for kind, (collection, outbox, event_type, view) in subjects.items()
        }
        self.suspensions = db["moderation_suspensions"]

    def close(self) -> None:
        self.publisher.close()
        self.client.close()

    # -- reading -------------------------------------------------------------------------
    def suspended_until(self, member_id: str | None, now: datetime | None = None) -> datetime | None:
        """When the member's suspension ends, if they are suspended now; else None."""
        if not member_id:
            return None
        doc = self.suspensions.find_one({"_id": member_id})
        until = doc.get("until") if doc else None
        if until is None:
            return None
        until = until if until.tzinfo else until.replace(tzinfo=UTC)
        return until if until > (now or datetime.now(UTC)) else None

    # -- applying ------------------------------------------------------------------------
    def apply(self, event: Event) -> bool:
        """Apply one moderation event; False when it is not for this service or was applied."""
        if event.source != "moderation":
            return False
        if event.type in STATES:
            return self._content(event)
        if event.type in ("member_suspended", "member_unsuspended"):
            return self._suspension(event)
        return False

    def _content(self, event: Event) -> bool:
        kind = event.data.get("subject_type")
        if kind not in self.stores:
            return False
        store, event_type, view = self.stores[kind]
        subject_id = event.data["subject_id"]

        def change() -> bool:
            current = store.get(subject_id)
            if current is None:
                return False  # not ours (or gone): nothing to hide
            if (current.get("moderation") or {}).get("version", 0) >= event.version:
                return False
            moderation = {
                "state": STATES[event.type],
                "action_id": event.data.get("action_id"),
                "version": event.version,
            }
            state = {**current, "version": current["version"] + 1, "moderation": moderation}
            data = view(state)
            store.commit(state, Event(event_type, self.source, subject_id, state["version"], state.get("city"), data))
            if self.after_commit is not None:
                self.after_commit(self.db, kind, state)
            return True

        return bool(retry_on_conflict(ATTEMPTS, change))

    def _suspension(self, event: Event) -> bool:
        member_id = event.data["member_id"]
        until = None
        if event.type == "member_suspended":
            until = datetime.fromisoformat(str(event.data["until"]).replace("Z", "+00:00"))
        doc = {"_id": member_id, "until": until, "version": event.version}
        current = self.suspensions.find_one({"_id": member_id}, {"version": 1})
        if current is None:
            try:
                self.suspensions.insert_one(doc)
                return True
            except DuplicateKeyError:
                current = self.suspensions.find_one({"_id": member_id}, {"version": 1})
        if current is not None and current["version"] >= event.version:
            return False
        self.suspensions.replace_one({"_id": member_id}, doc)
        return True
