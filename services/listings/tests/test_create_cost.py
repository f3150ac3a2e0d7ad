"""Posting a listing asks the store for as much at volume as on an empty store (issue 17: a
create cost ~50 % more store CPU at volume). Counted with a CommandListener, not timed: every
find, update and delete of the create path (create, match, notifications, outbox, buckets) is a
point lookup ``{_id: <string>}``, the one filter FerretDB 1.24 serves from an index, and one
posting sends as many of each as on an empty store."""

from __future__ import annotations

import uuid
from collections import Counter

from pymongo import MongoClient, monitoring

from listings.store import ListingStore
from parentnet_kit import querylog

NEAR_PLACE_MONGE = {"lat": 48.8430, "lon": 2.3520}


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, object]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if isinstance(event.command.get(name), str):
            self.seen.append((event.command[name], name, querylog.command_shape(name, event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def books(kind: str, title: str) -> dict:
    return {
        "kind": kind,
        "category": "books",
        "title": title,
        "city": "paris",
        "pickup_location": NEAR_PLACE_MONGE,
        **({"condition": "good"} if kind != "wanted" else {"match_radius_km": 2}),
    }


def one_create_each_way(mongo_uri: str, db_name: str) -> tuple[Counter, list[tuple[str, str, object]]]:
    """The commands of an offer and a wanted request that match each other, posted by a process
    that served a posting there before (its bucket reads cached, as a running service's are)."""
    listener = Commands()
    client = MongoClient(mongo_uri, tz_aware=True, event_listeners=[listener])
    try:
        store = ListingStore(client[db_name], None)
        store.ensure_indexes()
        store.adopt_buckets()  # the service's timer does this once per database
        run = uuid.uuid4().hex[:8]
        store.create(books("give", f"Warm-up {run}"), f"warm-{run}", [])
        listener.seen.clear()
        assert store.create(books("wanted", f"Wanted {run}"), f"seeker-{run}", [])["errors"] == []
        assert store.create(books("lend", f"Lent {run}"), f"lender-{run}", [])["errors"] == []
        seen = list(listener.seen)
    finally:
        client.close()
    scans = [c for c in seen if c[1] in ("find", "update", "delete") and not querylog.is_point_lookup(c[2])]
    return Counter(command for _, command, _ in seen), scans


def test_a_posting_reads_as_much_at_volume_as_on_an_empty_store(service_config, volume_db):
    empty, empty_scans = one_create_each_way(service_config["MONGO_URI"], service_config["LISTINGS_DB"])
    full, full_scans = one_create_each_way(service_config["MONGO_URI"], volume_db)
    assert empty_scans == [] and full_scans == []
    assert full == empty, (empty, full)
