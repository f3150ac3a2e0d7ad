"""Co-op childcare and school runs in a real nameko container on the local MongoDB-protocol
server: the ledger, places and the floor under concurrency; a driver's swap."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from conftest import call
from nameko.standalone.rpc import ClusterRpcProxy
from pymongo import MongoClient

from parentnet_kit import config
from parentnet_kit import nameko_testing as members
from parentnet_kit.testing import call_twice

GROUP = "g-coop"


@pytest.fixture(autouse=True)
def group_members():
    """What members says of these tests' groups: every host, parent and driver is in (the
    service asks before an offer, a booking, a trip, a ride or a turn at the wheel)."""
    everyone = ["host", "shy", "parent", "other", "ana", *(f"host{i}" for i in range(5))]
    everyone += [f"parent{i}" for i in range(12)]
    members.group(GROUP, **dict.fromkeys(everyone, "member"))
    members.group("g-school", ana="admin", ben="member", bao="member", chloe="member")
    members.group("g-due", **dict.fromkeys(["host-due", "ana-due", "bao-due", "parent-due"], "member"))
    members.group("g-ledger", **dict.fromkeys(["host-ledger", "p1-ledger", "p2-ledger", "p3-ledger"], "member"))


def shift_fields(day: int, hour: int, places: int = 3) -> dict:
    start = (datetime.now(UTC) + timedelta(days=day)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return {
        "city": "paris",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "places": places,
        "place_note": "chez moi, 3e étage",
    }


def test_200_racing_bookings_and_cancellations_keep_the_ledger_places_and_floor(
    container_at_volume, service_config_at_volume
):
    container, service_config = container_at_volume, service_config_at_volume
    hosts = [f"host{i}" for i in range(5)]
    parents = [f"parent{i}" for i in range(12)]
    call(container, "coop_set_floor", GROUP, -120)  # two child-hours of debt at most
    shifts = [
        call(container, "coop_offer", hosts[i % 5], GROUP, shift_fields(1 + i // 5, 8 + i % 5))["shift"]
        for i in range(20)
    ]
    # Set the stage so both limits are certainly met in the race: parent0 is at the floor,
    # and shift 1 is full.
    assert call(container, "coop_book", shifts[0]["id"], "parent0", 2)["errors"] == []
    assert call(container, "coop_book", shifts[1]["id"], "parent1", 2)["errors"] == []
    assert call(container, "coop_book", shifts[1]["id"], "parent2", 1)["errors"] == []
    rng = random.Random(8)
    with ClusterRpcProxy(service_config) as cluster:
        first_wave = [cluster.events.coop_book.call_async(shifts[2 + i % 18]["id"], "parent0", 1) for i in range(5)] + [
            cluster.events.coop_book.call_async(shifts[1]["id"], rng.choice(parents[3:]), 1) for _ in range(5)
        ]
        first_wave += [
            cluster.events.coop_book.call_async(rng.choice(shifts)["id"], rng.choice(parents), rng.choice([1, 1, 2]))
            for _ in range(107)
        ]
        booked = [b.result() for b in first_wave]
        confirmed = [b["booking"] for b in booked if b["booking"]]
        assert len(confirmed) >= 10
        to_cancel = rng.sample(confirmed, min(20, len(confirmed)))
        more = 200 - 3 - len(first_wave) - 2 * len(to_cancel)
        second_wave = [
            cluster.events.coop_book.call_async(
                rng.choice(shifts)["id"], rng.choice(parents + hosts), rng.choice([1, 2])
            )
            for _ in range(more)
        ] + [cluster.events.coop_cancel.call_async(b["id"], b["member_id"]) for b in to_cancel]
        # The same cancellations again, racing the first ones: a refund happens once.
        second_wave += [cluster.events.coop_cancel.call_async(b["id"], b["member_id"]) for b in to_cancel]
        results = [c.result() for c in second_wave]
    assert 3 + len(first_wave) + len(second_wave) == 200

    codes = {e["code"] for r in booked + results for e in r["errors"]}
    assert "BELOW_FLOOR" in codes and "FULL" in codes  # both limits were actually hit

    balances = call(container, "coop_balances", GROUP)
    assert sum(balances.values()) == 0  # the group's ledger sums to zero
    assert all(v >= -120 for member, v in balances.items() if member != "escrow")  # nobody below the floor
    db = MongoClient(service_config["MONGO_URI"])[service_config["EVENTS_DB"]]
    for shift in shifts:
        seats = db.coop_seats.count_documents({"shift_id": shift["id"]})
        booked_children = sum(
            b["children"] for b in db.coop_bookings.find({"shift_id": shift["id"], "status": "confirmed"})
        )
        assert seats == booked_children <= shift["places"]
    # The escrow holds exactly what confirmed bookings cost.
    held = sum(b["cost"] for b in db.coop_bookings.find({"group_id": GROUP, "status": "confirmed"}))
    assert balances.get("escrow", 0) == held


def test_a_cancellation_is_refunded_once(container):
    shift = call(container, "coop_offer", "host", GROUP, shift_fields(2, 9))["shift"]
    booking = call(container, "coop_book", shift["id"], "parent", 2)["booking"]
    assert call(container, "coop_balance", GROUP, "parent")["balance"] == -120
    assert call(container, "coop_cancel", booking["id"], "parent")["errors"] == []
    assert call(container, "coop_cancel", booking["id"], "parent")["errors"][0]["code"] == "NOT_CONFIRMED"
    assert call(container, "coop_balance", GROUP, "parent")["balance"] == 0
    assert call(container, "coop_shift", shift["id"])["places_left"] == 3


def trip_fields(title: str = "École Vaucanson à pied") -> dict:
    return {
        "title": title,
        "mode": "walk",
        "weekdays": [0, 1, 2, 3, 4],
        "time": "08:15",
        "city": "paris",
        "meeting_point": "Square du Temple",
        "meeting_location": {"lat": 48.8645, "lon": 2.3605},
        "destination": "École Vaucanson",
        "seats": 8,
    }


def test_a_driver_swaps_a_day_and_everyone_on_those_days_is_told(container):
    trip = call(container, "trip_create", "ana", "g-school", trip_fields())["trip"]
    for parent, kids in (("ana", ["Lina"]), ("bao", ["Minh", "Thu"]), ("chloe", ["Jules"])):
        assert call(container, "trip_join", trip["id"], parent, kids)["errors"] == []
    days = [d["date"] for d in call(container, "trip_rota", trip["id"])]
    assert call(container, "trip_volunteer", trip["id"], "ana", days[0])["errors"] == []
    assert call(container, "trip_volunteer", trip["id"], "bao", days[1])["errors"] == []
    assert call(container, "trip_volunteer", trip["id"], "chloe", days[0])["errors"][0]["code"] == "TAKEN"

    swap = call(container, "trip_swap_propose", trip["id"], "ana", days[0], days[1])["swap"]
    assert call(container, "trip_swap_accept", swap["id"], "chloe")["errors"][0]["code"] == "NOT_FOUND"
    assert call(container, "trip_swap_accept", swap["id"], "bao")["errors"] == []
    rota = {d["date"]: d["driver_id"] for d in call(container, "trip_rota", trip["id"])}
    assert (rota[days[0]], rota[days[1]]) == ("bao", "ana")
    for parent in ("ana", "bao", "chloe"):
        told = [n["message"] for n in call(container, "inbox", parent)["items"] if n["kind"] == "trip_rota_changed"]
        assert len(told) == 2, parent
        assert {d for d in days[:2] if any(m.endswith(f"on {d}: the rota changed.") for m in told)} == set(days[:2])
    assert call(container, "trip_swap_accept", swap["id"], "bao")["errors"][0]["code"] == "DONE"


def test_redelivered_offers_bookings_trips_and_swaps_happen_once(container, service_config):
    uri = service_config["AMQP_URI"]
    db = MongoClient(config.mongo_uri())[service_config["EVENTS_DB"]]
    offered, again = call_twice(uri, "events", "coop_offer", host_id="host", group_id=GROUP, fields=shift_fields(2, 9))
    assert offered["errors"] == [] and again["shift"]["id"] == offered["shift"]["id"]
    shift_id = offered["shift"]["id"]
    assert db.coop_shifts.count_documents({}) == 1

    booked, again = call_twice(uri, "events", "coop_book", shift_id=shift_id, member_id="parent", children=2)
    assert booked["errors"] == [] and again["errors"] == []
    assert again["booking"]["id"] == booked["booking"]["id"] and again["booking"]["status"] == "confirmed"
    assert db.coop_bookings.count_documents({}) == 1 and db.coop_seats.count_documents({}) == 2
    assert call(container, "coop_balance", GROUP, "parent")["balance"] == -120  # debited once: 2 children, 1 hour
    # A refusal is answered alike the second time, and changes nothing.
    full, again = call_twice(uri, "events", "coop_book", shift_id=shift_id, member_id="other", children=2)
    assert full["errors"][0]["code"] == again["errors"][0]["code"] == "FULL"
    assert db.coop_seats.count_documents({}) == 2 and call(container, "coop_balance", GROUP, "other")["balance"] == 0

    fields = trip_fields("Pédibus")
    made, again = call_twice(uri, "events", "trip_create", creator_id="ana", group_id="g-school", fields=fields)
    assert made["errors"] == [] and again["trip"]["id"] == made["trip"]["id"]
    assert db.trips.count_documents({}) == 1
    trip_id = made["trip"]["id"]
    days = [d["date"] for d in call(container, "trip_rota", trip_id)]
    assert call(container, "trip_volunteer", trip_id, "ana", days[0])["errors"] == []
    assert call(container, "trip_volunteer", trip_id, "bao", days[1])["errors"] == []
    proposed, again = call_twice(
        uri, "events", "trip_swap_propose", trip_id=trip_id, member_id="ana", my_date=days[0], their_date=days[1]
    )
    assert proposed["errors"] == [] and again["swap"]["id"] == proposed["swap"]["id"]
    assert db.trip_swaps.count_documents({}) == 1
    asked = [n for n in call(container, "inbox", "bao")["items"] if n["kind"] == "trip_swap_proposed"]
    assert len(asked) == 1


def test_a_swap_whose_day_changed_hands_meanwhile_moves_nothing(container_at_volume, service_config_at_volume):
    container, service_config = container_at_volume, service_config_at_volume
    trip = call(container, "trip_create", "ana", "g-school", trip_fields("Pédibus du canal"))["trip"]
    days = [d["date"] for d in call(container, "trip_rota", trip["id"])]
    for driver, day in (("ana", days[0]), ("bao", days[1]), ("chloe", days[2])):
        assert call(container, "trip_volunteer", trip["id"], driver, day)["errors"] == []
    older = call(container, "trip_swap_propose", trip["id"], "ana", days[0], days[1])["swap"]
    # Meanwhile bao gives day 1 to chloe for her day 2.
    newer = call(container, "trip_swap_propose", trip["id"], "bao", days[1], days[2])["swap"]
    assert call(container, "trip_swap_accept", newer["id"], "chloe")["errors"] == []

    stale = call(container, "trip_swap_accept", older["id"], "bao")
    assert stale["errors"][0]["code"] == "STALE" and stale["swap"]["status"] == "stale"
    assert call(container, "trip_swap_accept", older["id"], "bao")["errors"][0]["code"] == "STALE"
    rota = {d["date"]: d["driver_id"] for d in call(container, "trip_rota", trip["id"])}
    assert [rota[d] for d in days[:3]] == ["ana", "chloe", "bao"]

    # The same race after the check (here: an accepted swap a crash left, finished later).
    later = call(container, "trip_swap_propose", trip["id"], "ana", days[0], days[2])["swap"]
    db = MongoClient(config.mongo_uri())[service_config["EVENTS_DB"]]
    db.trip_swaps_due.insert_one({"_id": later["id"], "at": datetime.now(UTC)})  # as accepting writes first
    db.trip_swaps.update_one({"_id": later["id"]}, {"$set": {"status": "accepted"}})
    db.trip_rota.update_one({"_id": f"{trip['id']}:{days[2]}"}, {"$set": {"driver_id": "dan"}})
    call(container, "settle")
    rota = {d["date"]: d["driver_id"] for d in call(container, "trip_rota", trip["id"])}
    assert [rota[d] for d in days[:3]] == ["ana", "chloe", "dan"]  # ana kept hers: never half a swap
    assert db.trip_swaps.find_one({"_id": later["id"]})["status"] == "conflict"


def test_a_shift_is_kept_and_indexed_only_as_its_hosts_cell_or_city_in_protected_mode(container, service_config):
    home = {"lat": 48.86123, "lon": 2.35517}
    ordinary = call(container, "coop_offer", "host", GROUP, {**shift_fields(3, 9), "location": home})["shift"]
    protected = call(container, "coop_offer", "shy", GROUP, {**shift_fields(3, 10), "location": home}, True)["shift"]
    db = MongoClient(config.mongo_uri(), tz_aware=True)[service_config["EVENTS_DB"]]
    stored = {s["_id"]: s for s in db.coop_shifts.find({"_id": {"$in": [ordinary["id"], protected["id"]]}})}
    assert stored[ordinary["id"]]["area"]["id"] != "city:paris"
    assert stored[protected["id"]]["area"]["id"] == "city:paris"
    for shift in stored.values():
        assert str(home["lat"]) not in repr(shift) and str(home["lon"]) not in repr(shift)


def test_the_settle_timer_pays_ended_shifts_and_finishes_what_a_crash_left_from_its_markers(
    container_at_volume, service_config_at_volume
):
    """On a store holding a year of shifts and bookings, the timer reads only what is due."""
    c, cfg = container_at_volume, service_config_at_volume
    db = MongoClient(cfg["MONGO_URI"], tz_aware=True)[cfg["EVENTS_DB"]]
    shift = call(c, "coop_offer", "host-due", "g-due", shift_fields(2, 9))["shift"]
    booking = call(c, "coop_book", shift["id"], "parent-due", 2)["booking"]
    assert db.coop_due.find_one({"_id": f"shift:{shift['id']}"}) is not None
    assert db.coop_due.find_one({"_id": f"booking:{booking['id']}"}) is None  # confirmed: not due
    # A second booking whose delivery died after its debit: left pending, with its marker.
    trip = call(c, "trip_create", "ana-due", "g-due", trip_fields())["trip"]
    past = datetime.now(UTC) - timedelta(hours=1)
    db.coop_shifts.update_one({"_id": shift["id"]}, {"$set": {"starts_at": past - timedelta(hours=1), "ends_at": past}})
    db.coop_due.update_one({"_id": f"shift:{shift['id']}"}, {"$set": {"at": past}})

    call(c, "settle")
    assert db.coop_shifts.find_one({"_id": shift["id"]})["status"] == "done"
    assert call(c, "coop_balance", "g-due", "host-due")["balance"] == 120
    assert db.coop_due.find_one({"_id": f"shift:{shift['id']}"}) is None

    # A swap accepted by a delivery that died before applying it is applied by the timer.
    for parent in ("ana-due", "bao-due"):
        call(c, "trip_join", trip["id"], parent, ["Lina"])
    days = [d["date"] for d in call(c, "trip_rota", trip["id"])]
    call(c, "trip_volunteer", trip["id"], "ana-due", days[0])
    call(c, "trip_volunteer", trip["id"], "bao-due", days[1])
    swap = call(c, "trip_swap_propose", trip["id"], "ana-due", days[0], days[1])["swap"]
    db.trip_swaps_due.insert_one({"_id": swap["id"], "at": past})
    db.trip_swaps.insert_one({"_id": f"accepted:{swap['id']}", "at": past})
    call(c, "settle")
    rota = {d["date"]: d["driver_id"] for d in call(c, "trip_rota", trip["id"])}
    assert (rota[days[0]], rota[days[1]]) == ("bao-due", "ana-due")
    assert db.trip_swaps_due.count_documents({}) == 0


def test_a_booking_reads_the_ledger_by_id_only(container_factory, service_config_at_volume, tmp_path, monkeypatch):
    """The ledger only grows (two entries a booking): every read of it on a booking is a point lookup."""
    from events.service import EventsService
    from parentnet_kit import querylog

    log = tmp_path / "queries.jsonl"
    monkeypatch.setenv(querylog.ENV, str(log))
    c = container_factory(EventsService, {**service_config_at_volume, "max_workers": 4})
    c.start()
    shift = call(c, "coop_offer", "host-ledger", "g-ledger", shift_fields(3, 9, places=4))["shift"]
    for parent in ("p1-ledger", "p2-ledger"):
        assert call(c, "coop_book", shift["id"], parent, 1)["errors"] == []
    booking = call(c, "coop_book", shift["id"], "p3-ledger", 1)["booking"]
    assert call(c, "coop_cancel", booking["id"], "p3-ledger")["errors"] == []
    assert call(c, "coop_balance", "g-ledger", "p3-ledger")["balance"] == 0
    assert call(c, "coop_balance", "g-ledger", "p1-ledger")["balance"] == -60
    rows = querylog.summarize(log.read_text().splitlines())
    reading = ("find", "aggregate", "count", "update", "delete")
    ledger_reads = [r for r in rows if r["collection"] == "coop_ledger" and r["command"] in reading]
    assert ledger_reads and all(r["indexed"] for r in ledger_reads), ledger_reads
