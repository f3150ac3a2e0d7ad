"""An announcement reaches every active member's inbox, outside the request that posted it.

Posting an announcement writes a fan-out job (``announcement_fanout``, ``_id`` = the thread's id,
a unique insert made *before* the thread's commit, so a crash between the two leaves a job whose
thread is missing, never a thread without a job). The service's timer takes jobs in pages of
``PAGE`` members of the group's member sequence (``group_member_ids``, positions 1 to the head
the job noted when it was made: the members of the moment it was posted), each page under a
lease (``lease_until``) so that two processes never work the same job at once:

- at least once: the job's position moves past a page only after every member of it was told,
  and a job is deleted only when its last page is done; a crash repeats the page at most;
- at most once per member: ``kit.inbox.notify`` keys the notification by
  ``thread:<id>:announcement`` and tells a member once per key, so a repeated page adds nothing.

Before (to 2026-12-01) the request told every member itself: a group of a thousand members kept
the request open for seconds and a crash midway lost the rest.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
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
# A job whose thread never got committed (the request failed after the job) is dropped after this.
ORPHAN_AFTER = timedelta(minutes=10)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Announcements:
    def __init__(self, db: Database, copies: Copies, inbox: Inbox, thread_exists: Callable[[str], bool]) -> None:
        self.jobs = db["announcement_fanout"]
        self.copies, self.inbox, self.thread_exists = copies, inbox, thread_exists
        self.owner = uuid.uuid4().hex

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
            "lease_until": EPOCH,
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

    def _claim(self, job_id: str, at: datetime) -> dict[str, Any] | None:
        # The lease is ours only when nobody else's is running (a lost owner's expires).
        claimed = self.jobs.update_one(
            {"_id": job_id, "lease_until": {"$lt": at}}, {"$set": {"lease_until": at + LEASE, "owner": self.owner}}
        )
        if claimed.modified_count != 1:
            return None
        return self.jobs.find_one({"_id": job_id, "owner": self.owner})

    def _work(self, job_id: str, now: Callable[[], datetime]) -> int:
        job = self._claim(job_id, now())
        if job is None:
            return 0
        if not self.thread_exists(job_id):
            if aware(job["created_at"]) < now() - ORPHAN_AFTER:
                self.jobs.delete_one({"_id": job_id, "owner": self.owner})
            else:  # the thread's commit may still be on its way: look again at the next run
                self.jobs.update_one({"_id": job_id, "owner": self.owner}, {"$set": {"lease_until": EPOCH}})
            return 0
        told = 0
        position = int(job["next"])
        while position <= int(job["last"]):
            stop = min(position + PAGE, int(job["last"]) + 1)
            told += self._tell(job, self.copies.group_members.range(job["group_id"], position, stop))
            moved = self.jobs.update_one(
                {"_id": job_id, "owner": self.owner, "next": position},
                {"$set": {"next": stop, "lease_until": now() + LEASE}},
            )
            if moved.modified_count != 1:
                return told  # another process took the job over after our lease ran out
            position = stop
        self.jobs.delete_one({"_id": job_id, "owner": self.owner})
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
