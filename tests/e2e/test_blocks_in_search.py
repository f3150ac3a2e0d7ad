"""A block in every search-backed field at once, through GraphQL: search leaves out what members
says a block keeps apart (the gateway sends it with each search) inside its query, so pages stay
full with totals and cursors that agree, map counts drop the blocker's outing, and a blocker's
co-op shift and school run leave nearbyGroupActivities. From review 2 (h-review2,
tests/e2e/test_review2_api.py), where these three failed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from conftest import post
from test_community_end_to_end import OFFER, TRIP_CREATE, school_run, shift
from test_conversations_end_to_end import JOIN, PUBLIC_GROUP
from test_outing_end_to_end import CREATE as OUTING_CREATE
from test_outing_end_to_end import proposal

from parentnet_kit.testing import wait_for

BLOCK = "mutation($id: ID!) { memberBlock(input: {memberId: $id}) { userErrors { code } } }"
NEARBY = """query($near: GeoPointInput!, $first: Int!, $after: String) {
  nearbyOutings(near: $near, radiusKm: 1, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } nodes { id } } }"""
CLUSTERS = """query($b: BoundsInput!) { mapClusters(bounds: $b, zoom: 14, kinds: [OUTINGS]) {
  clusters { count } } }"""


NEAR_ACTIVITIES = """query($near: GeoPointInput!) { nearbyGroupActivities(near: $near, radiusKm: 1, first: 50) {
  shift { id } trip { id } } }"""


def activities_found(http, token: str, near: dict) -> set[str]:
    """The global ids of the shifts and school runs nearbyGroupActivities lists within 1 km of
    ``near`` for the member whose ``token`` it is."""
    body = post(http, NEAR_ACTIVITIES, {"near": near}, token).json()
    assert "errors" not in body, body
    listed = body["data"]["nearbyGroupActivities"]
    return {(a["shift"] or a["trip"] or {}).get("id") for a in listed} - {None}


def _bounds(place: dict) -> dict:
    return {
        "north": place["lat"] + 0.005,
        "south": place["lat"] - 0.005,
        "east": place["lon"] + 0.005,
        "west": place["lon"] - 0.005,
    }


def test_a_block_empties_the_blockers_tile_on_the_map_at_once(gql, sign_up, http):
    """Dana's map counts Eve's outing; Dana blocks Eve: the tile's count drops at once (search
    counts without the members the gateway names, before its own copy has the block)."""
    dana, eve = sign_up("Dana"), sign_up("Eve")
    place = {"lat": 45.5300, "lon": -73.7200}  # a Montréal corner no other test uses
    gql(
        OUTING_CREATE,
        {"input": proposal(f"Carte {uuid.uuid4().hex[:6]}", place["lat"], place["lon"], city="montreal")},
        token=eve["token"],
    )

    def counted() -> int:
        body = post(http, CLUSTERS, {"b": _bounds(place)}, dana["token"]).json()
        assert "errors" not in body, body
        return sum(c["count"] for c in body["data"]["mapClusters"]["clusters"])

    wait_for(lambda: counted() == 1, 15, what="Eve's outing on Dana's map")
    assert gql(BLOCK, {"id": eve["id"]}, token=dana["token"])["memberBlock"]["userErrors"] == []
    assert counted() == 0  # at once, as every other search-backed field


def test_a_page_after_the_block_filter_is_not_empty_while_more_remain(gql, sign_up, http):
    """Eve's outing is the nearest, Fay's two a little farther. Dana blocks Eve and asks for the
    first outing: Fay's nearer one, totalCount 2, hasNextPage and an endCursor that leads to Fay's
    other one, the last."""
    dana, eve, fay = sign_up("Dana"), sign_up("Eve"), sign_up("Fay")
    place = {"lat": 45.5000, "lon": -73.5900}
    tag = uuid.uuid4().hex[:6]
    gql(
        OUTING_CREATE,
        {"input": proposal(f"Près {tag}", place["lat"], place["lon"], city="montreal")},
        token=eve["token"],
    )
    fays = []
    for n in (1, 2):
        near = proposal(f"Un peu plus loin {tag}", place["lat"] + 0.001 * n, place["lon"], city="montreal")
        fays.append(gql(OUTING_CREATE, {"input": near}, token=fay["token"])["outingCreate"]["outing"]["id"])

    def page(first: int, after: str | None = None) -> dict:
        body = post(http, NEARBY, {"near": place, "first": first, "after": after}, dana["token"]).json()
        assert "errors" not in body, body
        return body["data"]["nearbyOutings"]

    wait_for(lambda: page(10)["totalCount"] == 3, 15, what="the three outings indexed")
    assert gql(BLOCK, {"id": eve["id"]}, token=dana["token"])["memberBlock"]["userErrors"] == []
    first = page(1)
    shown = {
        "total": first["totalCount"],
        "nodes": [n["id"] for n in first["nodes"]],
        "more": first["pageInfo"]["hasNextPage"],
        "can ask for more": first["pageInfo"]["endCursor"] is not None,
    }
    assert shown == {"total": 2, "nodes": fays[:1], "more": True, "can ask for more": True}
    second = page(1, first["pageInfo"]["endCursor"])
    assert ([n["id"] for n in second["nodes"]], second["totalCount"], second["pageInfo"]["hasNextPage"]) == (
        fays[1:],
        2,
        False,
    )


def test_a_blockers_shift_and_school_run_leave_nearby_group_activities(gql, sign_up, http):
    """Alice offers a co-op shift and starts a school run in a group Bob is in too; Bob finds both
    in nearbyGroupActivities. Alice blocks Bob: both leave his list at once (search's activities
    name their host and organizer), and he cannot book her shift."""
    alice, bob = sign_up("Alice"), sign_up("Bob")
    group = gql(PUBLIC_GROUP, token=alice["token"])["groupCreate"]["group"]["id"]
    assert gql(JOIN, {"g": group}, token=bob["token"])["groupJoin"]["userErrors"] == []
    spot = {"lat": 48.8200, "lon": 2.3000}
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    offered = gql(OFFER, {"input": {**shift(group, start, hours=3, places=2), "location": spot}}, token=alice["token"])
    shift_id = offered["coopShiftOffer"]["shift"]["id"]
    run = {**school_run(group, title="Pédibus d'Alice"), "meetingLocation": spot}
    trip_id = gql(TRIP_CREATE, {"input": run}, token=alice["token"])["tripCreate"]["trip"]["id"]

    def bob_finds() -> set[str]:
        return activities_found(http, bob["token"], spot) & {shift_id, trip_id}

    wait_for(lambda: bob_finds() == {shift_id, trip_id}, 15, what="Alice's shift and school run found by Bob")
    assert gql(BLOCK, {"id": bob["id"]}, token=alice["token"])["memberBlock"]["userErrors"] == []
    listed = bob_finds()  # at once
    book = """mutation($s: ID!) { coopShiftBook(input: {shiftId: $s, children: 1}) { booking { id }
      userErrors { code } } }"""
    booked = gql(book, {"s": shift_id}, token=bob["token"])["coopShiftBook"]
    outcome = {"still listed": sorted(listed), "Bob booked Alice's shift": booked["booking"] is not None}
    assert outcome == {"still listed": [], "Bob booked Alice's shift": False}, booked
