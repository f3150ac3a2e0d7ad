"""An announcement reaches every active member's inbox, outside the request that posted it.

Posting an announcement writes a fan-out job (``announcement_fanout``, ``_id`` = the thread's id,
a unique insert made *before* the thread's commit, so a crash between the two leaves a job whose
thread is missing, never a thread without a job). The service's timer takes jobs in pages of
``PAGE`` members of the group's member sequence (``group_member_ids``, positions 1 to the head
the job noted when it was made: the members of the moment it was posted), each page under a
lease so that two processes do not work the same job at once:

- a lease is a time slot of ``LEASE`` (slot n = the n-th ``LEASE`` since the epoch) held by
  whoever inserts ``<job>:<n>`` into ``announcement_leases`` first: a unique ``_id`` insert, the
  one compare-and-set FerretDB 1.24 does atomically (it checks an update's filter by reading,
  comparing and writing back in its own process, its #3040, so the guarded
  ``update_one({_id, lease_until < now})`` this replaced could be won by two processes at once);
- the holder starts a page only with ``MARGIN`` or more of its slot left, and takes the next
  slot ahead (inserting ``<job>:<n + 1>``) when less is left; if another process has it, it
  stops. A process that dies holds its slot to the slot's end at most. A clock skewed between
  processes, or a page slower than ``MARGIN``, can still let two work at once: that only
  repeats pages (below);

- at least once: the job's position moves past a page only after every member of it was told,
  and a job is deleted only when its last page is done; a crash repeats the page at most; the
  job's slots are deleted with it (a dead holder's one slot stays: one small document a crash);
- at most once per member: ``kit.inbox.notify`` keys the notification by
  ``thread:<id>:announcement`` and tells a member once per key, so a repeated page adds nothing.

Before (to 2026-12-01) the request told every member itself: a group of a thousand members kept
the request open for seconds and a crash midway lost the rest.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from parentnet_kit.clock import aware
from parentnet_kit.i18n import t
from parentnet_kit.inbox import Inbox
from parentnet_kit.lookups import by_ids

from .copies import Copies

PAGE = 200
LEASE = timedelta(seconds=60)
# A page starts only with this much of its lease left (a page of 200 notices takes a few seconds).
MARGIN = timedelta(seconds=20)
# A job whose thread never got committed (the request failed after the job) is dropped after this.
ORPHAN_AFTER = timedelta(minutes=10)


@dataclass
class _Lease:
    """The lease slots one worker took for one job, under an owner id of its own."""

    owner: str = field(default_factory=lambda: uuid.uuid4().hex)
    slots: set[int] = field(default_factory=set)


class Announcements:
    def __init__(self, db: Database, copies: Copies, inbox: Inbox, thread_exists: Callable[[str], bool]) -> None:
        self.jobs = db["announcement_fanout"]
        self.leases = db["announcement_leases"]
        self.copies, self.inbox, self.thread_exists = copies, inbox, thread_exists

    def enqueue(self, thread_id: str, group: dict[str, Any], author_id: str, title: str, now: datetime) -> None:
        """The job telling the members of ``group`` (this service's copy) of the announcement
        ``thread_id`` (once: a redelivered request finds it made)."""
        job = {
            "_id": thread_id,
            "group_id": group["_id"],
            "group_name": group.get("name"),
            "city": group.get("city"),
            "author_id": author_id,
            "title": title,
            "next": 1,
            "last": self.copies.group_members.head(group["_id"]),
            "created_at": now,
        }
        with contextlib.suppress(DuplicateKeyError):
            self.jobs.insert_one(job)

    def pending(self) -> int:
        """How many announcements are still being delivered."""
        return self.jobs.count_documents({})

    def run(self, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> int:
        """Work every job whose lease is free, page by page; returns how many members were told now."""
        told = 0
        for job in list(self.jobs.find({}, {"_id": 1}).limit(50)):
            told += self._work(job["_id"], now)
        return told

    def _slot(self, job_id: str, at: datetime, held: _Lease) -> bool:
        """Whether this worker holds a lease slot for ``job_id`` at ``at`` with ``MARGIN`` or more
        of it left, taking it (and the next one, when less is left) if nobody has."""
        span = LEASE.total_seconds()
        slot = int(at.timestamp() // span)
        if (slot + 1) * span - at.timestamp() < MARGIN.total_seconds():
            return self._hold(job_id, slot, at, held) and self._hold(job_id, slot + 1, at, held)
        return self._hold(job_id, slot, at, held)

    def _hold(self, job_id: str, slot: int, at: datetime, held: _Lease) -> bool:
        if slot in held.slots:
            return True
        try:
            self.leases.insert_one({"_id": f"{job_id}:{slot}", "job_id": job_id, "owner": held.owner, "at": at})
        except DuplicateKeyError:
            return False
        held.slots.add(slot)
        return True

    def _release(self, job_id: str, held: _Lease, done: bool) -> None:
        """Delete the job when it is ``done``, then the slots this worker took (so another
        process may take the job at once if it is not)."""
        if done:
            self.jobs.delete_one({"_id": job_id})
        for slot in sorted(held.slots):
            self.leases.delete_one({"_id": f"{job_id}:{slot}"})

    def _work(self, job_id: str, now: Callable[[], datetime]) -> int:
        held = _Lease()
        if not self._slot(job_id, now(), held):
            return 0
        job = self.jobs.find_one({"_id": job_id})
        if job is None:  # done meanwhile by another process
            self._release(job_id, held, False)
            return 0
        if not self.thread_exists(job_id):
            # An orphan is dropped; else the thread's commit may still be on its way: look again
            # at the next run.
            self._release(job_id, held, aware(job["created_at"]) < now() - ORPHAN_AFTER)
            return 0
        told = 0
        position = int(job["next"])
        while position <= int(job["last"]):
            if not self._slot(job_id, now(), held):
                return told  # another worker has the job (ours ran out while we were away)
            stop = min(position + PAGE, int(job["last"]) + 1)
            told += self._tell(job, self.copies.group_members.range(job["group_id"], position, stop))
            self.jobs.update_one({"_id": job_id}, {"$set": {"next": stop}})
            position = stop
        self._release(job_id, held, True)
        return told

    def _tell(self, job: dict[str, Any], entries: list[dict[str, Any]]) -> int:
        group_id = job["group_id"]
        ids = [m for m in dict.fromkeys(e["member_id"] for e in entries) if m != job["author_id"]]
        found = by_ids(self.copies.memberships, [f"gm:{group_id}:{m}" for m in ids])
        told = 0
        for member_id in ids:
            if (found.get(f"gm:{group_id}:{member_id}") or {}).get("status") != "active":
                continue
            message = t(
                "Announcement in {group}: {title}", group=job.get("group_name") or t("your group"), title=job["title"]
            )
            subject = {"type": "DiscussionThread", "id": job["_id"]}
            if self.inbox.notify(
                member_id, f"thread:{job['_id']}:announcement", "group_announcement", message, subject, job["city"]
            ):
                told += 1
        return told
