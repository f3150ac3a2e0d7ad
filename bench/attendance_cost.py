"""What a join, a leave, a group's shifts and its balances cost the store (issue 17), before and
after attendance snapshots and the co-op group sequences, side by side in one run: store
commands per call (pymongo's command monitoring) and the store's CPU per call (``/proc`` of the
FerretDB process, so it includes whatever else the shared server serves meanwhile: compare the
rows of one run, not runs).

Runs the events service's own code against ``MONGO_URI`` (the shared server by default) in a
database of its own, dropped after:

- attendance: ``--outings`` outings of 10 places with ``--families`` families each (as the volume
  fill has), then per outing a join and a leave, each by a *new process* (what a join at volume
  meets: an outing this process never read). "before" is the code as it was (no snapshot read
  or written: every ticket and leave record of the outing read by ``_id``), "after" the code
  now (the snapshot, then forward until a miss);
- co-op: ``--other-shifts`` shifts and as many ledger entries of other groups (a store a year
  old), then one group's upcoming shifts and balances: "before" the queries as they were (a
  filter on ``group_id`` with a range and a sort, and the group's whole ledger, which FerretDB
  answers by reading every document of the collection), "after" the group sequences by ``_id``,
  cold (a new process) and warm.

    cd services/events && PYTHONPATH=../.. ../../.venv/bin/python ../../bench/attendance_cost.py
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, MongoClient
from pymongo.database import Database

from bench.store_queries import _default_pid, store_cpu_seconds
from parentnet_kit import cities, config, testing

# Every command the bench's client sends, by name (parentnet_kit.testing.StoreReads).
READS = testing.StoreReads()
COUNTED = ("find", "insert", "update", "delete")


def _before_attendance(db: Database) -> Any:
    """The attendance code as it was before snapshots: no snapshot read or written."""
    from events import attendance

    class Before(attendance.Attendance):
        def _from_store(self, outing_id: str) -> attendance._Known:
            return attendance._Known()

        def _store_snapshot(self, outing_id: str, known: attendance._Known) -> None:
            return None

    return Before(db)


def _measure(label: str, calls: list[Callable[[], Any]], pid: int | None, rows: list[str]) -> None:
    READS.clear()
    cpu, began = store_cpu_seconds(pid), time.perf_counter()
    for call in calls:
        call()
    wall = (time.perf_counter() - began) * 1000 / len(calls)
    cpu_ms = (store_cpu_seconds(pid) - cpu) * 1000 / len(calls)
    counts = {name: n for name, n in READS.commands.items() if name in COUNTED}
    per = ", ".join(f"{name} {n / len(calls):.1f}" for name, n in sorted(counts.items()))
    rows.append(f"| {label} | {len(calls)} | {per} | {cpu_ms:.1f} | {wall:.1f} |")


def attendance_rows(db: Database, outings: int, families: int, pid: int | None, rows: list[str]) -> None:
    from events.attendance import Attendance

    setup = Attendance(db)
    ids = {side: [f"bench-{side}-{i}" for i in range(outings)] for side in ("before", "after")}
    for outing_ids in ids.values():
        for outing_id in outing_ids:
            for m in range(families):
                setup.join(outing_id, f"m{m}", 1, 1, 10)
            setup.leave(outing_id, "m0")
    make: dict[str, Callable[[], Any]] = {"before": lambda: _before_attendance(db), "after": lambda: Attendance(db)}
    for op in ("join", "leave"):
        for side in ("before", "after"):
            new = make[side]
            if op == "join":
                calls = [lambda o=o, new=new: new().join(o, "newcomer", 1, 1, 10) for o in ids[side]]
            else:

                def leave(o: str, new: Callable[[], Any] = new) -> None:
                    process = new()
                    process.leave(o, "m1")
                    process.newly_promoted(o, 10)  # a leave promotes the next on the waitlist

                calls = [lambda o=o: leave(o) for o in ids[side]]
            _measure(f"{op}, a new process, {families} families: {side}", calls, pid, rows)


def coop_rows(db: Database, other_shifts: int, pid: int | None, rows: list[str]) -> None:
    from events.coop import ESCROW, Coop

    now = datetime.now(UTC)
    others = [
        {
            "_id": uuid.uuid4().hex,
            "group_id": f"other{i % 500}",
            "host_id": "h",
            "starts_at": now - timedelta(days=i % 300),
            "ends_at": now - timedelta(days=i % 300) + timedelta(hours=2),
            "places": 4,
            "status": "done",
        }
        for i in range(other_shifts)
    ]
    db.coop_shifts.insert_many(others)
    db.coop_ledger.insert_many(
        [
            {"_id": uuid.uuid4().hex, "group_id": s["group_id"], "debtor": "m", "creditor": ESCROW, "amount": 120}
            | {"at": now}
            for s in others
        ]
    )
    coop = Coop(db, None)
    coop.ensure_indexes()
    group = "bench-group"
    raw = {"city": "paris", "places": 4, "place_note": ""}
    shift_ids = []
    for day in range(1, 21):
        starts = (now + timedelta(days=day)).replace(hour=9, minute=0, second=0, microsecond=0)
        made = coop.offer(
            f"host{day % 4}",
            group,
            {**raw, "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat()},
        )
        assert made["shift"], made["errors"]
        shift_ids.append(made["shift"]["id"])
    for i, shift_id in enumerate(shift_ids):
        coop.book(shift_id, f"parent{i % 6}", 1)

    def group_shifts_before() -> list[dict[str, Any]]:
        since = datetime.now(UTC) - timedelta(hours=12)
        docs = coop.shifts.find({"group_id": group, "starts_at": {"$gte": since}}).sort("starts_at", ASCENDING)
        return [coop.view(d) for d in docs.limit(20)]

    def balances_before() -> dict[str, int]:
        totals: dict[str, int] = {}
        for entry in coop.ledger.find({"group_id": group}):
            totals[entry["creditor"]] = totals.get(entry["creditor"], 0) + entry["amount"]
            totals[entry["debtor"]] = totals.get(entry["debtor"], 0) - entry["amount"]
        return totals

    assert [s["id"] for s in group_shifts_before()] == [s["id"] for s in Coop(db, None).group_shifts(group, 20)]
    assert balances_before() == Coop(db, None).balances(group)
    repeat = 5
    _measure("group shifts: before", [group_shifts_before] * repeat, pid, rows)
    _measure("group shifts: after, a new process", [lambda: Coop(db, None).group_shifts(group, 20)] * repeat, pid, rows)
    _measure("group shifts: after, warm", [lambda: coop.group_shifts(group, 20)] * repeat, pid, rows)
    _measure("balances: before", [balances_before] * repeat, pid, rows)
    _measure("balances: after, a new process", [lambda: Coop(db, None).balances(group)] * repeat, pid, rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outings", type=int, default=20)
    parser.add_argument("--families", type=int, default=14, help="families per outing before the measured calls")
    parser.add_argument("--other-shifts", type=int, default=20_000)
    parser.add_argument("--store-pid", type=int, default=None)
    args = parser.parse_args()
    pid = args.store_pid or _default_pid()
    cities.remember(cities.founding())  # the open cities, as a started service loads them
    client = MongoClient(config.mongo_uri(), tz_aware=True, event_listeners=[READS])
    db = client[testing.unique_name("bench_attendance")]
    rows = [
        "| call | calls | store commands per call | store CPU per call (ms) | wall per call (ms) |",
        "|---|---:|---|---:|---:|",
    ]
    try:
        attendance_rows(db, args.outings, args.families, pid, rows)
        coop_rows(db, args.other_shifts, pid, rows)
    finally:
        client.drop_database(db.name)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
