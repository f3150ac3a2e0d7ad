"""A member's inbox, kept by the service whose domain the news is about.

A notification is an aggregate of one version committed through the outbox, so it is
stored and published (``<service>.member_notified``, for the gateway's subscriptions) at
least once. Its id is a key derived from what it is about (``outing:<id>:cancelled:v7``),
and the outbox insert of ``<id>:1`` is unique: the same news never reaches a member twice,
however many times a retry or a racing worker asks for it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING

from .clock import aware
from .envelope import Event
from .outbox import AggregateStore, ConcurrencyConflict


class Inbox:
    def __init__(self, store: AggregateStore, source: str) -> None:
        self.store = store
        self.source = source

    def ensure_indexes(self) -> None:
        self.store.ensure_indexes()
        self.store.aggregates.create_index([("recipient_id", 1), ("created_at", DESCENDING)])

    def notify(
        self, recipient_id: str, key: str, kind: str, message: str, subject: dict[str, Any], city: str | None = None
    ) -> bool:
        """Tell ``recipient_id`` once per ``key``; False when they were told already."""
        notification_id = hashlib.sha256(f"{recipient_id}|{key}".encode()).hexdigest()[:32]
        moment = datetime.now(UTC)
        now = moment.replace(microsecond=moment.microsecond // 1000 * 1000)  # round-trips through ISO
        state = {
            "_id": notification_id,
            "version": 1,
            "recipient_id": recipient_id,
            "kind": kind,
            "message": message,
            "subject": subject,
            "read": False,
            "created_at": now,
        }
        event = Event(
            type="member_notified",
            source=self.source,
            aggregate_id=notification_id,
            version=1,
            city=city,
            data=view(state),
        )
        try:
            self.store.commit(state, event)
        except ConcurrencyConflict:
            return False
        return True

    def page(self, recipient_id: str, first: int, before_at: str | None = None, before_id: str = "") -> dict[str, Any]:
        """Newest first, strictly before (``before_at``, ``before_id``): the last item of the previous
        page. Positions are times, so a client can merge the inboxes of several services."""
        query: dict[str, Any] = {"recipient_id": recipient_id}
        if before_at:
            at = datetime.fromisoformat(before_at.replace("Z", "+00:00"))
            query["$or"] = [{"created_at": {"$lt": at}}, {"created_at": at, "_id": {"$lt": before_id}}]
        found = self.store.aggregates.find(query).sort([("created_at", DESCENDING), ("_id", DESCENDING)])
        docs = list(found.limit(first + 1))
        unread = self.store.aggregates.count_documents({"recipient_id": recipient_id, "read": False})
        total = self.store.aggregates.count_documents({"recipient_id": recipient_id})
        items = [view(d) for d in docs[:first]]
        return {"items": items, "has_next_page": len(docs) > first, "unread": unread, "total": total}

    def mark_read(self, recipient_id: str, notification_ids: list[str]) -> int:
        return self.store.aggregates.update_many(
            {"recipient_id": recipient_id, "_id": {"$in": list(notification_ids)}}, {"$set": {"read": True}}
        ).modified_count


def view(state: dict[str, Any]) -> dict[str, Any]:
    created = aware(state["created_at"])
    return {
        "id": state["_id"],
        "recipient_id": state["recipient_id"],
        "kind": state["kind"],
        "message": state["message"],
        "subject": dict(state["subject"]),
        "read": state.get("read", False),
        "created_at": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
