"""Two swaps sharing a school-run day, accepted at the same instant, on the real store: one ends
done and the other a conflict, the rota is exactly the done one applied, and a swap is never
half applied. FerretDB 1.24 does not check an update's filter atomically (its #3040), so the
old guarded ``update_one({_id, driver_id: before})`` let both swaps answer DONE (the end-to-end
race at volume saw the rota end (Chloe, Ana, Ana) in 3 of 8 runs); each day's change is now an
insert of a unique ``_id`` (``events.trips`` docstring).

Each racer has its own client (its own connections), released together by a barrier."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from pymongo import MongoClient
from test_coop_and_trips import trip_fields

from events.trips import Trips

ROUNDS = 12


@pytest.fixture
def stores(service_config):
    """Three Trips over three clients of the test's database: one to set up, two racers."""
    clients = [MongoClient(service_config["MONGO_URI"], tz_aware=True) for _ in range(3)]
    told: list[tuple] = []
    made = [Trips(c[service_config["EVENTS_DB"]], lambda *a: told.append(a) or True) for c in clients]
    made[0].ensure_indexes()
    yield made, told
    for client in clients:
        client.close()


def _race(*calls):
    """Run the calls ``(function, *args)`` at once (a barrier releases them); their answers, in
    order."""
    barrier = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(i, call):
        barrier.wait(timeout=15)
        answers[i] = call[0](*call[1:])

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(a is not None for a in answers), "a racer did not answer"
    return answers


def _trip(trips: Trips, drivers: list[str]) -> tuple[str, list[str]]:
    trip = trips.create("ana", "g-school", trip_fields("Pédibus"))["trip"]["id"]
    for parent in drivers:
        trips.join(trip, parent, ["Lina"])
    days = [d["date"] for d in trips.rota_of(trip)][: len(drivers)]
    for parent, day in zip(drivers, days, strict=True):
        assert trips.volunteer(trip, parent, day)["errors"] == []
    return trip, days


def _drivers(trips: Trips, trip: str, days: list[str]) -> list[str]:
    rota = {d["date"]: d["driver_id"] for d in trips.rota_of(trip)}
    return [rota[d] for d in days]


def test_two_swaps_sharing_a_day_accepted_at_once_apply_exactly_one(stores):
    (setup, first, second), told = stores
    outcomes = set()
    for _ in range(ROUNDS):
        trip, days = _trip(setup, ["ana", "bao", "chloe"])
        # Ana asks Bao for his day; Chloe asks Bao for the same day. Bao accepts both at once.
        ana_asks = setup.propose_swap(trip, "ana", days[0], days[1])["swap"]["id"]
        chloe_asks = setup.propose_swap(trip, "chloe", days[2], days[1])["swap"]["id"]
        a, c = _race((first.accept_swap, ana_asks, "bao"), (second.accept_swap, chloe_asks, "bao"))
        done = [name for name, answer in (("ana", a), ("chloe", c)) if answer["errors"] == []]
        assert len(done) == 1, (a, c)
        loser = c if done == ["ana"] else a
        assert loser["errors"][0]["code"] == "STALE" and loser["swap"]["status"] in ("stale", "conflict")
        expected = ["bao", "ana", "chloe"] if done == ["ana"] else ["ana", "chloe", "bao"]
        assert _drivers(setup, trip, days) == expected
        assert _drivers(first, trip, days) == _drivers(second, trip, days) == expected
        outcomes.add(done[0])
        # The loser's days are untouched and free to swap again at once.
        again = setup.propose_swap(
            trip, "chloe" if done == ["ana"] else "ana", days[2] if done == ["ana"] else days[0], days[1]
        )
        assert again["errors"] == []
        assert setup.accept_swap(again["swap"]["id"], expected[1])["errors"] == []
    assert told, "the riders were told of the done swaps"


def test_a_swap_and_its_reverse_accepted_at_once_apply_exactly_one(stores):
    """Ana offers Bao her day for his; Bao offers Ana the same two days the other way. Both
    accept at once: one swap is done (the days change hands once), never both, never neither."""
    (setup, first, second), _ = stores
    for _ in range(ROUNDS):
        trip, days = _trip(setup, ["ana", "bao"])
        forth = setup.propose_swap(trip, "ana", days[0], days[1])["swap"]["id"]
        back = setup.propose_swap(trip, "bao", days[1], days[0])["swap"]["id"]
        f, b = _race((first.accept_swap, forth, "bao"), (second.accept_swap, back, "ana"))
        assert [f["errors"] == [], b["errors"] == []].count(True) == 1, (f, b)
        assert _drivers(setup, trip, days) == ["bao", "ana"]


def test_a_swap_interrupted_after_its_first_day_holds_the_day_until_the_timer_finishes_it(stores):
    """A crash after a swap took its first day: another swap that needs the day is refused (never
    half of each), the rota still shows the day's driver before, and the timer finishes the
    first swap whole."""
    (setup, other, _), _ = stores
    trip, days = _trip(setup, ["ana", "bao", "chloe"])
    crashed = setup.swaps.find_one({"_id": setup.propose_swap(trip, "ana", days[0], days[1])["swap"]["id"]})
    setup.swaps_due.insert_one({"_id": crashed["_id"], "at": datetime.now(UTC)})
    setup.swaps.insert_one({"_id": f"accepted:{crashed['_id']}", "at": datetime.now(UTC)})
    day, before, after = sorted(setup._moves(crashed))[0]
    held = {"trip_id": trip, "date": day, "swap_id": crashed["_id"], "before": before, "after": after}
    setup.rota_changes.insert_one({"_id": f"{trip}:{day}:1", **held})
    assert _drivers(other, trip, days) == ["ana", "bao", "chloe"]

    rival = other.propose_swap(trip, "chloe", days[2], days[0])["swap"]["id"]
    refused = other.accept_swap(rival, "ana")
    assert refused["errors"][0]["code"] == "STALE"
    assert _drivers(other, trip, days) == ["ana", "bao", "chloe"]

    assert other.finish_accepted() == 1
    assert _drivers(setup, trip, days) == ["bao", "ana", "chloe"]
    assert other.accept_swap(crashed["_id"], "bao")["errors"][0]["code"] == "DONE"
    # Finishing again (the accept just now left its marker) changes nothing.
    assert setup.swaps_due.find_one({"_id": crashed["_id"]}) is not None
    setup.finish_accepted()
    assert _drivers(other, trip, days) == ["bao", "ana", "chloe"]
