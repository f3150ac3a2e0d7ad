"""The API's promises under concurrency on a store already holding a year of other data.

A stack of its own (the session's stack keeps an empty store for the tests that count what
they find, e.g. the search backfill), whose databases are filled with devtools.volume before
its processes start: VOLUME_OUTINGS outings with their tickets, claims and outbox records,
as many members (sessions, tokens, attempts) and listings, about 117,000 documents, in cities
no test uses. FerretDB's cost of a query follows the size of what it reads, so these tests
fail if a hot path reads a whole collection again (answers past the gateway's deadline come
back as SERVICE_UNAVAILABLE).
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient
from support.graphql import post
from support.phones import PhoneTransport, next_address
from test_attendance_end_to_end import ATTENDEES, INBOX, JOIN, LEAVE
from test_listings_end_to_end import CREATE as LISTING_CREATE
from test_listings_end_to_end import stroller
from test_outing_end_to_end import proposal

from gateway.ids import from_global_id
from parentnet_kit import config, testing

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
            outbox_history=False,
        )
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


def test_fifty_parents_race_for_ten_places_at_volume(api):
    organizer = register(api, "Organizer")
    spot = {"lat": 48.8462, "lon": 2.3371}
    made = ok(
        api(CREATE, {"input": {**proposal("Guignol", **spot), "capacity": 10}}, organizer["token"]), "outingCreate"
    )
    outing_id = made["outing"]["id"]
    with ThreadPoolExecutor(4) as pool:  # sign-up hashes passwords (argon2): not what is measured here
        parents = list(pool.map(lambda i: register(api, f"Parent{i}"), range(50)))
    with ThreadPoolExecutor(50) as pool:
        answers = list(
            pool.map(
                lambda p: api(JOIN, {"id": outing_id, "adults": 1, "children": 1}, p["token"], p["phone"]), parents
            )
        )
    # 50 answers, every one within the gateway's deadline (no SERVICE_UNAVAILABLE), none refused.
    statuses = [ok(a, "outingJoin")["place"]["status"] for a in answers]
    assert statuses.count("CONFIRMED") == 10 and statuses.count("WAITLISTED") == 40

    seen = api(ATTENDEES, {"id": outing_id}, organizer["token"])["data"]["node"]
    assert seen["attendance"] == {"families": 10, "adults": 10, "children": 10, "waitlist": 40, "placesLeft": 0}
    order = [e["node"]["id"] for e in seen["attendees"]["edges"]]
    by_id = {p["id"]: p for p in parents}
    leavers, next_three = order[:3], order[10:13]
    for member_id in leavers:
        ok(api(LEAVE, {"id": outing_id}, by_id[member_id]["token"], by_id[member_id]["phone"]), "outingLeave")
    after = api(ATTENDEES, {"id": outing_id}, organizer["token"])["data"]["node"]["attendees"]["edges"]
    assert [e["node"]["id"] for e in after if e["status"] == "CONFIRMED"] == order[3:10] + next_three
    for member_id in next_three:  # each told once
        nodes = api(INBOX, token=by_id[member_id]["token"])["data"]["inbox"]["nodes"]
        assert [(n["kind"], n["subject"]["id"]) for n in nodes] == [("waitlist_promoted", outing_id)]
    assert api(INBOX, token=by_id[order[13]]["token"])["data"]["inbox"]["nodes"] == []


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
