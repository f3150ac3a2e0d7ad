"""A group's trips, a trip's riders and its rota are read by ``_id`` (per-key sequences, rota
entries by date), never a filter over every trip, rider or rota entry (issue 17). On the real
store, with the commands it receives recorded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo import MongoClient
from test_coop_and_trips import trip_fields

from events.trips import Trips
from parentnet_kit import testing


@pytest.fixture
def watched(service_config):
    with testing.recording_store(service_config["MONGO_URI"], service_config["EVENTS_DB"]) as (db, reads):
        yield db, reads


def test_trips_riders_and_rota_are_read_by_id(watched):
    db, reads = watched
    trips = Trips(db, lambda *a: True)
    trips.ensure_indexes()
    first = trips.create("ana", "g1", trip_fields("Aller"))["trip"]["id"]
    second = trips.create("bao", "g1", trip_fields("Retour"))["trip"]["id"]
    trips.create("chloe", "g2", trip_fields("Ailleurs"))
    for parent, kids in (("ana", ["Lina"]), ("bao", ["Minh", "Thu"])):
        assert trips.join(first, parent, kids)["errors"] == []
    assert trips.join(first, "ana", ["Lina", "Noé"])["errors"] == []  # joined again: the same rider
    assert trips.join(first, "chloe", ["A", "B", "C", "D", "E"])["errors"][0]["code"] == "FULL"
    day = trips.rota_of(first)[0]["date"]
    assert trips.volunteer(first, "bao", day)["errors"] == []
    reads.clear()
    assert [t["id"] for t in trips.of_group("g1")] == [first, second]
    assert trips.riders(first) == [
        {"member_id": "ana", "children": ["Lina", "Noé"]},
        {"member_id": "bao", "children": ["Minh", "Thu"]},
    ]
    rota = trips.rota_of(first)
    assert rota[0] == {"date": day, "driver_id": "bao"} and all(r["driver_id"] is None for r in rota[1:])
    assert reads.reads and reads.not_by_id(commands=("find", "count", "aggregate")) == []


@pytest.fixture
def events_db(service_config):
    client = MongoClient(service_config["MONGO_URI"], tz_aware=True)
    yield client[service_config["EVENTS_DB"]]
    client.close()


def test_trips_stored_before_the_sequences_are_adopted(events_db):
    """As older code stored them: trips and riders, nothing listing them."""
    now = datetime.now(UTC)
    events_db["trips"].insert_one(
        {"_id": "t-old", "group_id": "g1", **_stored(trip_fields("Vieux")), "created_at": now}
    )
    events_db["trip_members"].insert_one(
        {"_id": "t-old:ana", "trip_id": "t-old", "member_id": "ana", "children": ["Lina"]}
    )
    trips = Trips(events_db, lambda *a: True)
    trips.ensure_indexes()
    newer = trips.create("bao", "g1", trip_fields("Neuf"))["trip"]["id"]
    assert [t["id"] for t in trips.of_group("g1")] == ["t-old", newer]
    assert trips.riders("t-old") == [{"member_id": "ana", "children": ["Lina"]}]
    Trips(events_db, lambda *a: True).ensure_indexes()  # once per database
    assert len(Trips(events_db, lambda *a: True).of_group("g1")) == 2


def _stored(fields: dict) -> dict:
    return {
        **{k: v for k, v in fields.items() if k != "weekdays"},
        "weekdays": sorted(fields["weekdays"]),
        "created_by": "ana",
        "time_zone": "Europe/Paris",
        "version": 1,
    }
