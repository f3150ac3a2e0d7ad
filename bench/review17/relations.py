"""Finds and wall time of one ``viewer_context`` for a member who made 500 blocks (100 lifted),
was blocked by 120 and joined 200 groups (left 190), on the local FerretDB (a throwaway probe).

Run from ``services/members`` with ``PYTHONPATH=<checkout>/kit:<checkout>/services/members``,
once per version compared (docs/store.md, *A member's blocks and groups*).
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import time  # noqa: E402
from datetime import timedelta  # noqa: E402

from pymongo import MongoClient  # noqa: E402

from members import security  # noqa: E402
from members.store import MemberStore  # noqa: E402
from parentnet_kit import cities, config, testing  # noqa: E402


def store_on(name: str, finds: testing.StoreReads | None = None) -> tuple[MongoClient, MemberStore]:
    client = MongoClient(config.mongo_uri(), tz_aware=True, event_listeners=[finds] if finds else [])
    limits = security.Limits()
    return client, MemberStore(client[name], None, None, limits, timedelta(days=1), lambda f, *a: f(*a))  # type: ignore[arg-type]


def main() -> None:
    cities.remember(cities.founding())
    name = testing.unique_name("relprobe")
    finds = testing.StoreReads()
    writer_client, store = store_on(name)
    reader_client, other = store_on(name, finds)
    blocked = [f"b{i:03d}" for i in range(500)]
    blockers = [f"r{i:03d}" for i in range(120)]
    everyone = ("me", "founder", *blocked, *blockers)
    store.db.members.insert_many([{"_id": i, "version": 1, "protected": False} for i in everyone])
    for b in blocked:
        store.set_block("me", b, True)
    for b in blocked[::5]:
        store.set_block("me", b, False)
    for r in blockers:
        store.set_block(r, "me", True)
    groups = [store.create_group("founder", {"name": f"Parc {i}", "city": "paris"})["group"]["id"] for i in range(200)]
    for gid in groups:
        store.join_group("me", gid)
    for gid in groups[10:]:
        store.leave_group("me", gid)
    for label in ("first read", "second read"):
        finds.clear()
        started = time.perf_counter()
        other.viewer_context("me")
        print(f"{label}: {len(finds.finds())} finds, {(time.perf_counter() - started) * 1000:.1f} ms")
    took = []
    for _ in range(20):
        finds.clear()
        started = time.perf_counter()
        other.viewer_context("me")
        took.append(time.perf_counter() - started)
    took.sort()
    print(f"20 reads: {len(finds.finds())} finds each, median {took[10] * 1000:.1f} ms, max {took[-1] * 1000:.1f} ms")
    writer_client.drop_database(name)
    writer_client.close()
    reader_client.close()


if __name__ == "__main__":
    main()
