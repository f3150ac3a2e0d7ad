"""What "parents near me" costs the store (issue 17), before and after the tiles of
``members.nearby_cells``, side by side in one run: store commands per search (pymongo's command
monitoring) and the store's CPU per search (``/proc`` of the FerretDB process, so it includes
whatever else the shared server serves meanwhile: compare the rows of one run, not runs).

Runs the members service's own code against ``MONGO_URI`` (the shared server by default) in a
database of its own, dropped after: ``--others`` members spread over the world's cities as
``devtools/volume.py`` spreads them (six in ten with a home), adopted into the tiles as the
service's timer does (timed), then ``--viewers`` members in Paris, each searching three times,
interleaved viewer by viewer:

- before: the code as it was, the range filter on ``discoverable`` and ``cell.lat``/``cell.lon``
  (the same store, with the tiles switched off, which is the scan the search falls back to
  until adoption);
- after, cold: a new ``MemberStore`` per search (a new process: no tile read before);
- after, warm: the same store again (the tiles read only from what came after).

Every search's answer is checked equal (ids, bands, total) across the three.

    cd services/members && PYTHONPATH=../.. ../../.venv/bin/python ../../bench/nearby_cost.py
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import timedelta
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database

from bench.store_queries import _default_pid, store_cpu_seconds
from parentnet_kit import cities, config, testing, tokens

# Every command the bench's client sends, by name (parentnet_kit.testing.StoreReads).
READS = testing.StoreReads()
COUNTED = ("find", "insert", "update", "delete", "getMore")


_KEY: list[bytes] = []


def _store(db: Database) -> Any:
    from members import security
    from members.store import MemberStore

    if not _KEY:
        _KEY.append(tokens.generate_key_pair()[0])
    signer = tokens.TokenSigner(_KEY[0], timedelta(minutes=5))
    return MemberStore(db, None, signer, security.Limits(), timedelta(days=1), lambda f, *a: f(*a))


def fill_others(db: Database, count: int, rng: random.Random) -> None:
    """``count`` members as devtools/volume.py writes them (straight into the collection)."""
    from devtools import volume
    from members import domain

    now = domain.now_utc()
    batch: list[dict[str, Any]] = []
    for n in range(count):
        city = volume.world()[rng.choice(volume.CITY_SLUGS)]
        clean = {"email": f"other{n}@bench.example", "display_name": "Bench parent", "city": city.slug}
        state = domain.new_member_state(clean, volume.PASSWORD_HASH, now)
        if rng.random() < 0.6:
            state = domain.with_cell({**state, "home": volume._near(rng, city), "version": 2})
        batch.append(state)
        if len(batch) == 2000:
            db.members.insert_many(batch)
            batch = []
    if batch:
        db.members.insert_many(batch)


def _viewers(store: Any, count: int, rng: random.Random) -> list[str]:
    from devtools import volume

    paris = volume.world()["paris"]
    ids = []
    for n in range(count):
        fields = {
            "email": f"viewer{n}@bench.example",
            "password": "bench-password-1",
            "display_name": "V",
            "city": "paris",
        }
        member_id = store.register(fields, f"10.9.{n // 200}.{n % 200 + 1}")["member"]["id"]
        assert store.update_profile(member_id, {"home_location": volume._near(rng, paris)})["errors"] == []
        ids.append(member_id)
    return ids


def _answer(page: dict[str, Any]) -> tuple[Any, ...]:
    assert page["errors"] == [], page
    return tuple((e["node"]["id"], e["distance_band"]) for e in page["edges"]), page["total"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--others", type=int, default=20_000)
    parser.add_argument("--viewers", type=int, default=30)
    parser.add_argument("--page", type=int, default=20)
    parser.add_argument("--store-pid", type=int, default=None)
    args = parser.parse_args()
    pid = args.store_pid or _default_pid()
    from devtools import volume

    cities.remember(list(volume.world().values()))  # the open cities, as volume.fill opens them
    rng = random.Random(17)
    client = MongoClient(config.mongo_uri(), tz_aware=True, event_listeners=[READS])
    db = client[testing.unique_name("bench_nearby")]
    labels = ("before (range scan)", "after, cold (new process)", "after, warm")
    totals = {label: {"calls": 0, "cpu": 0.0, "wall": 0.0, "commands": {}} for label in labels}
    try:
        fill_others(db, args.others, rng)
        store = _store(db)
        store.ensure_indexes()
        began, cpu = time.perf_counter(), store_cpu_seconds(pid)
        adopted = store.adopt_nearby()
        adoption = (time.perf_counter() - began, store_cpu_seconds(pid) - cpu)
        viewers = _viewers(store, args.viewers, rng)
        before = _store(db)
        before.nearby.adopted = lambda: False  # the scan, as the code was
        seen = 0
        for viewer in viewers:
            answers = []
            for label in labels:
                searcher = {"before (range scan)": before, "after, warm": store}.get(label) or _store(db)
                READS.clear()
                cpu, began = store_cpu_seconds(pid), time.perf_counter()
                answers.append(_answer(searcher.parents_nearby(viewer, {}, args.page, None)))
                row = totals[label]
                row["wall"] += time.perf_counter() - began
                row["cpu"] += store_cpu_seconds(pid) - cpu
                row["calls"] += 1
                for name, n in READS.commands.items():
                    if name in COUNTED:
                        row["commands"][name] = row["commands"].get(name, 0) + n
            assert answers[0] == answers[1] == answers[2], (viewer, answers)
            seen += answers[0][1]
    finally:
        client.drop_database(db.name)
    print(
        f"{args.others} other members; "
        f"adoption of existing members: {adopted} entered in {adoption[0]:.1f} s, store CPU {adoption[1]:.1f} s; "
        f"{args.viewers} viewers in Paris, {seen / max(1, len(viewers)):.0f} parents near each on average\n"
    )
    print("| search | calls | store commands per search | store CPU per search (ms) | wall per search (ms) |")
    print("|---|---:|---|---:|---:|")
    for label, row in totals.items():
        calls = row["calls"]
        per = ", ".join(f"{name} {n / calls:.1f}" for name, n in sorted(row["commands"].items()))
        print(f"| {label} | {calls} | {per} | {row['cpu'] * 1000 / calls:.1f} | {row['wall'] * 1000 / calls:.1f} |")


if __name__ == "__main__":
    main()
