"""A member's inbox, kept by the service whose domain the news is about.

A notification is an aggregate of one version committed through the outbox, so it is
stored and published (``<service>.member_notified``, for the gateway's subscriptions) at
least once. Its id is a key derived from what it is about (``outing:<id>:cancelled:v7``),
and the outbox insert of ``<id>:1`` is unique: the same news never reaches a member twice,
however many times a retry or a racing worker asks for it.

Read by ``_id`` only (FerretDB 1.24 scans a whole collection for any other filter; docs/store.md):

- ``<inbox>_by_recipient`` holds a per-recipient sequence (``parentnet_kit.sequences``) of
  ``{notification_id, at}``, appended *before* the commit; the notification stores the entry's
  number as ``slot``. An entry is the notification's iff the notification exists with that slot,
  so a crash in between (no notification) and a racing notify of the same news (another slot)
  leave entries that count for nothing. Notifications from before the sequences are indexed
  once at start-up under ``old:<recipient>``, numbered in (created_at, id) order, so that two
  processes adopting at once write the very same entries.
- A page reads the sequence from the newest entry (or, after a cursor, from the entry a binary
  search on ``at`` finds) down, and stops ``SKEW`` past its last item, so entries appended a
  little out of time order still come in order.
- ``<inbox>_counts`` holds a checkpoint per recipient: up to which entry the total is known
  and which notifications (the newest ``UNREAD_TRACKED``) were still unread then. Being read is final (nothing marks a
  notification unread), so a page re-reads only those by ``_id`` plus the entries after the
  checkpoint: a racing notify or mark-read is seen by the next page, and any stale checkpoint
  written by a racing reader is still right, only older. Entries younger than ``GRACE`` are
  never checkpointed (their notification may still be on its way); a notify that took longer
  than half of it between its entry and its commit appends a new entry first.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from . import upserts
from .clock import aware
from .envelope import Event
from .i18n import wire
from .lookups import by_ids
from .outbox import AggregateStore, ConcurrencyConflict
from .sequences import Sequences

# Unread notifications a page looks at again: the newest this many; older ones left unread are
# no longer counted (a badge shows "99+" long before), so a page's cost stays bounded however
# much a member leaves unread (a fresh review measured 1,165 commands a page at 1,000 unread).
UNREAD_TRACKED = 100
GRACE = timedelta(minutes=10)  # an entry older than this whose notification is missing never gets one
SKEW = timedelta(seconds=60)  # how far out of time order entries may be appended


def _key(recipient_id: str, old: bool) -> str:
    return f"old:{recipient_id}" if old else recipient_id


class Inbox:
    def __init__(self, store: AggregateStore, source: str) -> None:
        self.store = store
        self.source = source
        db = store.aggregates.database
        self.index = Sequences(db[f"{store.aggregates.name}_by_recipient"])
        self.counts = db[f"{store.aggregates.name}_counts"]

    def ensure_indexes(self) -> None:
        """No index: every read is by ``_id``. Once per database, notifications from before the
        per-recipient sequences are indexed (one read of the inbox)."""
        self.store.ensure_indexes()
        adopted = self.store.aggregates.database["sequences_adopted"]
        name = self.store.aggregates.name
        if adopted.find_one({"_id": name}) is not None:
            return
        by_recipient: dict[str, list[dict[str, Any]]] = {}
        for doc in self.store.aggregates.find({}, {"recipient_id": 1, "created_at": 1}):
            by_recipient.setdefault(doc["recipient_id"], []).append(doc)
        for recipient_id, docs in by_recipient.items():
            docs.sort(key=lambda d: (aware(d["created_at"]), d["_id"]))
            key = _key(recipient_id, old=True)
            for n, doc in enumerate(docs, start=1):
                entry = {"_id": self.index.entry_id(key, n), "n": n, "notification_id": doc["_id"]}
                with contextlib.suppress(DuplicateKeyError):  # the same entry, from a racing adopter
                    self.index.collection.insert_one({**entry, "at": doc["created_at"]})
            with contextlib.suppress(DuplicateKeyError):
                self.index.collection.insert_one({"_id": f"{key}:head", "n": len(docs)})
        with contextlib.suppress(DuplicateKeyError):
            adopted.insert_one({"_id": name, "at": datetime.now(UTC)})

    def notify(
        self, recipient_id: str, key: str, kind: str, message: str, subject: dict[str, Any], city: str | None = None
    ) -> bool:
        """Tell ``recipient_id`` once per ``key``; False when they were told already. A ``message``
        marked with ``i18n.t`` is stored with its ``message_id`` and ``params`` beside the English,
        so that it is shown in the recipient's language."""
        notification_id = hashlib.sha256(f"{recipient_id}|{key}".encode()).hexdigest()[:32]
        if self.store.get(notification_id) is not None:
            return False  # told already: no index entry for nothing
        moment = datetime.now(UTC)
        now = moment.replace(microsecond=moment.microsecond // 1000 * 1000)  # round-trips through ISO
        started = time.monotonic()
        slot = self.index.append(recipient_id, {"notification_id": notification_id, "at": now})
        if time.monotonic() - started > GRACE.total_seconds() / 2:
            # Stalled: a page may soon take that entry for a crash's leftover. Take a fresh one.
            slot = self.index.append(recipient_id, {"notification_id": notification_id, "at": now})
        state = {
            "_id": notification_id,
            "version": 1,
            "recipient_id": recipient_id,
            "kind": kind,
            **wire(message),
            "subject": subject,
            "read": False,
            "created_at": now,
            "slot": slot,
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

    # -- reading -------------------------------------------------------------------------
    def _owned(self, recipient_id: str, entries: list[dict[str, Any]], old: bool) -> list[dict[str, Any]]:
        """The notifications these entries are the index of, in the entries' order."""
        found = by_ids(self.store.aggregates, [e["notification_id"] for e in entries])
        owned = []
        for entry in entries:
            doc = found.get(entry["notification_id"])
            if doc is None or doc["recipient_id"] != recipient_id:
                continue
            if (doc.get("slot") is None) if old else (doc.get("slot") == entry["n"]):
                owned.append(doc)
        return owned

    def _top_at_or_before(self, key: str, head: int, at: datetime) -> int:
        """The highest n <= ``head`` whose entry's ``at`` is at or before ``at`` (0: none);
        a binary search, as entries are appended in time order (up to ``SKEW``)."""
        low, high = 0, head
        while low < high:
            mid = (low + high + 1) // 2
            entry = self.index.collection.find_one({"_id": self.index.entry_id(key, mid)}, {"at": 1})
            if entry is not None and aware(entry["at"]) <= at:
                low = mid
            else:
                high = mid - 1
        return low

    def _newest_first(self, recipient_id: str, before: datetime | None) -> Iterator[dict[str, Any]]:
        """The recipient's notifications from the newest (or from ``before`` + ``SKEW``) down."""
        for old in (False, True):
            key = _key(recipient_id, old)
            head = self.index.head(key)
            if before is not None:
                head = self._top_at_or_before(key, head, before + SKEW)
            n = head
            while n >= 1:
                entries = self.index.range(key, max(1, n - 15), n + 1)[::-1]
                yield from self._owned(recipient_id, entries, old)
                n -= 16

    def page(self, recipient_id: str, first: int, before_at: str | None = None, before_id: str = "") -> dict[str, Any]:
        """Newest first, strictly before (``before_at``, ``before_id``): the last item of the previous
        page. Positions are times, so a client can merge the inboxes of several services.
        ``{items: [view], has_next_page, unread, total}``."""
        position = None
        if before_at:
            position = (datetime.fromisoformat(before_at.replace("Z", "+00:00")), before_id)
        picked: list[dict[str, Any]] = []
        stop: datetime | None = None
        for doc in self._newest_first(recipient_id, position[0] if position else None):
            at = aware(doc["created_at"])
            if stop is not None and at < stop:
                break
            if position is not None and (at, doc["_id"]) >= position:
                continue
            picked.append(doc)
            if stop is None and len(picked) > first:
                stop = min(aware(d["created_at"]) for d in picked) - SKEW
        picked.sort(key=lambda d: (aware(d["created_at"]), d["_id"]), reverse=True)
        total, unread = self._counts(recipient_id)
        items = [view(d) for d in picked[:first]]
        return {"items": items, "has_next_page": len(picked) > first, "unread": unread, "total": total}

    def _counts(self, recipient_id: str) -> tuple[int, int]:
        """(total, unread): the checkpoint, the entries after it, and a fresh look at what was
        unread; a newer checkpoint is written when entries older than ``GRACE`` came in."""
        checkpoint = self.counts.find_one({"_id": recipient_id}) or {"upto": 0, "total": 0, "unread": []}
        total, unread = checkpoint["total"], list(checkpoint["unread"])
        if not checkpoint.get("old"):
            key = _key(recipient_id, old=True)
            olds = self._owned(recipient_id, self.index.range(key, 1, self.index.head(key) + 1), old=True)
            total += len(olds)
            unread += [d["_id"] for d in olds if not d.get("read")]
        key = _key(recipient_id, old=False)
        upto = checkpoint["upto"]
        entries = self.index.range(key, upto + 1, self.index.head(key) + 1)
        settled_before = datetime.now(UTC) - GRACE
        fresh_total, fresh_unread, settled = 0, [], True
        for entry in entries:
            mine = self._owned(recipient_id, [entry], old=False)
            settled = settled and aware(entry["at"]) < settled_before
            if settled:
                upto = entry["n"]
                total += len(mine)
                unread += [d["_id"] for d in mine if not d.get("read")]
            else:
                fresh_total += len(mine)
                fresh_unread += [d["_id"] for d in mine if not d.get("read")]
        unread = unread[-UNREAD_TRACKED:]  # oldest first: the newest are kept
        still = [i for i, d in by_ids(self.store.aggregates, unread).items() if not d.get("read")]
        if upto != checkpoint["upto"] or len(still) < len(checkpoint["unread"]) or not checkpoint.get("old"):
            # Any checkpoint is right as of when it was computed; racing writers only make it older.
            upserts.replace(self.counts, recipient_id, {"upto": upto, "total": total, "unread": still, "old": True})
        return total + fresh_total, min(UNREAD_TRACKED, len(still) + len(fresh_unread))

    def mark_read(self, recipient_id: str, notification_ids: list[str]) -> int:
        """Mark the recipient's notifications among ``notification_ids`` read (others' and
        unknown ones are skipped); returns how many were unread."""
        found = by_ids(self.store.aggregates, [i for i in notification_ids if isinstance(i, str)])
        marked = 0
        for doc in found.values():
            if doc["recipient_id"] == recipient_id and not doc.get("read"):
                self.store.aggregates.update_one({"_id": doc["_id"]}, {"$set": {"read": True}})
                marked += 1
        return marked


def view(state: dict[str, Any]) -> dict[str, Any]:
    """A notification as read and published: ``{id, recipient_id, kind, message (English),
    message_id?, params?, message_plural?, subject, read, created_at (ISO, ms, Z)}``."""
    created = aware(state["created_at"])
    return {
        "id": state["_id"],
        "recipient_id": state["recipient_id"],
        "kind": state["kind"],
        **{k: state[k] for k in ("message", "message_id", "params", "message_plural") if k in state},
        "subject": dict(state["subject"]),
        "read": state.get("read", False),
        "created_at": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
