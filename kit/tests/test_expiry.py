"""Markers by the day they fall due, on the real store: only days that are over are read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parentnet_kit.expiry import DueDays, markers_database

DAY = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class _Counting:
    """The database, counting what is asked of it through ``DueDays``."""

    def __init__(self, db):
        self.db, self.name, self.asked = db, db.name, 0

    def __getitem__(self, name):
        self.asked += 1
        return self.db[name]

    def list_collection_names(self):
        self.asked += 1
        return self.db.list_collection_names()

    def drop_collection(self, name):
        self.asked += 1
        return self.db.drop_collection(name)


def test_only_days_that_are_over_are_read_and_an_idle_day_asks_nothing(db):
    markers = markers_database(db)
    counting = _Counting(markers)
    owner = _Counting(db)
    due = DueDays(owner, "things_expiring", days=counting)
    for i in range(450):
        due.mark(DAY + timedelta(days=i % 3), f"t{i}", {"i": i})
    due.mark(DAY, "t0", {"i": -1})  # twice: the first stays
    assert due.mark_many((DAY + timedelta(days=1), f"t{i}", {"i": i}) for i in range(3)) == 3

    seen: list[dict] = []
    assert due.sweep(DAY + timedelta(hours=1), seen.extend) == 0  # today's are not over yet
    asked = counting.asked
    assert due.sweep(DAY + timedelta(hours=2), seen.extend) == 0
    assert counting.asked == asked  # the same UTC day, nothing due: nothing asked
    assert owner.asked == 1  # one look for day collections of code before the markers' database, that day

    assert due.sweep(DAY + timedelta(days=1), seen.extend, limit=100) == 100  # a bounded run
    assert due.sweep(DAY + timedelta(days=1), seen.extend) == 50
    assert sorted(m["i"] for m in seen) == list(range(0, 450, 3))
    days = ["things_expiring_20261201", "things_expiring_20261202", "things_expiring_20261203"]
    assert sorted(n for n in markers.list_collection_names() if n.startswith("things_expiring_")) == days
    assert db.list_collection_names() == []  # the owner's database holds none of them
    # An emptied day is dropped on a later date (a writer marking something overdue may be
    # writing into it right now), by a sweep that hands over nothing more.
    assert due.sweep(DAY + timedelta(days=1, hours=1), seen.extend) == 0
    assert due.sweep(DAY + timedelta(days=1, hours=14), seen.extend) == 0  # 23:00, the same UTC date
    assert "things_expiring_20261201" in markers.list_collection_names()
    del seen[:]
    assert due.sweep(DAY + timedelta(days=2), seen.extend) == 152  # and t0, t2 of mark_many
    assert sorted(n for n in markers.list_collection_names() if n.startswith("things_expiring_")) == days[1:]


def test_a_callback_that_raises_leaves_its_markers_for_the_next_sweep(db):
    due = DueDays(db, "things_expiring")
    for i in range(3):
        due.mark(DAY, f"t{i}", {})

    def fails(markers):
        raise ConnectionError("the store went away")

    later = DAY + timedelta(days=1)
    with pytest.raises(ConnectionError):
        due.sweep(later, fails)
    seen: list[dict] = []
    assert due.sweep(later, seen.extend) == 3
    assert due.sweep(later + timedelta(days=1), seen.extend) == 0
    assert "things_expiring_20261201" not in markers_database(db).list_collection_names()


def test_day_collections_of_earlier_code_are_moved_out_of_the_owners_database_and_swept_once(db):
    """Before the markers' database, day collections sat beside the owner's hot collections, and
    FerretDB lists every collection of a database on each find: a sweep now moves them (MOVE at
    most per run), sweeps those due, and leaves the owner's database without them."""
    for day, count in ((DAY, 1500), (DAY + timedelta(days=1), 900), (DAY + timedelta(days=40), 700)):
        db[f"things_expiring_{day:%Y%m%d}"].insert_many([{"_id": f"{day:%d}-{i}"} for i in range(count)])
    db["things"].insert_one({"_id": "kept"})
    due = DueDays(db, "things_expiring")
    seen: list[dict] = []
    now = DAY + timedelta(days=2)
    runs = 0
    while runs < 10 and (due.sweep(now, seen.extend) or runs == 0):
        runs += 1
    assert runs == 2  # 3,100 markers moved 2,000 at a time, the due ones handed over as they came
    assert sorted(m["_id"] for m in seen) == sorted([f"01-{i}" for i in range(1500)] + [f"02-{i}" for i in range(900)])
    assert markers_database(db)["things_expiring_20270110"].count_documents({}) == 700
    assert due.sweep(now + timedelta(hours=1), seen.extend) == 0
    assert len(seen) == 2400  # none twice
    # Emptied, each legacy collection stays until a later UTC date: a process of the previous
    # version may still be writing into it (review 7 lost 111 of 1,257 markers to an earlier drop).
    assert sorted(db.list_collection_names())[-1] == "things_expiring_20270110"
    db["things_expiring_20270110"].insert_one({"_id": "late"})  # the previous version, still running
    assert due.sweep(now + timedelta(days=1), seen.extend) == 0
    assert sorted(db.list_collection_names()) == ["things", "things_expiring_20270110"]  # written into since
    assert markers_database(db)["things_expiring_20270110"].count_documents({}) == 701
    assert due.sweep(now + timedelta(days=2), seen.extend) == 0
    assert db.list_collection_names() == ["things"]
