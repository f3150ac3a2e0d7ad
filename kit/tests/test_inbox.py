"""The inbox on the real store: pages by cursor, total and unread right under racing writers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from parentnet_kit import inbox as inbox_module
from parentnet_kit.inbox import Inbox
from parentnet_kit.outbox import AggregateStore


@pytest.fixture
def inbox(db):
    box = Inbox(AggregateStore(db, "inbox", None), "kit")
    box.ensure_indexes()
    return box


def _tell(box, recipient, key):
    return box.notify(recipient, key, "news", f"news {key}", {"type": "Outing", "id": key})


def _all_pages(box, recipient, first):
    items, page = [], box.page(recipient, first)
    items += page["items"]
    while page["has_next_page"]:
        last = page["items"][-1]
        page = box.page(recipient, first, last["created_at"], last["id"])
        items += page["items"]
    return items


def test_pages_newest_first_with_the_cursor_and_counts(inbox):
    for i in range(7):
        assert _tell(inbox, "ann", f"k{i}")
    _tell(inbox, "bob", "k0")
    assert not _tell(inbox, "ann", "k3")  # told once
    items = _all_pages(inbox, "ann", 3)
    assert [i["message"] for i in items] == [f"news k{i}" for i in range(6, -1, -1)]
    page = inbox.page("ann", 3)
    assert (page["total"], page["unread"]) == (7, 7)
    assert inbox.mark_read("ann", [items[0]["id"], items[1]["id"], "unknown"]) == 2
    assert inbox.mark_read("bob", [items[2]["id"]]) == 0  # not bob's
    assert (inbox.page("ann", 3)["total"], inbox.page("ann", 3)["unread"]) == (7, 5)


def test_racing_notify_and_mark_read_leave_the_badge_right(inbox, monkeypatch):
    monkeypatch.setattr(inbox_module, "GRACE", timedelta(0))  # checkpoint everything at once
    with ThreadPoolExecutor(max_workers=16) as pool:
        told = list(pool.map(lambda i: _tell(inbox, "ann", f"k{i % 20}"), range(40)))  # each twice
        assert sum(told) == 20
        ids = [i["id"] for i in inbox.page("ann", 100)["items"]]
        futures = [pool.submit(inbox.mark_read, "ann", [i]) for i in ids[:10]]
        futures += [pool.submit(_tell, inbox, "ann", f"new{i}") for i in range(10)]
        futures += [pool.submit(inbox.page, "ann", 5) for _ in range(10)]
        for f in futures:
            f.result()
    truth = inbox.store.aggregates.count_documents({"recipient_id": "ann", "read": False})
    page = inbox.page("ann", 5)
    assert (page["total"], page["unread"]) == (30, truth) == (30, 20)
    assert len(_all_pages(inbox, "ann", 7)) == 30


def test_a_crash_between_entry_and_commit_counts_for_nothing(inbox, monkeypatch):
    _tell(inbox, "ann", "a")
    # The process died right after the index entry, before the notification.
    inbox.index.append("ann", {"notification_id": "never", "at": datetime.now(UTC)})
    _tell(inbox, "ann", "b")
    page = inbox.page("ann", 10)
    assert [i["message"] for i in page["items"]] == ["news b", "news a"]
    assert (page["total"], page["unread"]) == (2, 2)
    monkeypatch.setattr(inbox_module, "GRACE", timedelta(0))
    assert (inbox.page("ann", 10)["total"], inbox.page("ann", 10)["unread"]) == (2, 2)
    assert inbox.counts.find_one({"_id": "ann"})["upto"] == 3


def test_notifications_from_before_are_indexed_once_at_start_up(db):
    old = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(3):
        db.inbox.insert_one(
            {
                "_id": f"old{i}",
                "version": 1,
                "recipient_id": "ann",
                "kind": "news",
                "message": f"old {i}",
                "subject": {},
                "read": i == 0,
                "created_at": old + timedelta(days=i),
            }
        )
    box = Inbox(AggregateStore(db, "inbox", None), "kit")
    box.ensure_indexes()
    Inbox(AggregateStore(db, "inbox", None), "kit").ensure_indexes()  # once only
    _tell(box, "ann", "new")
    assert [i["message"] for i in _all_pages(box, "ann", 2)] == ["news new", "old 2", "old 1", "old 0"]
    page = box.page("ann", 2)
    assert (page["total"], page["unread"]) == (4, 3)


def test_a_page_looks_again_at_the_newest_unread_only_however_many_are_left_unread(inbox, monkeypatch):
    monkeypatch.setattr(inbox_module, "UNREAD_TRACKED", 5)
    monkeypatch.setattr(inbox_module, "GRACE", timedelta(0))  # checkpoint at once
    for i in range(12):
        _tell(inbox, "cy", f"u{i}")
    page = inbox.page("cy", 3)
    assert (page["total"], page["unread"]) == (12, 5)  # a badge: "5+" here, "99+" at the real cap
    newest = page["items"][0]["id"]
    assert inbox.mark_read("cy", [newest]) == 1
    assert inbox.page("cy", 3)["unread"] == 4  # the newest tracked are looked at again, no more
