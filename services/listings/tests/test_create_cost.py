"""Posting a listing asks the store for as much at volume as on an empty store (issue 17: a
create cost ~50 % more store CPU at volume). Counted with the kit's ``StoreReads``, not timed:
every find, update and delete of the create path (create, match, notifications, outbox, buckets)
is a point lookup ``{_id: <string>}``, the one filter FerretDB 1.24 serves from an index, and one
posting sends as many of each, to the same collections, as on an empty store."""

from __future__ import annotations

import uuid
from collections import Counter

from listings.store import ListingStore
from parentnet_kit.testing import StoreRead, recording_store

NEAR_PLACE_MONGE = {"lat": 48.8430, "lon": 2.3520}


def books(kind: str, title: str) -> dict:
    return {
        "kind": kind,
        "category": "books",
        "title": title,
        "city": "paris",
        "pickup_location": NEAR_PLACE_MONGE,
        **({"condition": "good"} if kind != "wanted" else {"match_radius_km": 2}),
    }


def one_create_each_way(mongo_uri: str, db_name: str) -> tuple[Counter, list[StoreRead]]:
    """The selections (find, update, delete, ...) of an offer and a wanted request that match
    each other, posted by a process that served a posting there before (its bucket reads cached,
    as a running service's are): ``(Counter of (command, collection), those not by _id)``."""
    with recording_store(mongo_uri, db_name) as (db, reads):
        store = ListingStore(db, None)
        store.ensure_indexes()
        store.adopt_buckets()  # the service's timer does this once per database
        run = uuid.uuid4().hex[:8]
        store.create(books("give", f"Warm-up {run}"), f"warm-{run}", [])
        reads.clear()
        assert store.create(books("wanted", f"Wanted {run}"), f"seeker-{run}", [])["errors"] == []
        assert store.create(books("lend", f"Lent {run}"), f"lender-{run}", [])["errors"] == []
        return Counter((r.command, r.collection) for r in reads.reads), reads.not_by_id(("find", "update", "delete"))


def test_a_posting_reads_as_much_at_volume_as_on_an_empty_store(service_config, volume_db):
    empty, empty_scans = one_create_each_way(service_config["MONGO_URI"], service_config["LISTINGS_DB"])
    full, full_scans = one_create_each_way(service_config["MONGO_URI"], volume_db)
    assert empty_scans == [] and full_scans == []
    assert full == empty, (empty, full)
