"""Listings through the GraphQL API on the five real processes: matching told live, the
private pickup address, racing reservations, expiry, trusted contacts."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from conftest import post
from pymongo import MongoClient
from test_subscriptions_end_to_end import Subscriber, ws_url

from parentnet_kit import config
from parentnet_kit.expiry import markers_database
from parentnet_kit.testing import wait_for

CREATE = """mutation($input: ListingCreateInput!) {
  listingCreate(input: $input) {
    listing { id title status pickupArea { id center { lat lon } } pickupAddress }
    userErrors { field message code }
  }
}"""
NEARBY = """query($near: GeoPointInput!, $radius: Float!) {
  nearbyListings(near: $near, radiusKm: $radius, first: 50) {
    nodes { id title pickupAddress pickupLocation { lat } pickupArea { id } distanceKm }
    userErrors { code }
  }
}"""
LISTING = "query($id: ID!) { node(id: $id) { ... on Listing { status reservationStatus pickupAddress } } }"
ADDRESS = "7 rue Saint-Maur, 75011 Paris, 3e étage"
RESERVE = """mutation($id: ID!) {
  listingReserve(input: {listingId: $id}) { listing { pickupAddress } userErrors { field message code } } }"""
ACCEPT = """mutation($id: ID!) {
  listingReservationAccept(input: {listingId: $id}) { listing { status } userErrors { code } } }"""


def stroller(kind: str, where: dict, **extra) -> dict:
    return {
        "kind": kind,
        "category": "PRAM_STROLLER",
        "title": "Poussette double" if kind != "WANTED" else "Cherche poussette double",
        "city": "paris",
        "pickupAddress": ADDRESS,
        "pickupLocation": where,
        **extra,
    }


def test_a_wanted_double_stroller_and_an_offer_two_km_away_both_hear_at_once(stack, gql, sign_up):
    seeker, giver = sign_up("Seeker"), sign_up("Giver")
    # In Annecy, where no other test posts listings: only these two can match.
    here = {"lat": 45.8890, "lon": 6.1100}
    two_km = {"lat": 45.8890 + 2.0 / 111.2, "lon": 6.1100}
    query = "subscription { notificationReceived { kind message subject { id ... on Listing { title } } } }"
    with (
        Subscriber(ws_url(stack), query, token=seeker["token"]) as seeker_hears,
        Subscriber(ws_url(stack), query, token=giver["token"]) as giver_hears,
    ):
        offer = gql(CREATE, {"input": stroller("GIVE", two_km, city="annecy")}, token=giver["token"])["listingCreate"]
        assert offer["userErrors"] == []
        wanted_input = stroller("WANTED", here, matchRadiusKm=3, city="annecy")
        wanted = gql(CREATE, {"input": wanted_input}, token=seeker["token"])
        assert wanted["listingCreate"]["userErrors"] == []
        # The Subscriber waits at most 15 s (support.subscriptions.DEADLINE); how fast is bench/'s.
        (to_seeker,) = seeker_hears.wait(1)
        (to_giver,) = giver_hears.wait(1)
    seen_by_seeker = to_seeker["payload"]["data"]["notificationReceived"]
    seen_by_giver = to_giver["payload"]["data"]["notificationReceived"]
    assert seen_by_seeker["kind"] == seen_by_giver["kind"] == "listing_matched"
    assert seen_by_seeker["subject"]["id"] == offer["listing"]["id"]
    assert seen_by_giver["subject"]["id"] == wanted["listingCreate"]["listing"]["id"]
    inbox = gql("{ inbox { nodes { kind } unreadCount } }", token=seeker["token"])["inbox"]
    assert [n["kind"] for n in inbox["nodes"]] == ["listing_matched"]


def test_the_exact_address_reaches_only_the_accepted_reserver(gql, http, sign_up):
    owner, reserver, stranger = sign_up("Owner"), sign_up("Reserver"), sign_up("Stranger")
    where = {"lat": 48.8660, "lon": 2.3700}
    made = gql(CREATE, {"input": stroller("LEND", where, category="FURNITURE")}, token=owner["token"])["listingCreate"]
    listing_id = made["listing"]["id"]
    assert made["listing"]["pickupAddress"] == ADDRESS  # the owner's own view

    def raw(query, variables, token=None) -> str:
        return post(http, query, variables, token).text

    def searchable():
        return listing_id in raw(NEARBY, {"near": where, "radius": 2})

    wait_for(searchable, timeout=10, what="the listing in search")
    for token in (None, stranger["token"], reserver["token"]):
        assert ADDRESS not in raw(NEARBY, {"near": where, "radius": 2}, token)
        assert ADDRESS not in raw(LISTING, {"id": listing_id}, token)

    answer = raw(RESERVE, {"id": listing_id}, reserver["token"])
    assert ADDRESS not in answer and json.loads(answer)["data"]["listingReserve"]["userErrors"] == []
    assert gql(ACCEPT, {"id": listing_id}, token=owner["token"])["listingReservationAccept"]["userErrors"] == []

    assert gql(LISTING, {"id": listing_id}, token=reserver["token"])["node"]["pickupAddress"] == ADDRESS
    assert ADDRESS not in raw(LISTING, {"id": listing_id}, stranger["token"])
    assert ADDRESS not in raw(LISTING, {"id": listing_id})
    # Reserved listings leave search; nothing there ever carried the address anyway.
    wait_for(lambda: not searchable(), timeout=10, what="the reserved listing out of search")


def test_two_members_reserving_at_the_same_moment_one_wins(gql, http, sign_up):
    owner, first, second = sign_up("Owner"), sign_up("Quick"), sign_up("Quick too")
    made = gql(CREATE, {"input": stroller("GIVE", {"lat": 48.85, "lon": 2.36})}, token=owner["token"])["listingCreate"]
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(
                lambda who: post(http, RESERVE, {"id": made["listing"]["id"]}, who["token"]).json(), [first, second]
            )
        )
    errors = [a["data"]["listingReserve"]["userErrors"] for a in answers]
    assert sorted(len(e) for e in errors) == [0, 1]
    (loser,) = [e for e in errors if e]
    assert loser[0]["code"] == "ALREADY_RESERVED" and loser[0]["field"] == ["input", "listingId"]


def test_an_expired_listing_leaves_search_with_nobody_acting(stack, gql, sign_up):
    owner = sign_up("Owner")
    where = {"lat": 48.8400, "lon": 2.3900}
    made = gql(CREATE, {"input": stroller("GIVE", where, category="TOYS", title="Puzzle")}, token=owner["token"])
    listing_id = made["listingCreate"]["listing"]["id"]

    def in_search():
        return listing_id in [n["id"] for n in gql(NEARBY, {"near": where, "radius": 1})["nearbyListings"]["nodes"]]

    wait_for(in_search, timeout=10, what="the listing in search")
    # Thirty days pass: moved back in the database, the only way to age a listing in a test.
    client = MongoClient(config.mongo_uri(), tz_aware=True)
    local = client[stack.env["LISTINGS_DB"]]["listings"].find_one({"title": "Puzzle"}, {"_id": 1})["_id"]
    past = datetime.now(UTC) - timedelta(seconds=1)
    for collection in ("listings", "listings_expiring"):  # the listing and its matching marker
        client[stack.env["LISTINGS_DB"]][collection].update_one({"_id": local}, {"$set": {"expires_at": past}})
    # The expiry sweep's schedule: the hour it falls due.
    due = markers_database(client[stack.env["LISTINGS_DB"]])
    due[f"listings_due_{past:%Y%m%d%H}"].insert_one({"_id": local, "expires_at": past})
    client.close()
    wait_for(lambda: not in_search(), timeout=10, what="the expired listing out of search")
    assert gql(LISTING, {"id": listing_id}, token=owner["token"])["node"]["status"] == "EXPIRED"


def test_trusted_contacts_through_the_api(gql, sign_up):
    first, second = sign_up("Recommender"), sign_up("Another")
    create = """mutation { contactCreate(input: {kind: PAEDIATRICIAN, name: "Dr Okafor", city: "saint-denis",
      phone: "+33 1 48 00 00 00", languages: ["fr", "en"]}) { contact { id recommendations } userErrors { code } } }"""
    made = gql(create, token=first["token"])["contactCreate"]
    assert made["contact"]["recommendations"] == 1
    recommend = """mutation($id: ID!) {
      contactRecommend(input: {contactId: $id}) { contact { recommendations } userErrors { code } } }"""
    second_vote = gql(recommend, {"id": made["contact"]["id"]}, token=second["token"])["contactRecommend"]
    assert second_vote["contact"] == {"recommendations": 2}
    again = gql(recommend, {"id": made["contact"]["id"]}, token=second["token"])["contactRecommend"]
    assert again["userErrors"] == [{"code": "ALREADY_RECOMMENDED"}]
    listed = gql('{ contacts(city: "saint-denis", kind: PAEDIATRICIAN, language: "en") { nodes { name } } }')
    assert {"name": "Dr Okafor"} in listed["contacts"]["nodes"]


PROTECT = """mutation($on: Boolean!) {
  memberUpdateProfile(input: {protectedMode: $on}) { member { protectedMode } userErrors { field code } }
}"""


def test_turning_protected_mode_on_moves_what_a_member_posted_to_city_level(stack, gql, sign_up):
    """Issue 16: in protected mode a member's listings are placed, shown, indexed and matched at
    city level, including those posted before the mode was turned on."""
    shy = sign_up("Shy")
    home = {"lat": 48.88123, "lon": 2.38517}  # 3.5 km from the city centre, off its cell's centre
    before = gql(CREATE, {"input": stroller("GIVE", home)}, token=shy["token"])["listingCreate"]["listing"]
    assert before["pickupArea"]["id"] != "city:paris"

    def found_near_home() -> set[str]:
        nodes = gql(NEARBY, {"near": home, "radius": 1.0})["nearbyListings"]["nodes"]
        return {n["id"] for n in nodes}

    assert wait_for(lambda: before["id"] in found_near_home(), timeout=10)
    assert gql(PROTECT, {"on": True}, token=shy["token"])["memberUpdateProfile"]["userErrors"] == []
    area = gql("query($id: ID!) { node(id: $id) { ... on Listing { pickupArea { id } } } }", {"id": before["id"]})
    assert area["node"]["pickupArea"]["id"] == "city:paris"
    # The index follows: a small radius around the home no longer finds it.
    assert wait_for(lambda: before["id"] not in found_near_home(), timeout=10)
    after = gql(CREATE, {"input": stroller("GIVE", home)}, token=shy["token"])["listingCreate"]["listing"]
    assert after["pickupArea"]["id"] == "city:paris"
    # Turned off again, the listings go back to their ~1 km cells.
    assert gql(PROTECT, {"on": False}, token=shy["token"])["memberUpdateProfile"]["userErrors"] == []
    again = gql("query($id: ID!) { node(id: $id) { ... on Listing { pickupArea { id } } } }", {"id": after["id"]})
    assert again["node"]["pickupArea"]["id"] == before["pickupArea"]["id"]


def test_wanted_requests_are_rate_limited_through_the_api(gql, sign_up):
    prober = sign_up("Prober")
    here = {"lat": 45.8990, "lon": 6.1290}
    codes = []
    for i in range(11):
        fields = {**stroller("WANTED", here, city="annecy", matchRadiusKm=0.5), "title": f"Cherche {i}"}
        result = gql(CREATE, {"input": fields}, token=prober["token"])["listingCreate"]
        codes.append(result["userErrors"][0]["code"] if result["userErrors"] else None)
        if result["listing"]:
            withdraw = "mutation($id: ID!) { listingWithdraw(input: {listingId: $id}) { userErrors { code } } }"
            assert gql(withdraw, {"id": result["listing"]["id"]}, token=prober["token"])
    assert codes == [None] * 10 + ["RATE_LIMITED"]
