"""Search through the API and on the bus: a raw RPC claiming a private group finds nothing private
(the review's finding: search believed ``viewer_groups``), and a block shows at once in every
search-backed field, both ways, before search's own index has it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import post
from test_conversations_end_to_end import JOIN, PUBLIC_GROUP, start_thread
from test_listings_end_to_end import CREATE as LISTING_CREATE
from test_listings_end_to_end import stroller
from test_my_outings_end_to_end import GROUP
from test_outing_end_to_end import CREATE as OUTING_CREATE
from test_outing_end_to_end import proposal

from gateway.ids import from_global_id
from parentnet_kit import identity
from parentnet_kit.testing import wait_for

BLOCK = "mutation($id: ID!) { memberBlock(input: {memberId: $id}) { userErrors { code } } }"
UNBLOCK = "mutation($id: ID!) { memberUnblock(input: {memberId: $id}) { userErrors { code } } }"
NEARBY = """query($near: GeoPointInput!) { nearbyOutings(near: $near, radiusKm: 2, first: 50) {
  totalCount nodes { id } } }"""
LISTINGS = """query($near: GeoPointInput!) { nearbyListings(near: $near, radiusKm: 2, first: 50) {
  totalCount nodes { id } } }"""
SUGGEST = """query($text: String!, $near: GeoPointInput) { suggest(text: $text, near: $near, first: 20) {
  suggestions { kind id } } }"""
DISCUSSIONS = """query($q: String!) { discussionSearch(query: $q, first: 20) { totalCount nodes { __typename
  ... on DiscussionThread { id } } } }"""
# Two corners of Montréal no other test places anything near (searches are 2 km around).
SECRET_PLACE = {"lat": 45.5600, "lon": -73.7000}
BLOCK_PLACE = {"lat": 45.4600, "lon": -73.6500}


def local(global_id: str) -> str:
    return from_global_id(global_id)[1]


def bus_answer(stack, method: str, *args: Any, token: str | None = None) -> Any:
    """search.<method>(*args) sent raw on the bus, as any process there could; "Forbidden" when
    refused."""
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ClusterRpcProxy

    context = {identity.HEADER: token} if token is not None else {}
    with ClusterRpcProxy({"AMQP_URI": stack.env["AMQP_URI"]}, context_data=context, timeout=20) as cluster:
        try:
            return getattr(cluster.search, method)(*args)
        except RemoteError as error:
            if error.exc_type == "Forbidden":
                return "Forbidden"
            raise


def genuine(stack, member: str) -> str:
    """A genuine identity token for ``member`` and search (as the gateway signs them)."""
    private = Path(stack.run_dir / "keys" / "identity-private.pem").read_bytes()
    return identity.IdentitySigner(private).token(member, "search")


@pytest.fixture(scope="module")
def secret(stack, gql, sign_up, http):
    """Alice's private group with an outing and a thread, both found by her; Bob is not in it."""
    alice, bob = sign_up("Alice"), sign_up("Bob")
    tag = uuid.uuid4().hex[:8]
    made = gql(GROUP, {"name": f"Refuge {tag}", "visibility": "PRIVATE"}, token=alice["token"])
    group = made["groupCreate"]["group"]["id"]
    inside = proposal(f"Goûter caché {tag}", SECRET_PLACE["lat"], SECRET_PLACE["lon"], groupId=group, city="montreal")
    hidden = gql(OUTING_CREATE, {"input": inside}, token=alice["token"])["outingCreate"]["outing"]["id"]
    thread = start_thread(gql, alice["token"], group, title=f"Entre nous {tag}")["id"]

    def found_by_alice() -> bool:
        nodes = post(http, NEARBY, {"near": SECRET_PLACE}, alice["token"]).json()["data"]["nearbyOutings"]["nodes"]
        threads = post(http, DISCUSSIONS, {"q": tag}, alice["token"]).json()["data"]["discussionSearch"]["nodes"]
        return hidden in [n["id"] for n in nodes] and thread in [n["id"] for n in threads]

    wait_for(found_by_alice, 15, what="the private outing and thread indexed, found by a member")
    return {
        "alice": local(alice["id"]),
        "bob": local(bob["id"]),
        "group": local(group),
        "outing": local(hidden),
        "thread": local(thread),
        "tag": tag,
    }


def test_search_does_not_believe_a_tokenless_callers_viewer_groups(stack, secret):
    """The review's finding, renamed: a raw nearby_outings claiming the private group's id (no
    token) listed its outings. Now refused."""
    page = bus_answer(stack, "nearby_outings", SECRET_PLACE, 2, 50, None, secret["bob"], [secret["group"]])
    found = [edge["node"]["id"] for edge in page["edges"]] if page != "Forbidden" else []
    assert secret["outing"] not in found
    assert page == "Forbidden"


def _has(answer: Any, key: str, item: str) -> Any:
    """ "Forbidden", or whether ``item`` is among the answer's ``key`` (edges' nodes or suggestions)."""
    if answer == "Forbidden":
        return answer
    return item in [(entry.get("node") or entry)["id"] for entry in answer[key]]


def test_a_raw_rpc_claiming_a_private_group_finds_nothing_private_in_any_search(stack, secret):
    """Bob's own genuine token, claiming Alice's group (or even naming no viewer): nothing of it
    in nearby outings, discussions, suggestions or the map; without a token, refused."""
    group, bob, tag = [secret["group"]], secret["bob"], secret["tag"]
    bounds = {
        "north": SECRET_PLACE["lat"] + 0.01,
        "south": SECRET_PLACE["lat"] - 0.01,
        "east": SECRET_PLACE["lon"] + 0.01,
        "west": SECRET_PLACE["lon"] - 0.01,
    }
    seen: dict[str, Any] = {}
    for name, token in (("bob's token", genuine(stack, bob)), ("no token", None)):
        nearby = bus_answer(stack, "nearby_outings", SECRET_PLACE, 2, 50, None, bob, group, token=token)
        talk = bus_answer(stack, "discussions", tag, bob, group, token=token)
        suggested = bus_answer(stack, "suggest", f"Goûter caché {tag}", SECRET_PLACE, 8, bob, group, token=token)
        clusters = bus_answer(stack, "map_clusters", bounds, 14, ["outings"], bob, group, token=token)
        seen[name] = {
            "nearby": _has(nearby, "edges", secret["outing"]),
            "discussions": _has(talk, "edges", secret["thread"]),
            "suggest": _has(suggested, "suggestions", secret["outing"]),
            "map": clusters if clusters == "Forbidden" else sum(c["count"] for c in clusters["clusters"]) > 0,
        }
    assert seen == {
        "bob's token": dict.fromkeys(("nearby", "discussions", "suggest", "map"), False),
        "no token": dict.fromkeys(("nearby", "discussions", "suggest", "map"), "Forbidden"),
    }
    # Signed out (no token, no claims): public outings only, as apps search signed out.
    anonymous = bus_answer(stack, "nearby_outings", SECRET_PLACE, 2, 50)
    assert secret["outing"] not in [e["node"]["id"] for e in anonymous["edges"]]
    # Alice's own token: hers to find.
    mine = bus_answer(
        stack,
        "nearby_outings",
        SECRET_PLACE,
        2,
        50,
        None,
        secret["alice"],
        group,
        token=genuine(stack, secret["alice"]),
    )
    assert secret["outing"] in [e["node"]["id"] for e in mine["edges"]]


def test_a_block_shows_at_once_in_every_search_backed_field_both_ways(gql, sign_up, http):
    """Dana and Eve, neighbours in a public group, each with an outing, a listing and a thread
    sharing one word. Dana blocks Eve: read at once (no wait), neither finds the other's in
    nearbyOutings, nearbyListings, suggest or discussionSearch. The unblock brings them back once
    search has it."""
    dana, eve = sign_up("Dana"), sign_up("Eve")
    tag = uuid.uuid4().hex[:8]
    group = gql(PUBLIC_GROUP, token=dana["token"])["groupCreate"]["group"]["id"]
    assert gql(JOIN, {"g": group}, token=eve["token"])["groupJoin"]["userErrors"] == []
    items: dict[str, dict[str, str]] = {}
    for n, who in enumerate((dana, eve)):
        lat, lon = BLOCK_PLACE["lat"] + 0.001 * n, BLOCK_PLACE["lon"]
        outing = proposal(f"Pique-nique {tag}", lat, lon, city="montreal")
        listing = stroller("GIVE", {"lat": lat, "lon": lon}, title=f"Poussette {tag}", city="montreal")
        items[who["id"]] = {
            "outing": gql(OUTING_CREATE, {"input": outing}, token=who["token"])["outingCreate"]["outing"]["id"],
            "listing": gql(LISTING_CREATE, {"input": listing}, token=who["token"])["listingCreate"]["listing"]["id"],
            "thread": start_thread(gql, who["token"], group, title=f"Balade {tag}")["id"],
        }

    def seen_by(who: dict) -> dict[str, set[str]]:
        def run(query: str, variables: dict) -> dict:
            body = post(http, query, variables, who["token"]).json()
            assert "errors" not in body, body
            return body["data"]

        return {
            "nearbyOutings": {n["id"] for n in run(NEARBY, {"near": BLOCK_PLACE})["nearbyOutings"]["nodes"]},
            "nearbyListings": {n["id"] for n in run(LISTINGS, {"near": BLOCK_PLACE})["nearbyListings"]["nodes"]},
            "suggest": {
                s["id"]
                for text in (f"Pique-nique {tag}", f"Poussette {tag}")
                for s in run(SUGGEST, {"text": text, "near": BLOCK_PLACE})["suggest"]["suggestions"]
            },
            "discussionSearch": {n["id"] for n in run(DISCUSSIONS, {"q": tag})["discussionSearch"]["nodes"]},
        }

    def others(who: dict, other: dict) -> dict[str, bool]:
        """For each field, whether ``who`` finds any of ``other``'s items in it."""
        mine = set(items[other["id"]].values())
        return {field: bool(found & mine) for field, found in seen_by(who).items()}

    every = ("nearbyOutings", "nearbyListings", "suggest", "discussionSearch")
    both_see = {"dana": dict.fromkeys(every, True), "eve": dict.fromkeys(every, True)}
    wait_for(
        lambda: {"dana": others(dana, eve), "eve": others(eve, dana)} == both_see, 15, what="both indexed and found"
    )
    assert gql(BLOCK, {"id": eve["id"]}, token=dana["token"])["memberBlock"]["userErrors"] == []
    at_once = {"dana": others(dana, eve), "eve": others(eve, dana)}
    assert at_once == {"dana": dict.fromkeys(every, False), "eve": dict.fromkeys(every, False)}
    # Each still finds their own.
    assert set(items[dana["id"]].values()) <= set().union(*seen_by(dana).values())
    assert gql(UNBLOCK, {"id": eve["id"]}, token=dana["token"])["memberUnblock"]["userErrors"] == []
    wait_for(
        lambda: {"dana": others(dana, eve), "eve": others(eve, dana)} == both_see, 15, what="the unblock in search"
    )
