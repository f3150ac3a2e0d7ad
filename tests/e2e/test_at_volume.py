"""The API's promises under concurrency on a store already holding a year of other data.

A stack of its own (the session's stack keeps an empty store for the tests that count what
they find, e.g. the search backfill), whose databases are filled with devtools.volume before
its processes start: VOLUME_OUTINGS outings with their tickets, claims and a year of outbox
records (one per version ever written, ``outbox_history=True``), as many members (sessions,
tokens, attempts) and listings, in cities no test uses. FerretDB's cost of a query follows the
size of what it reads, so these tests fail if a hot path reads a whole collection again
(answers past the gateway's deadline come back as SERVICE_UNAVAILABLE).

The outbox history costs little (measured on 2 shared cores, 3,000 outings): the fill writes
247,977 documents in 23.7 s with it, 192,023 in 10.1 s without (55,955 outbox records); this
module's setup (fill and start) took 32.7 s against 18.9 s, the whole module 62-66 s against
54 s, about 3 % of the e2e suite's 7.5 min. The records are filled as adopted and published
long ago, so the sweepers never read them again: they only make the store bigger.

Through the API, at the same instant: 50 parents join a 10-place outing; 20 members reserve one
listing; 12 parents book a 5-place co-op shift, then cancellations race rebookings; two swaps
of a school run's rota that share a day are accepted.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient
from support.graphql import post
from support.phones import PhoneTransport, next_address
from test_attendance_end_to_end import ATTENDEES, INBOX, JOIN, LEAVE
from test_community_end_to_end import (
    ACCEPT_SWAP,
    BALANCE,
    BOOK,
    CANCEL_BOOKING,
    EVERYONE,
    GROUP,
    JOIN_GROUP,
    OFFER,
    PROPOSE,
    SHIFTS,
    TRIP_CREATE,
    TRIP_JOIN,
    VOLUNTEER,
    school_run,
    shift,
)
from test_listings_end_to_end import ACCEPT as RESERVATION_ACCEPT
from test_listings_end_to_end import ADDRESS, LISTING, RESERVE, stroller
from test_listings_end_to_end import CREATE as LISTING_CREATE
from test_outing_end_to_end import proposal

from gateway.ids import from_global_id
from parentnet_kit import config, testing
from parentnet_kit.testing import wait_for

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from devtools import volume  # noqa: E402
from devtools.isolated import isolated_stack  # noqa: E402

# PARENTNET_E2E_VOLUME=1 runs the same tests on a (nearly) empty store, for comparison.
VOLUME_OUTINGS = int(os.environ.get("PARENTNET_E2E_VOLUME", "3000"))
REGISTER = """mutation($input: MemberRegisterInput!) {
  memberRegister(input: $input) { accessToken member { id } userErrors { code } } }"""
CREATE = """mutation($input: OutingCreateInput!) { outingCreate(input: $input) {
  outing { id seriesId occurrence } userErrors { field message code } } }"""
UPDATE = """mutation($id: ID!) { outingUpdate(input: {outingId: $id, scope: SERIES,
  title: "Éveil musical (nouvelle salle)", venueName: "Salle des fêtes"}) {
  outing { title } userErrors { field message code } } }"""
CANCEL = """mutation($id: ID!) { outingCancel(input: {outingId: $id, scope: SERIES}) {
  outing { status } userErrors { field message code } } }"""


@pytest.fixture(scope="module")
def stack_at_volume(tmp_path_factory):
    with isolated_stack("e2evol", tmp_path_factory.mktemp("vol"), start=False) as running:
        env = running.env
        volume.fill(
            config.mongo_uri(),
            VOLUME_OUTINGS,
            events_db=env["EVENTS_DB"],
            members_db=env["MEMBERS_DB"],
            listings_db=env["LISTINGS_DB"],
            in_cities=volume.FAR_FROM_TESTS,
            outbox_history=True,
        )
        # The volume is really there, where the services read: outings and their outbox history.
        with MongoClient(config.mongo_uri()) as client:
            events = client[env["EVENTS_DB"]]
            held = {name: events[name].estimated_document_count() for name in ("outings", "outbox")}
        assert held["outings"] >= VOLUME_OUTINGS and held["outbox"] >= VOLUME_OUTINGS, held
        running.start_all()
        running.wait_healthy(120)
        yield running


@pytest.fixture(scope="module")
def api(stack_at_volume):
    """Run a document; ``phone``: the loopback address to send it from (each member signs up
    and acts from a phone of their own, the limits per address as deployed), else the test's."""
    transport = PhoneTransport()
    client = httpx.Client(base_url=stack_at_volume.gateway_url, timeout=30, transport=transport)

    def run(query: str, variables: dict | None = None, token: str | None = None, phone: str | None = None) -> dict:
        return post(client, query, variables, token, local_address=phone).json()

    yield run
    client.close()


def register(api, name: str) -> dict:
    """A new member on a phone of their own: ``{token, id, email, phone}``."""
    email = f"{testing.unique_name('-'.join(name.lower().split()))}@example.org"
    fields = {"email": email, "password": "a long test password", "displayName": name, "city": "paris"}
    phone = next_address()
    body = api(REGISTER, {"input": fields}, phone=phone)
    assert "errors" not in body, body
    result = body["data"]["memberRegister"]
    assert result["userErrors"] == [], result
    return {"token": result["accessToken"], "id": result["member"]["id"], "email": email, "phone": phone}


def ok(body: dict, field: str) -> dict:
    """The payload of ``field``, asserting no top-level error (SERVICE_UNAVAILABLE is one) and
    no userErrors."""
    assert "errors" not in body, body["errors"]
    payload = body["data"][field]
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload


def answered(body: dict, field: str) -> dict:
    """The payload of ``field``, asserting no top-level error (SERVICE_UNAVAILABLE is one);
    its userErrors may say no."""
    assert "errors" not in body, body["errors"]
    return body["data"][field]


def at_once(calls: list[Callable[[], dict]]) -> list[dict]:
    """Run ``calls`` each on a thread of its own, released together (a barrier), and return
    their answers in order: requests that reach the gateway at the same instant."""
    start = threading.Barrier(len(calls))

    def released(call: Callable[[], dict]) -> dict:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(released, calls))


def members(api, names: list[str]) -> list[dict]:
    """``register`` each name, four at a time (sign-up hashes passwords: not what is tested)."""
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda name: register(api, name), names))


def inbox(api, who: dict) -> list[dict]:
    """``who``'s inbox as they see it, newest first: ``[{kind, message, subject: {id}}]``."""
    body = api(INBOX, token=who["token"], phone=who["phone"])
    assert "errors" not in body, body["errors"]
    return body["data"]["inbox"]["nodes"]


PRIVATE_GROUP = """mutation($name: String!) { groupCreate(input: {name: $name, city: "paris", visibility: PRIVATE}) {
  group { id } userErrors { code } } }"""
JOINED_GROUP = "mutation($g: ID!) { groupJoin(input: {groupId: $g}) { membership { status } userErrors { code } } }"
PAGE = "query($id: ID!) { node(id: $id) { ... on Outing { title attendance { placesLeft waitlist } } } }"


def test_fifty_parents_race_for_ten_places_at_volume(api):
    """Issue 17's case, as review 3 widened it: on the filled store, 50 members of a private
    group join its 10-place outing released together, while an outsider tries it, 30 other
    parents join two public 10-place outings and 10 read an unrelated outing's page (91 calls at
    the same instant). Every answer comes (none SERVICE_UNAVAILABLE); exactly 10 confirmed and
    40 waitlisted on the private outing, 10 and 5 on each public one; the outsider is refused and
    sees nothing; 3 leave at once, the next 3 are promoted, each told once, nobody else told."""
    admin, organizer = register(api, "Private admin"), register(api, "Public organizer")
    tag = uuid.uuid4().hex[:6]
    group = ok(api(PRIVATE_GROUP, {"name": f"Cercle {tag}"}, admin["token"], admin["phone"]), "groupCreate")
    group_id = group["group"]["id"]

    def outing(who: dict, title: str, lat: float, **extra: str) -> str:
        made = api(
            CREATE, {"input": {**proposal(title, lat, 2.3400, **extra), "capacity": 10}}, who["token"], who["phone"]
        )
        return ok(made, "outingCreate")["outing"]["id"]

    private = outing(admin, f"Guignol {tag}", 48.8450, groupId=group_id)
    public = [outing(organizer, f"Square {tag} {n}", 48.8460 + 0.001 * n) for n in (1, 2)]
    unrelated = outing(organizer, f"Lecture {tag}", 48.8500)
    insiders = members(api, [f"Insider{i}" for i in range(50)])
    with ThreadPoolExecutor(4) as pool:
        joined = list(pool.map(lambda m: api(JOINED_GROUP, {"g": group_id}, m["token"], m["phone"]), insiders))
    assert [ok(j, "groupJoin")["membership"]["status"] for j in joined] == ["ACTIVE"] * 50
    crowd, readers = members(api, [f"Crowd{i}" for i in range(30)]), members(api, [f"Reader{i}" for i in range(10)])
    outsider = register(api, "Outsider")

    def join(who: dict, outing_id: str, children: int = 1) -> Callable[[], dict]:
        return lambda: api(JOIN, {"id": outing_id, "adults": 1, "children": children}, who["token"], who["phone"])

    answers = at_once(
        [join(m, private) for m in insiders]
        + [join(outsider, private)]
        + [join(m, public[i // 15], 2) for i, m in enumerate(crowd)]
        + [lambda m=m: api(PAGE, {"id": unrelated}, m["token"], m["phone"]) for m in readers]
    )
    inside, tried, others, reads = answers[:50], answers[50], answers[51:81], answers[81:]
    failed = [b["errors"] for b in inside + others + reads if "errors" in b]
    assert failed == [], failed  # SERVICE_UNAVAILABLE (or any top-level error) is a failure
    statuses = [ok(a, "outingJoin")["place"]["status"] for a in inside]
    assert (statuses.count("CONFIRMED"), statuses.count("WAITLISTED")) == (10, 40)
    codes = {(e.get("extensions") or {}).get("code") for e in tried.get("errors") or []}
    assert "SERVICE_UNAVAILABLE" not in codes and not ((tried.get("data") or {}).get("outingJoin") or {}).get("place")
    for i in (0, 1):
        each = [ok(a, "outingJoin")["place"]["status"] for a in others[15 * i : 15 * (i + 1)]]
        assert (each.count("CONFIRMED"), each.count("WAITLISTED")) == (10, 5)
    assert {r["data"]["node"]["title"] for r in reads} == {f"Lecture {tag}"}

    def seen_by(who: dict) -> dict | None:
        body = api(ATTENDEES, {"id": private}, who["token"], who["phone"])
        assert "errors" not in body, body["errors"]
        return body["data"]["node"]

    seen = seen_by(admin)
    assert seen["attendance"] == {"families": 10, "adults": 10, "children": 10, "waitlist": 40, "placesLeft": 0}
    assert seen_by(outsider) is None  # a private group's outing: nothing of it for outsiders
    order = [e["node"]["id"] for e in seen["attendees"]["edges"]]
    by_id = {m["id"]: m for m in insiders}
    leavers, promoted = order[:3], order[10:13]
    left = at_once([lambda m=m: api(LEAVE, {"id": private}, by_id[m]["token"], by_id[m]["phone"]) for m in leavers])
    assert [ok(b, "outingLeave")["userErrors"] for b in left] == [[], [], []]
    after = seen_by(admin)["attendees"]["edges"]
    assert [e["node"]["id"] for e in after if e["status"] == "CONFIRMED"] == order[3:10] + promoted
    news = ("waitlist_promoted", private)

    def told(member_id: str) -> list[tuple[str, str]]:
        return [(n["kind"], n["subject"]["id"]) for n in inbox(api, by_id[member_id]) if n["subject"]["id"] == private]

    for member_id in promoted:
        wait_for(lambda m=member_id: news in told(m), timeout=15, what="a promotion told")
    assert {m: told(m) for m in promoted} == {m: [news] for m in promoted}  # each told once
    rest = [m for m in order if m not in promoted]
    assert {m: news in told(m) for m in rest} == dict.fromkeys(rest, False)  # and nobody else


def test_a_weekly_series_of_52_is_created_updated_and_cancelled_at_volume(api, stack_at_volume):
    organizer = register(api, "Series organizer")
    weekly = proposal("Éveil musical", 48.8400, 2.3500, recurrence={"frequency": "WEEKLY", "count": 52})
    first = ok(api(CREATE, {"input": weekly}, organizer["token"]), "outingCreate")["outing"]
    assert first["occurrence"] == 1 and first["seriesId"]
    assert ok(api(UPDATE, {"id": first["id"]}, organizer["token"]), "outingUpdate")["outing"]["title"].endswith(
        "(nouvelle salle)"
    )
    assert ok(api(CANCEL, {"id": first["id"]}, organizer["token"]), "outingCancel")["outing"]["status"] == "cancelled"

    db = MongoClient(config.mongo_uri(), tz_aware=True)[stack_at_volume.env["EVENTS_DB"]]
    series_id = from_global_id(first["seriesId"])[1]
    occurrences = db.series.find_one({"_id": series_id})["occurrences"]
    outings = [db.outings.find_one({"_id": i}) for i in occurrences]
    assert len(outings) == 52
    assert {o["venue_name"] for o in outings} == {"Salle des fêtes"}
    assert {o["status"] for o in outings} == {"cancelled"}


def test_a_parents_groups_blocks_sign_ins_and_listings_at_volume(api):
    """What every signed-in request reads (viewer context: groups, blocks), sign-in throttling
    and "my listings" go by _id: right answers, within the deadline, among other members' data."""
    me, admin, blocker = (register(api, n) for n in ("Volume me", "Volume admin", "Volume blocker"))
    create = """mutation($name: String!) { groupCreate(input: {name: $name, city: "paris"}) {
      group { id } userErrors { field code } } }"""
    join = "mutation($g: ID!) { groupJoin(input: {groupId: $g}) { membership { status } userErrors { code } } }"
    groups = [ok(api(create, {"name": f"Square {i}"}, admin["token"]), "groupCreate")["group"]["id"] for i in range(3)]
    for group_id in groups:
        assert ok(api(join, {"g": group_id}, me["token"]), "groupJoin")["membership"] == {"status": "ACTIVE"}
    block = "mutation($id: ID!) { memberBlock(input: {memberId: $id}) { userErrors { code } } }"
    ok(api(block, {"id": me["id"]}, blocker["token"]), "memberBlock")

    mine = api("{ viewer { groups { id memberCount } } }", token=me["token"])
    assert "errors" not in mine, mine
    assert sorted((g["id"], g["memberCount"]) for g in mine["data"]["viewer"]["groups"]) == sorted(
        (g, 2) for g in groups
    )
    seen = api("query($id: ID!) { node(id: $id) { id } }", {"id": blocker["id"]}, me["token"])
    assert "errors" not in seen and seen["data"]["node"] is None  # blocked: invisible both ways

    for i in range(3):
        ok(
            api(
                LISTING_CREATE,
                {"input": {**stroller("GIVE", {"lat": 48.853, "lon": 2.369}), "title": f"Lit {i}"}},
                me["token"],
            ),
            "listingCreate",
        )
    listed = api("{ myListings(first: 2) { totalCount nodes { title } pageInfo { hasNextPage } } }", token=me["token"])
    assert "errors" not in listed, listed
    assert listed["data"]["myListings"]["totalCount"] == 3
    assert listed["data"]["myListings"]["pageInfo"]["hasNextPage"] is True

    aliases = " ".join(
        f'g{i}: memberLogin(input: {{email: "{me["email"]}", password: "guess {i}"}}) {{ userErrors {{ code }} }}'
        for i in range(12)
    )
    body = api(f"mutation {{ {aliases} }}")
    assert "errors" not in body, body
    codes = [body["data"][f"g{i}"]["userErrors"][0]["code"] for i in range(12)]
    assert codes.count("INVALID_CREDENTIALS") == 5 and codes.count("THROTTLED") == 7


def test_twenty_members_reserve_one_listing_at_the_same_instant_at_volume(api):
    owner = register(api, "Volume lender")
    askers = members(api, [f"Asker{i}" for i in range(20)])
    made = ok(
        api(
            LISTING_CREATE, {"input": stroller("GIVE", {"lat": 48.8521, "lon": 2.3712})}, owner["token"], owner["phone"]
        ),
        "listingCreate",
    )
    listing_id = made["listing"]["id"]
    answers = at_once([lambda a=a: api(RESERVE, {"id": listing_id}, a["token"], a["phone"]) for a in askers])
    # Every asker is answered within the deadline (no SERVICE_UNAVAILABLE); one holds it.
    refusals = [answered(a, "listingReserve")["userErrors"] for a in answers]
    assert sorted(len(e) for e in refusals) == [0] + [1] * 19
    assert {(e[0]["code"], tuple(e[0]["field"])) for e in refusals if e} == {
        ("ALREADY_RESERVED", ("input", "listingId"))
    }
    assert all(ADDRESS not in json.dumps(a) for a in answers)  # not before the owner accepts
    (winner,) = [who for who, e in zip(askers, refusals, strict=True) if not e]
    losers = [who for who in askers if who is not winner]

    requested = ("listing_reservation_requested", listing_id)
    wait_for(lambda: requested in [(n["kind"], n["subject"]["id"]) for n in inbox(api, owner)], timeout=15)
    assert [(n["kind"], n["subject"]["id"]) for n in inbox(api, owner)] == [requested]  # asked once
    accepted = ok(
        api(RESERVATION_ACCEPT, {"id": listing_id}, owner["token"], owner["phone"]), "listingReservationAccept"
    )
    assert accepted["listing"]["status"] == "RESERVED"

    seen = api(LISTING, {"id": listing_id}, winner["token"], winner["phone"])
    assert seen["data"]["node"]["pickupAddress"] == ADDRESS
    for loser in losers:
        assert ADDRESS not in json.dumps(api(LISTING, {"id": listing_id}, loser["token"], loser["phone"]))
    told = ("listing_reservation_accepted", listing_id)
    wait_for(lambda: [(n["kind"], n["subject"]["id"]) for n in inbox(api, winner)] == [told], timeout=15)
    assert all(inbox(api, loser) == [] for loser in losers)


def test_more_bookers_than_places_and_cancellations_racing_at_volume(api):
    """A five-place, one-hour co-op shift: twelve parents book a place each at the same instant,
    then the five who got one cancel (each twice, from two taps) while the seven others book
    again: places never oversold, each parent's credits and the group's ledger right."""
    admin, host = register(api, "Coop admin"), register(api, "Coop host")
    parents = members(api, [f"Coop parent{i}" for i in range(12)])
    group = ok(api(GROUP, token=admin["token"], phone=admin["phone"]), "groupCreate")["group"]["id"]
    for who in (host, *parents):
        ok(api(JOIN_GROUP, {"g": group}, who["token"], who["phone"]), "groupJoin")
    start = (datetime.now(UTC) + timedelta(days=3)).replace(hour=14, minute=0, second=0, microsecond=0)
    offered = ok(
        api(OFFER, {"input": shift(group, start, hours=1, places=5)}, host["token"], host["phone"]), "coopShiftOffer"
    )
    shift_id = offered["shift"]["id"]

    def book(who: dict) -> dict:
        return answered(api(BOOK, {"s": shift_id, "n": 1}, who["token"], who["phone"]), "coopShiftBook")

    def places_left() -> int:
        body = api(SHIFTS, {"g": group}, host["token"], host["phone"])
        assert "errors" not in body, body["errors"]
        (seen,) = [s for s in body["data"]["node"]["coopShifts"] if s["id"] == shift_id]
        return seen["placesLeft"]

    def balance(who: dict) -> float:
        body = api(BALANCE, {"g": group}, who["token"], who["phone"])
        assert "errors" not in body, body["errors"]
        return body["data"]["node"]["viewerCoopBalance"]["childHours"]

    def ledger() -> list[dict]:
        body = api(EVERYONE, {"g": group}, admin["token"], admin["phone"])
        assert "errors" not in body, body["errors"]
        return body["data"]["node"]["coopBalances"]

    first = at_once([lambda p=p: book(p) for p in parents])
    booked = {p["id"]: b["booking"] for p, b in zip(parents, first, strict=True) if not b["userErrors"]}
    assert len(booked) == 5
    assert all(b["booking"]["childHours"] == 1.0 for b in first if not b["userErrors"])
    assert [b["userErrors"][0]["code"] for b in first if b["userErrors"]] == ["FULL"] * 7
    assert places_left() == 0
    assert [balance(p) for p in parents] == [-1.0 if p["id"] in booked else 0.0 for p in parents]

    cancelling = [p for p in parents if p["id"] in booked]
    again = [p for p in parents if p["id"] not in booked]

    def cancel(who: dict) -> dict:
        body = api(CANCEL_BOOKING, {"b": booked[who["id"]]["id"]}, who["token"], who["phone"])
        return answered(body, "coopBookingCancel")

    calls = [lambda p=p: cancel(p) for p in cancelling] * 2 + [lambda p=p: book(p) for p in again]
    second = at_once(calls)
    cancels, rebooks = second[: 2 * len(cancelling)], second[2 * len(cancelling) :]
    for i in range(len(cancelling)):  # each booking cancelled once, the other tap told so
        pair = (cancels[i], cancels[i + len(cancelling)])
        assert sorted(len(c["userErrors"]) for c in pair) == [0, 1]
        assert {c["booking"]["state"] for c in pair if not c["userErrors"]} == {"CANCELLED"}
        assert {c["userErrors"][0]["code"] for c in pair if c["userErrors"]} <= {"NOT_CONFIRMED", "CANCELLED"}
    rebooked = [p for p, b in zip(again, rebooks, strict=True) if not b["userErrors"]]
    assert {b["userErrors"][0]["code"] for b in rebooks if b["userErrors"]} <= {"FULL"}
    assert len(rebooked) <= 5  # never oversold (a rebooking gets a place freed before it looked)

    assert places_left() == 5 - len(rebooked)
    assert [balance(p) for p in parents] == [-1.0 if p in rebooked else 0.0 for p in parents]  # refunded once
    accounts = ledger()
    assert sum(a["childHours"] for a in accounts) == 0
    assert sum(a["childHours"] for a in accounts if a["isEscrow"]) == len(rebooked)  # what is booked now


def test_two_swaps_racing_for_the_same_school_run_day_at_volume(api):
    """Ana walks day 1, Bao day 2, Chloe day 3. Ana offers her day 1 for Bao's day 2, Chloe
    offers her day 3 for Ana's day 1; Bao and Ana accept at the same instant. Exactly one swap
    happens; every family on the trip is told once of each of its two days."""
    ana, bao, chloe, dan = members(api, ["Ana", "Bao", "Chloe", "Dan"])
    group = ok(api(GROUP, token=ana["token"], phone=ana["phone"]), "groupCreate")["group"]["id"]
    for who in (bao, chloe, dan):
        ok(api(JOIN_GROUP, {"g": group}, who["token"], who["phone"]), "groupJoin")
    made = ok(
        api(TRIP_CREATE, {"input": school_run(group, "Pédibus au volume")}, ana["token"], ana["phone"]), "tripCreate"
    )
    trip_id, days = made["trip"]["id"], [d["date"] for d in made["trip"]["rota"]]
    for who, children in ((ana, ["Lina"]), (bao, ["Minh", "Thu"]), (chloe, ["Jules"]), (dan, ["Inès"])):
        ok(api(TRIP_JOIN, {"t": trip_id, "c": children}, who["token"], who["phone"]), "tripJoin")
    for who, day in ((ana, days[0]), (bao, days[1]), (chloe, days[2])):
        ok(api(VOLUNTEER, {"t": trip_id, "d": day}, who["token"], who["phone"]), "tripVolunteer")
    ana_for_bao = ok(
        api(PROPOSE, {"t": trip_id, "a": days[0], "b": days[1]}, ana["token"], ana["phone"]), "tripSwapPropose"
    )
    chloe_for_ana = ok(
        api(PROPOSE, {"t": trip_id, "a": days[2], "b": days[0]}, chloe["token"], chloe["phone"]), "tripSwapPropose"
    )

    accepting = [(bao, ana_for_bao["swap"]["id"]), (ana, chloe_for_ana["swap"]["id"])]
    answers = at_once(
        [lambda w=w, s=s: api(ACCEPT_SWAP, {"s": s, "t": trip_id}, w["token"], w["phone"]) for w, s in accepting]
    )
    results = [answered(a, "tripSwapAccept") for a in answers]
    rota = "query($t: ID!) { node(id: $t) { ... on Trip { rota { date driver { displayName } } } } }"

    def drivers(who: dict) -> tuple[str | None, ...]:
        body = api(rota, {"t": trip_id}, who["token"], who["phone"])
        assert "errors" not in body, body["errors"]
        named = {d["date"]: (d["driver"] or {}).get("displayName") for d in body["data"]["node"]["rota"]}
        return tuple(named[d] for d in days[:3])

    assert sorted(len(r["userErrors"]) for r in results) == [0, 1], (results, drivers(dan))
    (won,) = [i for i, r in enumerate(results) if not r["userErrors"]]
    lost = results[1 - won]
    assert results[won]["swap"] == {"state": "DONE"}
    assert lost["userErrors"] == [{"code": "STALE"}] and lost["swap"]["state"] in ("STALE", "CONFLICT")
    # Never half a swap: the winner's two days changed hands, the third day stayed; everyone
    # on the trip sees that rota.
    expected = [("Bao", "Ana", "Chloe"), ("Chloe", "Bao", "Ana")][won]
    assert [drivers(who) for who in (ana, bao, chloe, dan)] == [expected] * 4

    changed = [(days[0], days[1]), (days[2], days[0])][won]

    def rota_news(who: dict) -> list[str]:
        return [n["message"] for n in inbox(api, who) if n["kind"] == "trip_rota_changed"]

    for who in (ana, bao, chloe, dan):
        wait_for(lambda who=who: len(rota_news(who)) >= 2, timeout=15, what=f"{who['email']} told of the swap")
        news = rota_news(who)
        assert len(news) == 2 and {day for day in days[:3] for m in news if day in m} == set(changed), news
