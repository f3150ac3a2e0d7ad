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
  written by a racing reader is still right, only older. ``mark_read`` then writes a fresh random
  token in ``<inbox>_read_marks``; a checkpoint keeps the token it read before looking, so a page
  looks again at the unread only when something was marked read since (its cost does not grow
  with what a member leaves unread). An entry whose notification is there is checkpointed at
  once (so a page does not read again what came in the last ``GRACE``); one without only once
  older than ``GRACE`` (its notification may still be on its way); a notify that took longer
  than half of it between its entry and its commit appends a new entry first.
- **Notifications expire** ``retention`` after they were sent (``INBOX_RETENTION_DAYS``, 180 by
  default). ``notify`` marks each entry in the day it falls due (``parentnet_kit.expiry``:
  ``<inbox>_expiring_<YYYYMMDD>``), and ``expire``, on a timer, reads only the days that are
  over. Per recipient it raises a *floor* (``<inbox>_expired``: ``{n, old_n, gen}``, for the
  recipient's sequence and its ``old:`` one): entries at or below it are over, readers never
  go below it, and the sweep then deletes those entries (a prefix of the sequence, as
  ``sequences`` allows) and their notifications. ``gen`` counts the
  floor's moves: a checkpoint of counts made under another ``gen`` is recounted from the floor,
  so totals never count what expired, whatever a racing reader wrote. Notifications from before
  these markers are marked once per database by the first sweep (one read of the inbox); one an
  older release writes after that (beside this one, or in a rollback) is marked when a page
  first reads it (``marked``), and goes anyway with the entries below a later one's floor. The
  floor is the highest entry due, so an entry appended out of time order (``SKEW``) across
  midnight may be hidden up to a minute early. Once expired, the same news (the same key) could
  be told again: only a replay of an event older than the retention would do that.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from . import upserts
from .clock import aware
from .envelope import Event
from .expiry import DueDays
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
# How long a notification is kept; then it, its index entry and its count go (``Inbox.expire``).
RETENTION = timedelta(days=float(os.environ.get("INBOX_RETENTION_DAYS", "180")))
EXPIRY_LIMIT = 500  # entries one ``expire`` call handles at most (a backlog goes over the next calls)


@dataclass(frozen=True)
class Floor:
    """A recipient's expired entries: those at or below ``n`` (of ``<recipient>``) and ``old_n``
    (of ``old:<recipient>``); ``gen`` counts the floor's moves (``<inbox>_expired``)."""

    n: int = 0
    old_n: int = 0
    gen: int = 0


def _key(recipient_id: str, old: bool) -> str:
    return f"old:{recipient_id}" if old else recipient_id


class Inbox:
    def __init__(self, store: AggregateStore, source: str, retention: timedelta = RETENTION) -> None:
        self.store = store
        self.source = source
        self.retention = retention
        db = store.aggregates.database
        name = store.aggregates.name
        self.index = Sequences(db[f"{name}_by_recipient"])
        self.counts = db[f"{name}_counts"]
        self.floors = db[f"{name}_expired"]
        self.read_marks = db[f"{name}_read_marks"]
        self.due = DueDays(db, f"{name}_expiring")

    def ensure_indexes(self) -> None:
        """No index: every read is by ``_id``. Once per database, notifications from before the
        per-recipient sequences are indexed (one read of the inbox)."""
        self.store.ensure_indexes()
        self._adopt_sequences()

    def _expiry_markers(self) -> Iterator[tuple[datetime, str, dict[str, Any]]]:
        """The markers of the notifications from before the expiry markers (``DueDays.adopt``,
        on the expiry timer, not at start-up): one read of the index, one of the inbox."""
        # The numbers of the entries from before the sequences (``old:<recipient>``), which
        # their notifications do not hold.
        legacy = {
            e["notification_id"]: e["n"]
            for e in self.index.collection.find({}, {"notification_id": 1, "n": 1})
            if str(e["_id"]).startswith("old:") and "notification_id" in e
        }
        for doc in self.store.aggregates.find({}, {"recipient_id": 1, "created_at": 1, "slot": 1}):
            slot = doc.get("slot")
            if slot is None and doc["_id"] not in legacy:
                continue  # in no sequence: no page shows it; the index adoption never ran
            yield self._marker(doc, slot if slot is not None else legacy[doc["_id"]], old=slot is None)

    def _marker(self, doc: dict[str, Any], n: int, old: bool) -> tuple[datetime, str, dict[str, Any]]:
        """(due, marker id, fields) of the notification ``doc`` whose index entry is ``n`` of the
        recipient's sequence (``old``: of ``old:<recipient>``)."""
        recipient_id = doc["recipient_id"]
        fields = {"recipient_id": recipient_id, "n": n, "notification_id": doc["_id"], "old": old}
        entry_id = self.index.entry_id(_key(recipient_id, old), n)
        return aware(doc["created_at"]) + self.retention, entry_id, fields

    def _adopt_sequences(self) -> None:
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
        told = {"_id": notification_id, "recipient_id": recipient_id, "created_at": now}
        self.due.mark(*self._marker(told, slot, old=False))
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
            "marked": True,  # its expiry is marked (one written by an older release is marked when read)
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

    # -- expiry --------------------------------------------------------------------------
    def expire(self, now: datetime | None = None, limit: int = EXPIRY_LIMIT) -> int:
        """On a timer: delete the notifications sent more than ``retention`` ago (by the UTC day
        they fall due), their index entries and their share of the counts. Reads only the days
        that are over, nothing at all once a sweep found none today (``expiry.DueDays``).
        Returns how many entries were handled (at most about ``limit`` a call)."""
        self.due.adopt(f"{self.store.aggregates.name}:expiry", self._expiry_markers)
        return self.due.sweep(now or datetime.now(UTC), self._expire, limit)

    def _floor(self, recipient_id: str) -> Floor:
        doc = self.floors.find_one({"_id": recipient_id}) or {}
        return Floor(int(doc.get("n", 0)), int(doc.get("old_n", 0)), int(doc.get("gen", 0)))

    def _expire(self, markers: list[dict[str, Any]]) -> None:
        by_recipient: dict[str, list[dict[str, Any]]] = {}
        for marker in markers:
            by_recipient.setdefault(marker["recipient_id"], []).append(marker)
        for recipient_id, mine in by_recipient.items():
            floor = self._floor(recipient_id)
            tops = {
                old: max((m["n"] for m in mine if bool(m.get("old")) == old and m.get("n") is not None), default=0)
                for old in (False, True)
            }
            # First the floor (readers stop at it, and recount under the new gen), then the
            # entries below it, then the notifications: a reader in between sees none of them.
            moves: dict[str, Any] = {"$inc": {"gen": 1}}
            raised = {k: v for k, v in (("n", tops[False]), ("old_n", tops[True])) if v > getattr(floor, k)}
            if raised:
                moves["$max"] = raised
            upserts.update(self.floors, recipient_id, moves)
            handled = {m["notification_id"] for m in mine}
            for old, field in ((False, "n"), (True, "old_n")):
                if field in raised:
                    gone = self.index.drop_prefix(_key(recipient_id, old), getattr(floor, field) + 1, raised[field])
                    # An entry without a marker (written by an older release beside this one):
                    # its notification goes with it, if the entry was its.
                    unmarked = [e for e in gone if e.get("notification_id") not in handled]
                    for doc in self._owned(recipient_id, unmarked, old, mark=False):
                        self.store.aggregates.delete_one({"_id": doc["_id"]})
                else:  # the floor is there already (an interrupted or racing sweep): their entries
                    for marker in mine:
                        if bool(marker.get("old")) == old and marker.get("n") is not None:
                            self.index.collection.delete_one({"_id": marker["_id"]})  # a marker's id is its entry's
            for marker in mine:
                self.store.aggregates.delete_one({"_id": marker["notification_id"]})

    # -- reading -------------------------------------------------------------------------
    def _owned(
        self, recipient_id: str, entries: list[dict[str, Any]], old: bool, mark: bool = True
    ) -> list[dict[str, Any]]:
        """The notifications these entries are the index of, in the entries' order. One found
        without its expiry marked (written by an older release, during a rolling deploy or a
        rollback, after this database's adoption) is marked now (``mark``)."""
        found = by_ids(self.store.aggregates, [e["notification_id"] for e in entries])
        owned = []
        for entry in entries:
            doc = found.get(entry["notification_id"])
            if doc is None or doc["recipient_id"] != recipient_id:
                continue
            if (doc.get("slot") is None) if old else (doc.get("slot") == entry["n"]):
                owned.append(doc)
                if mark and not doc.get("marked"):
                    self.due.mark(*self._marker(doc, entry["n"], old))
                    self.store.aggregates.update_one({"_id": doc["_id"]}, {"$set": {"marked": True}})
        return owned

    def _top_at_or_before(self, key: str, head: int, at: datetime, floor: int = 0) -> int:
        """The highest n <= ``head`` whose entry's ``at`` is at or before ``at`` (``floor``:
        none above the floor); a binary search, as entries are appended in time order (up to
        ``SKEW``)."""
        low, high = floor, head
        while low < high:
            mid = (low + high + 1) // 2
            entry = self.index.collection.find_one({"_id": self.index.entry_id(key, mid)}, {"at": 1})
            if entry is not None and aware(entry["at"]) <= at:
                low = mid
            else:
                high = mid - 1
        return low

    def _newest_first(self, recipient_id: str, before: datetime | None, floor: Floor) -> Iterator[dict[str, Any]]:
        """The recipient's notifications from the newest (or from ``before`` + ``SKEW``) down to
        the ``floor`` (what expired)."""
        for old in (False, True):
            key = _key(recipient_id, old)
            bottom = floor.old_n if old else floor.n
            head = self.index.head(key)
            if before is not None:
                head = self._top_at_or_before(key, head, before + SKEW, bottom)
            n = head
            while n > bottom:
                entries = self.index.range(key, max(bottom + 1, n - 15), n + 1)[::-1]
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
        floor = self._floor(recipient_id)
        for doc in self._newest_first(recipient_id, position[0] if position else None, floor):
            at = aware(doc["created_at"])
            if stop is not None and at < stop:
                break
            if position is not None and (at, doc["_id"]) >= position:
                continue
            picked.append(doc)
            if stop is None and len(picked) > first:
                stop = min(aware(d["created_at"]) for d in picked) - SKEW
        picked.sort(key=lambda d: (aware(d["created_at"]), d["_id"]), reverse=True)
        total, unread = self._counts(recipient_id, floor)
        items = [view(d) for d in picked[:first]]
        return {"items": items, "has_next_page": len(picked) > first, "unread": unread, "total": total}

    def _counts(self, recipient_id: str, floor: Floor) -> tuple[int, int]:
        """(total, unread): the checkpoint, the entries after it, and a fresh look at what was
        unread; a newer checkpoint is written when entries older than ``GRACE`` came in. A
        checkpoint made before the floor last moved (another ``gen``) is recounted from it; the
        unread it holds are looked at again only when ``mark_read`` ran since it was made."""
        # Read before anything else: a mark_read that writes a token after this is seen next time.
        token = (self.read_marks.find_one({"_id": recipient_id}) or {}).get("token")
        checkpoint = self.counts.find_one({"_id": recipient_id})
        gen = floor.gen
        if checkpoint is None or checkpoint.get("gen", 0) != gen:
            checkpoint = {"upto": floor.n, "total": 0, "unread": []}
        total, unread = checkpoint["total"], list(checkpoint["unread"])
        if not checkpoint.get("old"):
            key = _key(recipient_id, old=True)
            olds = self._owned(recipient_id, self.index.range(key, floor.old_n + 1, self.index.head(key) + 1), old=True)
            total += len(olds)
            unread += [d["_id"] for d in olds if not d.get("read")]
        key = _key(recipient_id, old=False)
        upto = max(checkpoint["upto"], floor.n)
        entries = self.index.range(key, upto + 1, self.index.head(key) + 1)
        settled_before = datetime.now(UTC) - GRACE
        fresh_total, fresh_unread, settled = 0, [], True
        for entry in entries:
            mine = self._owned(recipient_id, [entry], old=False)
            # An entry whose notification is there is final at once (expiry moves the gen); one
            # without is final once older than GRACE (its notify may still be committing).
            settled = settled and (bool(mine) or aware(entry["at"]) < settled_before)
            if settled:
                upto = entry["n"]
                total += len(mine)
                unread += [d["_id"] for d in mine if not d.get("read")]
            else:
                fresh_total += len(mine)
                fresh_unread += [d["_id"] for d in mine if not d.get("read")]
        unread = unread[-UNREAD_TRACKED:]  # oldest first: the newest are kept
        if checkpoint.get("read_token", "") == token:
            still = unread  # nothing was marked read since the checkpoint looked (and since these were read)
        else:
            still = [i for i, d in by_ids(self.store.aggregates, unread).items() if not d.get("read")]
        if (
            upto != checkpoint["upto"]
            or len(still) < len(checkpoint["unread"])
            or not checkpoint.get("old")
            or checkpoint.get("read_token", "") != token
        ):
            # Any checkpoint is right as of when it was computed; racing writers only make it older.
            checkpoint = {"upto": upto, "total": total, "unread": still, "old": True, "gen": gen, "read_token": token}
            upserts.replace(self.counts, recipient_id, checkpoint)
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
        if marked:
            # After the notifications: a page that reads this token sees them read.
            upserts.replace(self.read_marks, recipient_id, {"token": secrets.token_hex(8)})
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
