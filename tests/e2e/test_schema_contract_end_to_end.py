"""The schema as front-end tools meet it, through the running gateway: query-argument mistakes
come back one way, cursors belong to the query that made them, nodes(ids:), paging backwards,
and closed sets as enums."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from conftest import post

from parentnet_kit.testing import wait_for

SPOT = {"lat": 29.5580, "lon": 106.5770}  # Chongqing, Jiefangbei: only this module's outings
NEARBY = """query($near: GeoPointInput!, $radiusKm: Float!, $first: Int, $after: String, $sort: OutingSort) {
  nearbyOutings(near: $near, radiusKm: $radiusKm, first: $first, after: $after, sort: $sort) {
    totalCount nodes { id state status } pageInfo { hasNextPage endCursor }
  }
}"""
CREATE = """mutation($input: OutingCreateInput!) {
  outingCreate(input: $input) { outing { id state } userErrors { field code } }
}"""


def outing(title: str, day: int, lat_offset: float) -> dict:
    return {
        "title": title,
        "category": "MUSEUM",
        "startsAt": f"2031-03-{day:02d}T10:00",
        "endsAt": f"2031-03-{day:02d}T12:00",
        "venueName": "重庆自然博物馆",
        "location": {"lat": SPOT["lat"] + lat_offset, "lon": SPOT["lon"]},
        "city": "chongqing",
    }


@pytest.fixture(scope="module")
def three_outings(gql):
    """Three outings near SPOT: nearest is latest, farthest is soonest (so the two sorts differ)."""
    made = [
        gql(CREATE, {"input": outing(f"Musée {i} {uuid.uuid4().hex[:4]}", day, offset)})["outingCreate"]["outing"]["id"]
        for i, (day, offset) in enumerate(((20, 0.001), (15, 0.004), (10, 0.008)))
    ]

    def indexed():
        page = gql(NEARBY, {"near": SPOT, "radiusKm": 2, "first": 10})["nearbyOutings"]
        return page["totalCount"] == 3 and page

    wait_for(indexed, timeout=10, what="three Chongqing outings indexed")
    return made


def bad_input(http, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    """The one BAD_USER_INPUT error a request gets, nothing else."""
    body = post(http, query, variables, token).json()
    assert [e["extensions"]["code"] for e in body.get("errors", [])] == ["BAD_USER_INPUT"], body
    return body["errors"][0]


ARGUMENT_MISTAKES = [
    # (query, variables, signed in, the argument named in extensions.field)
    ("{ nearbyOutings(near: {lat: 1, lon: 1}, radiusKm: 0) { totalCount } }", None, False, "radiusKm"),
    ("{ nearbyOutings(near: {lat: 123, lon: 1}, radiusKm: 5) { totalCount } }", None, False, "near.lat"),
    ('{ nearbyOutings(near: {lat: 1, lon: 1}, radiusKm: 5, after: "junk") { totalCount } }', None, False, "after"),
    (
        "{ nearbyOutings(near: {lat: 1, lon: 1}, radiusKm: 5, filter: {childAges: [99]}) { totalCount } }",
        None,
        False,
        "filter.childAges",
    ),
    ("{ nearbyListings(near: {lat: 1, lon: 1}, radiusKm: 100.5) { totalCount } }", None, False, "radiusKm"),
    ("{ nearbyListings(near: {lat: 1, lon: 200}, radiusKm: 5) { totalCount } }", None, False, "near.lon"),
    ("{ nearbyGroupActivities(near: {lat: 1, lon: 1}, radiusKm: -1) { distanceKm } }", None, True, "radiusKm"),
    (
        "{ mapClusters(bounds: {north: 95, south: 40, east: 3, west: 2}, zoom: 10) { clusters { count } } }",
        None,
        False,
        "bounds.north",
    ),
    (
        "{ mapClusters(bounds: {north: 49, south: 48, east: 3, west: 2}, zoom: 30) { clusters { count } } }",
        None,
        False,
        "zoom",
    ),
    ('{ suggest(text: "zoo", first: 50) { suggestions { text } } }', None, False, "first"),
    ('{ suggest(text: "", first: 5) { suggestions { text } } }', None, False, "text"),
    ('{ groups(city: "atlantis") { totalCount } }', None, False, "city"),
    ('{ contacts(city: "atlantis") { totalCount } }', None, False, "city"),
    ('{ parentsNearby(after: "junk") { totalCount } }', None, True, "after"),
    ('{ inbox(after: "junk") { totalCount } }', None, True, "after"),
    ('{ myListings(after: "junk") { totalCount } }', None, True, "after"),
    ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["x"] * 101}, False, "ids"),
    # An explicit null where a default exists (the fuzzer found inbox's: INTERNAL_SERVER_ERROR).
    ("{ inbox(first: null) { totalCount } }", None, True, "first"),
    ('{ suggest(text: "zoo", first: null) { suggestions { text } } }', None, False, "first"),
    ("{ nearbyOutings(near: {lat: 1, lon: 1}, radiusKm: 5, first: null) { totalCount } }", None, False, "first"),
    ('{ contacts(city: "paris", first: null) { totalCount } }', None, False, "first"),
]


@pytest.mark.parametrize(("query", "variables", "signed_in", "field"), ARGUMENT_MISTAKES)
def test_a_query_argument_mistake_is_a_top_level_bad_user_input_naming_it(
    http, organizer, query, variables, signed_in, field
):
    error = bad_input(http, query, variables, organizer["token"] if signed_in else None)
    assert error["extensions"]["field"] == field, error
    assert field.split(".")[-1] in error["message"] or field.split(".")[0] in error["message"], error
    assert "Internal" not in error["message"]


def test_the_old_page_level_user_errors_stay_empty_and_deprecated(gql):
    page = gql("{ nearbyOutings(near: {lat: 1, lon: 1}, radiusKm: 5) { userErrors { code } } }")["nearbyOutings"]
    assert page["userErrors"] == []
    fields = gql('{ __type(name: "OutingConnection") { fields(includeDeprecated: true) { name isDeprecated } } }')
    assert {"name": "userErrors", "isDeprecated": True} in fields["__type"]["fields"]


def test_a_cursor_is_bound_to_the_query_that_made_it(http, gql, three_outings):
    nearest_first = gql(NEARBY, {"near": SPOT, "radiusKm": 2, "first": 1})["nearbyOutings"]
    assert [n["id"] for n in nearest_first["nodes"]] == three_outings[:1]
    cursor = nearest_first["pageInfo"]["endCursor"]

    # The same query pages on.
    rest = gql(NEARBY, {"near": SPOT, "radiusKm": 2, "first": 5, "after": cursor})["nearbyOutings"]
    assert [n["id"] for n in rest["nodes"]] == three_outings[1:]
    soonest_first = gql(NEARBY, {"near": SPOT, "radiusKm": 2, "first": 1, "sort": "START_TIME"})["nearbyOutings"]
    assert [n["id"] for n in soonest_first["nodes"]] == three_outings[2:]

    # A DISTANCE cursor with sort START_TIME, another radius, another list: refused, not restarted.
    for variables in ({"sort": "START_TIME"}, {"radiusKm": 3}, {"near": {"lat": 29.56, "lon": 106.57}}):
        error = bad_input(http, NEARBY, {"near": SPOT, "radiusKm": 2, "first": 5, "after": cursor, **variables})
        assert error["path"] == ["nearbyOutings"]
        assert "other arguments" in error["message"]
    listings = """query($after: String) {
      nearbyListings(near: {lat: 29.56, lon: 106.57}, radiusKm: 2, after: $after) { totalCount } }"""
    assert "not a cursor from this list" in bad_input(http, listings, {"after": cursor})["message"]

    # Well-formed, but holding what no search made: refused before Elasticsearch sees it.
    name, fingerprint, _ = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    for position in (["far", {"x": 1}], [1.5], "abc", [True, "id"]):
        forged = base64.urlsafe_b64encode(json.dumps([name, fingerprint, position]).encode()).decode()
        bad_input(http, NEARBY, {"near": SPOT, "radiusKm": 2, "after": forged})


def test_nodes_returns_each_id_in_order_and_null_for_what_is_not_there(gql, three_outings):
    asked = [three_outings[2], "bm90IGFuIGlk", three_outings[0], three_outings[2]]
    found = gql("query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Outing { state } } }", {"ids": asked})["nodes"]
    assert found == [
        {"id": three_outings[2], "state": "PUBLISHED"},
        None,
        {"id": three_outings[0], "state": "PUBLISHED"},
        {"id": three_outings[2], "state": "PUBLISHED"},
    ]


def test_closed_sets_are_enums_beside_the_deprecated_strings(gql, sign_up):
    page = gql(NEARBY, {"near": SPOT, "radiusKm": 2, "first": 1})["nearbyOutings"]
    assert page["nodes"][0]["state"] == "PUBLISHED" and page["nodes"][0]["status"] == "published"
    bad = gql(CREATE, {"input": {**outing("", 20, 0.001)}})["outingCreate"]
    assert bad["userErrors"] == [{"field": ["input", "title"], "code": "REQUIRED"}]
    enums = gql(
        """{ a: __type(name: "UserError") { fields { name type { ofType { name kind } } } }
             b: __type(name: "NotificationType") { enumValues { name description } } }"""
    )
    code = next(f for f in enums["a"]["fields"] if f["name"] == "code")
    assert code["type"]["ofType"] == {"name": "UserErrorCode", "kind": "ENUM"}
    assert all(v["description"] for v in enums["b"]["enumValues"])


def test_contacts_page_forwards_and_backwards_with_the_same_cursors(gql, sign_up):
    adder = sign_up("Contact adder")
    language = "eu"  # Basque: only this test's contacts speak it
    create = """mutation($name: String!, $languages: [String!]) { contactCreate(input: {kind: MIDWIFE, name: $name,
      city: "annecy", phone: "+33 4 50 00 00 00", languages: $languages}) { contact { id } userErrors { code } } }"""
    for i in range(5):
        made = gql(create, {"name": f"Sage-femme {i}", "languages": [language]}, token=adder["token"])
        assert made["contactCreate"]["userErrors"] == []
    page = """query($first: Int, $after: String, $last: Int, $before: String) {
      contacts(city: "annecy", kind: MIDWIFE, language: "eu",
               first: $first, after: $after, last: $last, before: $before) {
        totalCount nodes { name } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    everything = [n["name"] for n in gql(page, {"first": 10})["contacts"]["nodes"]]
    assert sorted(everything) == [f"Sage-femme {i}" for i in range(5)]

    forwards = gql(page, {"first": 2})["contacts"]
    middle = gql(page, {"first": 2, "after": forwards["pageInfo"]["endCursor"]})["contacts"]
    assert [n["name"] for n in middle["nodes"]] == everything[2:4]
    back = gql(page, {"last": 2, "before": middle["pageInfo"]["startCursor"]})["contacts"]
    assert [n["name"] for n in back["nodes"]] == everything[:2]
    assert back["pageInfo"]["hasPreviousPage"] is False and back["pageInfo"]["hasNextPage"] is True
    tail = gql(page, {"last": 2})["contacts"]
    assert [n["name"] for n in tail["nodes"]] == everything[3:]
    assert tail["pageInfo"]["hasPreviousPage"] is True and tail["totalCount"] == 5
