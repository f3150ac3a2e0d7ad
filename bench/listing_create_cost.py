"""What one listing's creation asks of the store, on an empty listings database and on one
filled by ``devtools.volume`` (issue 17: a create cost ~50 % more store CPU at volume).

Counts every command the create path sends (create, match, notifications, outbox, buckets), by
collection, command and filter shape (``kit.querylog``), and flags each shape FerretDB 1.24
does not serve from an index (anything but ``{_id: <string>}``). Counted, not timed: the
shared store's time is every session's.

    python -m bench.listing_create_cost [--volume 10000] [--near]

``--near``: the volume is placed in Paris, where the postings are (toys offers and wanted
requests within 3 km of each other, as the soak's fill is); otherwise in the cities no test
uses, as the listings tests' at-volume fixtures place it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "listings"))

from pymongo import MongoClient, monitoring

from devtools import volume
from parentnet_kit import cities, config, querylog, testing

POSTINGS = 6  # measured postings, alternately an offer and a wanted request


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        collection = event.command.get(name)
        if isinstance(collection, str):
            shape = querylog.command_shape(name, event.command)
            self.seen.append((collection, name, json.dumps(shape)))
        elif name == "listCollections":
            self.seen.append(("-", name, "null"))

    def succeeded(self, event: Any) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass


def fields(kind: str, n: int) -> dict[str, Any]:
    where = {"lat": 48.8566 + 0.002 * (n % 5), "lon": 2.3522 + 0.002 * (n % 3)}
    return {
        "kind": kind,
        "category": "toys",
        "title": f"Measured {kind} {n}",
        "city": "paris",
        "pickup_location": where,
        **({"match_radius_km": 3} if kind == "wanted" else {"condition": "good"}),
    }


def measure(db_name: str) -> Counter:
    from listings.store import ListingStore

    listener = Commands()
    client = MongoClient(config.mongo_uri(), tz_aware=True, event_listeners=[listener])
    try:
        store = ListingStore(client[db_name], None)
        store.ensure_indexes()
        store.adopt_buckets()
        store.create(fields("give", 99), "warm-up", [])  # this process's first read of each bucket
        listener.seen.clear()
        for n in range(POSTINGS):
            store.create(fields("wanted" if n % 2 else "give", n), f"poster-{n}", [])
        return Counter(listener.seen)
    finally:
        client.close()


def report(label: str, counts: Counter) -> None:
    total = sum(counts.values())
    print(f"\n## {label}: {total / POSTINGS:.1f} commands per create")
    for (collection, command, shape), calls in sorted(counts.items(), key=lambda kv: -kv[1]):
        indexed = shape == "null" or querylog.is_point_lookup(json.loads(shape))
        flag = "" if indexed or command == "insert" else "  <-- not a point lookup"
        print(f"{calls / POSTINGS:6.1f}  {collection:28} {command:15} {shape}{flag}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--volume", type=int, default=10_000)
    parser.add_argument("--near", action="store_true")
    args = parser.parse_args(argv)
    cities.remember(cities.founding())
    client = MongoClient(config.mongo_uri())
    empty, filled = testing.unique_name("bench_empty"), testing.unique_name("bench_volume")
    try:
        report("empty", measure(empty))
        placed = ("paris",) if args.near else volume.FAR_FROM_TESTS
        volume.fill(config.mongo_uri(), args.volume, listings_db=filled, in_cities=placed, outbox_history=False)
        cities.remember(cities.founding())
        report(f"{args.volume} listings in {', '.join(placed)}", measure(filled))
    finally:
        client.drop_database(empty)
        client.drop_database(filled)
        client.close()


if __name__ == "__main__":
    main()
