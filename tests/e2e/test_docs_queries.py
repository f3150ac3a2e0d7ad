"""The queries behind the main screens (docs/queries), run against the live gateway: by this
test directly, and by a real GraphQL client (Apollo Client in node) that also receives a
subscription message."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import post
from graphql import OperationDefinitionNode, parse, print_ast
from test_attendance_end_to_end import JOIN
from test_listings_end_to_end import CREATE as LISTING_CREATE
from test_listings_end_to_end import stroller
from test_outing_end_to_end import CREATE, proposal

from parentnet_kit.testing import wait_for

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "queries"
APOLLO = ROOT / "clients" / "apollo"
SPOT = {"lat": 48.8790, "lon": 2.3550}  # Gare du Nord


def operations() -> dict[str, tuple[str, str]]:
    found = {}
    for path in sorted(DOCS.glob("*.graphql")):
        for definition in parse(path.read_text()).definitions:
            if isinstance(definition, OperationDefinitionNode):
                found[definition.name.value] = (definition.operation.value, print_ast(definition))
    return found


def test_every_documented_list_can_be_paged_from_its_query():
    """A documented operation that reads ``pageInfo`` declares ``$after``: OutingAttendees
    answered hasNextPage with an endCursor it had no variable to send back, so an app built from
    the docs showed only the first page (review 8)."""
    for name, (_, text) in operations().items():
        definition = parse(text).definitions[0]
        variables = {v.variable.name.value for v in definition.variable_definitions}
        if "pageInfo" in text:
            assert "after" in variables, f"{name} reads pageInfo but cannot send its endCursor back"


@pytest.fixture(scope="module")
def scene(gql, sign_up, organizer):
    """A listener who joined two outings and posted a listing, near a spot with outings around."""
    listener = sign_up("Listener")
    made = {}
    for name, title in (("page", "Conte au square"), ("join", "Goûter partagé"), ("cancel", "Balade au canal")):
        fields = {**proposal(title, SPOT["lat"], SPOT["lon"]), "capacity": 8}
        made[name] = gql(CREATE, {"input": fields})["outingCreate"]["outing"]["id"]
    for name in ("page", "cancel"):
        assert gql(JOIN, {"id": made[name]}, token=listener["token"])["outingJoin"]["userErrors"] == []
    listing = gql(LISTING_CREATE, {"input": stroller("GIVE", SPOT)}, token=listener["token"])["listingCreate"]
    assert listing["userErrors"] == []

    def searchable():
        page = gql(
            "query($n: GeoPointInput!) { nearbyOutings(near: $n, radiusKm: 1, first: 50) { nodes { id } } }",
            {"n": SPOT},
        )
        return set(made.values()) <= {n["id"] for n in page["nearbyOutings"]["nodes"]}

    wait_for(searchable, timeout=15, what="the three outings searchable")
    variables = {
        "MapScreen": {"near": SPOT, "radiusKm": 2},
        "OutingList": {
            "near": SPOT,
            "radiusKm": 2,
            "first": 10,
            "filter": {"childAges": [2, 5], "freeOnly": True},
            "sort": "START_TIME",
        },
        "MapClusters": {"bounds": {"north": 48.90, "south": 48.86, "west": 2.33, "east": 2.38}, "zoom": 14},
        "Suggest": {"text": "cont", "near": SPOT},
        "OutingPage": {"id": made["page"]},
        "OutingAttendees": {"id": made["page"], "first": 10},
        "JoinOuting": {"id": made["join"], "adults": 1, "children": 2},
        "MyListings": {"first": 10},
        "Inbox": {"first": 10},
    }
    return {"listener": listener, "organizer": organizer, "outings": made, "variables": variables}


def test_every_documented_query_runs_cleanly(http, scene):
    ops = operations()
    assert {"MapScreen", "OutingList", "OutingPage", "MyListings", "Inbox", "NotificationReceived"} <= set(ops)
    for name, (kind, text) in ops.items():
        if kind == "subscription" or name == "JoinOuting":
            continue  # the subscription is run by the Apollo test; JoinOuting is, too
        body = post(http, text, scene["variables"][name], scene["listener"]["token"]).json()
        assert "errors" not in body, (name, body)
    page = post(http, ops["OutingPage"][1], scene["variables"]["OutingPage"], scene["listener"]["token"]).json()
    assert page["data"]["node"]["viewerPlace"]["status"] == "CONFIRMED"
    mine = post(http, ops["MyListings"][1], {"first": 10}, scene["listener"]["token"]).json()["data"]["myListings"]
    assert mine["nodes"][0]["pickupAddress"]  # the owner's own view has it


@pytest.mark.skipif(shutil.which("node") is None, reason="node is installed by make test's provisioning")
def test_apollo_client_runs_the_docs_queries_and_receives_a_subscription_message(stack, scene):
    if not (APOLLO / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=APOLLO, check=True, timeout=300)
    env = {
        **os.environ,
        "GATEWAY_URL": stack.gateway_url,
        "LISTENER_TOKEN": scene["listener"]["token"],
        "ORGANIZER_TOKEN": scene["organizer"]["token"],
        "CANCEL_OUTING_ID": scene["outings"]["cancel"],
        "VARIABLES": json.dumps(scene["variables"]),
    }
    run = subprocess.run(["node", "check.mjs"], cwd=APOLLO, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout.strip().splitlines()[-1])
    for name in ("MapScreen", "OutingList", "OutingPage", "OutingAttendees", "MyListings", "Inbox", "JoinOuting"):
        assert results[name]["errors"] == [], (name, results[name])
    assert results["JoinOuting"]["data"]["outingJoin"]["place"]["status"] == "CONFIRMED"
    note = results["NotificationReceived"]["data"]["notificationReceived"]
    assert note["type"] == "OUTING_CANCELLED" and note["subject"]["id"] == scene["outings"]["cancel"]
    # Apollo's default errorPolicy fails a call on any error: every sign-in answered a value.
    assert all(at and at.startswith("20") for at in results["SignIn"]["expiresAt"]), results["SignIn"]
    # A subscription with bad input ends in an error (within check.mjs's deadline).
    assert results["BadSubscription"]["error"] is not None, results["BadSubscription"]


def test_the_screens_find_what_they_should(http, scene):
    ops = operations()
    token = scene["listener"]["token"]
    listed = post(http, ops["OutingList"][1], scene["variables"]["OutingList"], token).json()["data"]["nearbyOutings"]
    ids = [e["node"]["id"] for e in listed["edges"]]
    assert set(scene["outings"].values()) - {scene["outings"]["cancel"]} <= set(ids)  # no ages set: fits anyone
    assert {"category": "park", "count": listed["facets"][0]["count"]} in listed["facets"]
    answer = post(http, ops["MapClusters"][1], scene["variables"]["MapClusters"], token).json()
    clusters = answer["data"]["mapClusters"]
    assert "errors" not in answer and sum(c["count"] for c in clusters["clusters"] if c["kind"] == "OUTINGS") >= 2
    suggested = post(http, ops["Suggest"][1], scene["variables"]["Suggest"], token).json()["data"]["suggest"]
    assert any(s["kind"] == "OUTING" and s["text"] == "Conte au square" for s in suggested["suggestions"])
