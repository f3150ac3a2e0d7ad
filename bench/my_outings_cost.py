"""What "my outings" costs the store (issue 20): store commands and wall time, cold (a new
process) and warm, for one member with ``--outings`` outings in their history, of which
``--over`` are over (moved to the past in the outings and in the index's recorded ends, as
time passing would). Runs the events service's own code against ``MONGO_URI`` (the shared
server by default) in a database of its own, dropped after.

    cd services/events && PYTHONPATH=../.. ../../.venv/bin/python ../../bench/my_outings_cost.py

Prints the rows of docs/store.md's "my outings" measurement.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import MongoClient

from parentnet_kit import config, testing
from parentnet_kit.inbox import Inbox
from parentnet_kit.outbox import AggregateStore

# Every command the bench's client sends, by name (parentnet_kit.testing.StoreReads).
READS = testing.StoreReads()
COUNTED = ("find", "insert", "update", "delete")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outings", type=int, default=200)
    parser.add_argument("--over", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from events.attendance import Attendance
    from events.calendar_feeds import CalendarFeeds
    from events.coop import Coop
    from events.dependencies import OutingStore
    from events.my_outings import MemberOutings
    from events.trips import Trips

    client = MongoClient(config.mongo_uri(), tz_aware=True, event_listeners=[READS])
    db = client[testing.unique_name("bench_my_outings")]

    def process() -> OutingStore:
        inbox = Inbox(AggregateStore(db, "inbox", None, outbox="inbox_outbox"), "events")
        return OutingStore(
            AggregateStore(db, "outings", None),
            Attendance(db),
            inbox,
            Coop(db, None),
            Trips(db, inbox.notify, None),
            MemberOutings(db),
            CalendarFeeds(db),
        )

    try:
        store = process()
        base: dict[str, Any] = {
            "title": "x",
            "category": "zoo",
            "venue_name": "v",
            "location": {"lat": 48.85, "lon": 2.35},
            "city": "paris",
            "time_zone": "Europe/Paris",
            "language": "fr",
            "description": "",
            "capacity": 5,
        }
        start = datetime.now(UTC) + timedelta(days=30)
        ids = []
        for i in range(args.outings):
            clean = {**base, "starts_at": start + timedelta(days=i), "ends_at": start + timedelta(days=i, hours=2)}
            ids.append(store.create(clean, "organizer")["id"])
            store.join(ids[-1], "me", 1, 0)
        long_ago = datetime(2020, 1, 1, tzinfo=UTC)
        over = set(ids[: args.over])
        for outing_id in over:
            db.outings.update_one(
                {"_id": outing_id}, {"$set": {"starts_at": long_ago, "ends_at": long_ago + timedelta(hours=2)}}
            )
        for entry in db.member_outings.find({"owner_id": "me"}):
            if entry["outing_ids"][0] in over:
                ended = {f"ends.{entry['outing_ids'][0]}": long_ago + timedelta(hours=2)}
                db.member_outings.update_one({"_id": entry["_id"]}, {"$set": ended})
        print(f"{args.outings} outings in the history, {args.over} over")
        for label, states in (("upcoming (default)", ["organizing", "going", "waitlisted"]), ("past", ["past"])):
            for run in ("cold", "warm"):
                if run == "cold":
                    store = process()
                times, counts = [], []
                for _ in range(1 if run == "cold" else args.repeat):
                    READS.clear()
                    began = time.perf_counter()
                    page = store.member_outings("me", states, 20, None)
                    times.append((time.perf_counter() - began) * 1000)
                    counts.append(sum(n for name, n in READS.commands.items() if name in COUNTED))
                print(f"| {label} | {run} | {counts[-1]} | {statistics.median(times):.0f} ms | {page['total']} |")
    finally:
        client.drop_database(db.name)


if __name__ == "__main__":
    main()
