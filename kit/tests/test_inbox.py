"""The inbox on the real store: pages by cursor, total and unread right under racing writers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from parentnet_kit import inbox as inbox_module
from parentnet_kit.expiry import markers_database
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


def _notifications_read(monkeypatch) -> list[str]:
    """The ids of the notifications read from now on (grows as the inbox reads them)."""
    looked: list[str] = []
    real = inbox_module.by_ids

    def counting(collection, ids):
        if collection.name == "inbox":
            looked.extend(ids)
        return real(collection, ids)

    monkeypatch.setattr(inbox_module, "by_ids", counting)
    return looked


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


# -- expiry --------------------------------------------------------------------------------
def _boxes(db):
    """Two views of one inbox: notifications told through ``short`` fall due today (retention
    0, so swept from tomorrow on), those told through ``kept`` in 30 days."""
    short = Inbox(AggregateStore(db, "inbox", None), "kit", retention=timedelta(0))
    kept = Inbox(AggregateStore(db, "inbox", None), "kit", retention=timedelta(days=30))
    short.ensure_indexes()
    return short, kept


def test_expired_notifications_leave_the_pages_the_counts_and_the_store(db):
    short, kept = _boxes(db)
    for i in range(5):
        _tell(short, "ann", f"old{i}")
    for i in range(3):
        _tell(kept, "ann", f"new{i}")
    _tell(short, "bob", "old")
    assert kept.mark_read("ann", [kept.page("ann", 10)["items"][-1]["id"]]) == 1  # old0, read
    page = kept.page("ann", 10)
    assert (page["total"], page["unread"]) == (8, 7)

    today = datetime.now(UTC)
    assert kept.expire(today) == 0  # nothing is over yet
    tomorrow = today + timedelta(days=1, minutes=1)
    with ThreadPoolExecutor(max_workers=2) as pool:  # two processes sweeping at once
        swept = list(pool.map(lambda box: box.expire(tomorrow), [short, kept]))
    assert sum(swept) >= 6

    assert [i["message"] for i in _all_pages(kept, "ann", 2)] == ["news new2", "news new1", "news new0"]
    page = kept.page("ann", 10)
    assert (page["total"], page["unread"]) == (3, 3)
    assert kept.page("bob", 10) == {"items": [], "has_next_page": False, "unread": 0, "total": 0}
    assert kept.store.aggregates.count_documents({}) == 3
    assert kept.index.collection.count_documents({"_id": {"$regex": "^ann:[0-9]+$"}}) == 3  # 6, 7, 8
    assert kept.index.collection.count_documents({"_id": {"$regex": "^bob:[0-9]+$"}}) == 0
    assert kept.expire(tomorrow + timedelta(days=1)) == 0  # the emptied day goes on a later date
    assert [n for n in kept.due.db.list_collection_names() if n.startswith("inbox_expiring_")] == [
        kept.due.collection_for(today + timedelta(days=30))
    ]
    # Numbers are never given twice: the next notification comes after what expired.
    _tell(kept, "ann", "later")
    assert kept.store.aggregates.find_one({"recipient_id": "ann", "message": "news later"})["slot"] == 9
    assert (kept.page("ann", 10)["total"], len(_all_pages(kept, "ann", 3))) == (4, 4)
    _tell(kept, "bob", "later")
    assert kept.page("bob", 10)["total"] == 1


def test_a_count_written_by_a_reader_that_read_before_the_expiry_is_recounted(db, monkeypatch):
    monkeypatch.setattr(inbox_module, "GRACE", timedelta(0))
    short, kept = _boxes(db)
    for i in range(4):
        _tell(short, "ann", f"old{i}")
    _tell(kept, "ann", "new")
    assert kept.page("ann", 2)["total"] == 5
    before = kept.counts.find_one({"_id": "ann"})
    kept.expire(datetime.now(UTC) + timedelta(days=2))
    kept.counts.replace_one({"_id": "ann"}, before)  # a racing reader's checkpoint lands late
    page = kept.page("ann", 2)
    assert (page["total"], page["unread"]) == (1, 1)


def test_a_sweep_that_died_half_way_is_finished_by_the_next(db, monkeypatch):
    short, kept = _boxes(db)
    for i in range(3):
        _tell(short, "ann", f"old{i}")
    _tell(kept, "ann", "new")
    later = datetime.now(UTC) + timedelta(days=2)
    real = kept.store.aggregates.delete_one
    calls = []

    def dies_on_the_second(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise ConnectionError("the store went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(kept.store.aggregates, "delete_one", dies_on_the_second)
    with pytest.raises(ConnectionError):
        kept.expire(later)
    monkeypatch.setattr(kept.store.aggregates, "delete_one", real)
    assert [i["message"] for i in kept.page("ann", 10)["items"]] == ["news new"]  # the floor moved first
    assert kept.expire(later) == 3
    assert kept.store.aggregates.count_documents({}) == 1
    assert kept.page("ann", 10)["total"] == 1
    assert kept.index.collection.count_documents({"_id": {"$regex": "^ann:[0-9]+$"}}) == 1  # the retry's too


def test_notifications_from_before_the_markers_are_marked_once_at_start_up(db):
    legacy = datetime.now(UTC) - timedelta(days=400)
    db.inbox.insert_one(
        {"_id": "legacy", "version": 1, "recipient_id": "ann", "kind": "news", "message": "legacy"}
        | {"subject": {}, "read": False, "created_at": legacy}
    )
    box = Inbox(AggregateStore(db, "inbox", None), "kit", retention=timedelta(days=180))
    box.ensure_indexes()
    _tell(box, "ann", "older")
    _tell(box, "ann", "recent")
    db.inbox.update_one({"message": "news older"}, {"$set": {"created_at": legacy}})
    markers = markers_database(db)
    for name in markers.list_collection_names():  # as if written by the code before the markers
        if name.startswith("inbox_expiring_"):
            markers.drop_collection(name)
    db.sequences_adopted.delete_one({"_id": "inbox:expiry"})
    Inbox(AggregateStore(db, "inbox", None), "kit", retention=timedelta(days=180)).ensure_indexes()
    box.ensure_indexes()  # once only: the flag
    assert box.page("ann", 10)["total"] == 3
    assert box.expire(datetime.now(UTC) + timedelta(days=1)) == 2
    assert [i["message"] for i in box.page("ann", 10)["items"]] == ["news recent"]
    assert box.page("ann", 10)["total"] == 1


def test_a_page_looks_again_at_the_unread_only_after_something_was_marked_read(inbox, monkeypatch):
    monkeypatch.setattr(inbox_module, "GRACE", timedelta(0))  # checkpoint at once
    for i in range(30):
        _tell(inbox, "dee", f"u{i}")
    looked = _notifications_read(monkeypatch)

    def counts():  # what a page adds to its items: (total, unread), and the notifications it read
        looked.clear()
        return inbox._counts("dee", inbox_module.Floor()), len(looked)

    assert counts()[0] == (30, 30)
    assert counts() == ((30, 30), 0)  # the 30 unread are not read again
    assert inbox.mark_read("dee", [inbox.page("dee", 5)["items"][0]["id"]]) == 1
    (total, unread), read = counts()
    assert (total, unread, read) == (30, 29, 30)  # something was marked read: looked again
    assert counts() == ((30, 29), 0)


# -- found by a review from outside (review4) ------------------------------------------------
def _as_the_previous_release_wrote_it(db, message):
    """No day marker, no ``marked``: what the release before the markers writes when it runs
    beside this one (a rolling deploy) or instead of it (a rollback), after the adoption."""
    doc = db["inbox"].find_one({"message": message})
    markers = markers_database(db)
    for name in markers.list_collection_names():
        if name.startswith("inbox_expiring_"):
            markers[name].delete_many({"notification_id": doc["_id"]})
    db["inbox"].update_one({"_id": doc["_id"]}, {"$unset": {"marked": ""}})


def test_what_the_previous_release_writes_after_the_adoption_still_expires(db):
    box = Inbox(AggregateStore(db, "inbox", None), "kit")
    box.ensure_indexes()
    _tell(box, "ann", "a1")
    box.expire()  # this release's first sweep: the adoption is recorded
    for key in ("a2", "a3"):
        _tell(box, "ann", key)
        _as_the_previous_release_wrote_it(db, f"news {key}")
    _tell(box, "ann", "a4")
    _tell(box, "bob", "b1")
    _as_the_previous_release_wrote_it(db, "news b1")
    assert box.page("bob", 10)["total"] == 1  # bob's is marked when a page reads it
    later = Inbox(AggregateStore(db, "inbox", None), "kit")
    assert later.expire(datetime.now(UTC) + timedelta(days=400)) == 3  # a1, a4, b1
    # ann's a2 and a3, never read, lay below a4: they went with the entries a4's expiry dropped.
    assert (later.page("ann", 10)["total"], later.page("bob", 10)["total"]) == (0, 0)
    assert db["inbox"].count_documents({}) == 0


def _legacy(db, recipient, count, start, read=False):
    """Notifications from before the per-recipient sequences, indexed as ``old:`` entries."""
    db["inbox"].insert_many(
        [
            {"_id": f"n{i}", "version": 1, "recipient_id": recipient, "kind": "outing_changed"}
            | {"message": "The time changed.", "subject": {}, "read": read, "created_at": start + timedelta(hours=i)}
            for i in range(count)
        ]
    )
    db["inbox_by_recipient"].insert_many(
        [
            {"_id": f"old:{recipient}:{n}", "notification_id": f"n{n - 1}", "at": start + timedelta(hours=n), "n": n}
            for n in range(1, count + 1)
        ]
        + [{"_id": f"old:{recipient}:head", "n": count}]
    )
    db["sequences_adopted"].insert_one({"_id": "inbox", "at": start})  # as devtools/volume leaves it


def test_an_old_notification_leaves_its_index_entry_when_it_expires(db):
    _legacy(db, "rcp", 1, datetime.now(UTC) - timedelta(days=200))
    box = Inbox(AggregateStore(db, "inbox", None), "kit")
    box.ensure_indexes()
    assert box.page("rcp", 10)["total"] == 1
    assert box.expire() == 1  # adopts: its day is over
    assert db["inbox"].find_one({"_id": "n0"}) is None
    assert db["inbox_by_recipient"].find_one({"_id": "old:rcp:1"}) is None
    assert box.page("rcp", 10) == {"items": [], "has_next_page": False, "unread": 0, "total": 0}


def test_a_page_after_old_notifications_expired_costs_what_a_page_costs(db, monkeypatch):
    _legacy(db, "rcp", 300, datetime.now(UTC) - timedelta(days=400), read=True)
    box = Inbox(AggregateStore(db, "inbox", None), "kit")
    box.ensure_indexes()
    _tell(box, "rcp", "today")
    while box.expire():  # the adoption, then every old notification goes (all past 180 days)
        pass
    assert db["inbox"].count_documents({}) == 1
    box.page("rcp", 20)
    finds = []
    real = box.index.collection.find_one

    def counting(*args, **kwargs):
        finds.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(box.index.collection, "find_one", counting)
    page = box.page("rcp", 20)
    assert [item["message"] for item in page["items"]] == ["news today"] and page["total"] == 1
    assert len(finds) < 20, f"{len(finds)} index lookups for a page of one notification"


def test_a_page_does_not_read_again_what_came_in_the_last_minutes(inbox, monkeypatch):
    for i in range(25):  # all younger than GRACE (10 minutes)
        _tell(inbox, "eve", f"f{i}")
    looked = _notifications_read(monkeypatch)
    assert inbox._counts("eve", inbox_module.Floor()) == (25, 25)
    looked.clear()
    assert inbox._counts("eve", inbox_module.Floor()) == (25, 25)
    assert looked == []  # checkpointed: their notifications are there
    # A crash's leftover entry (no notification) stays out of the checkpoint while young.
    inbox.index.append("eve", {"notification_id": "never", "at": datetime.now(UTC)})
    _tell(inbox, "eve", "after")
    assert inbox._counts("eve", inbox_module.Floor()) == (26, 26)
    assert inbox.counts.find_one({"_id": "eve"})["upto"] == 25


def test_a_sweep_that_died_after_raising_the_floor_still_deletes_the_entries(db, monkeypatch):
    short, kept = _boxes(db)
    for i in range(3):
        _tell(short, "ann", f"old{i}")
    _tell(kept, "ann", "new")

    def dies(*args, **kwargs):
        raise ConnectionError("the store went away")

    monkeypatch.setattr(kept.index, "drop_prefix", dies)
    later = datetime.now(UTC) + timedelta(days=2)
    with pytest.raises(ConnectionError):
        kept.expire(later)
    monkeypatch.undo()
    assert kept.expire(later) == 3
    assert kept.index.collection.count_documents({"_id": {"$regex": "^ann:[0-9]+$"}}) == 1
    assert [i["message"] for i in kept.page("ann", 10)["items"]] == ["news new"]
