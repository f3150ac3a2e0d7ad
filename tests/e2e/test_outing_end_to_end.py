"""One outing end to end: GraphQL → events (MongoDB + outbox) → RabbitMQ → indexer →
Elasticsearch → search → GraphQL, through the gateway's HTTP API."""

from __future__ import annotations

import unicodedata
import uuid

import httpx

from parentnet_kit.testing import wait_for

CREATE = """
mutation Create($input: OutingCreateInput!) {
  outingCreate(input: $input) {
    outing { id title startsAt endsAt venueName city { slug timeZone } }
    userErrors { field message code }
  }
}"""
NEARBY = """
query Nearby($near: GeoPointInput!, $radiusKm: Float!, $first: Int, $after: String) {
  nearbyOutings(near: $near, radiusKm: $radiusKm, first: $first, after: $after) {
    totalCount
    edges { cursor node { id title distanceKm } }
    nodes { id }
    pageInfo { hasNextPage endCursor }
    userErrors { field message code }
  }
}"""


def proposal(title: str, lat: float, lon: float, **overrides) -> dict:
    return {
        "title": title,
        "description": "Venez avec les enfants !",
        "category": "PARK",
        "startsAt": "2031-05-06T10:00",
        "endsAt": "2031-05-06T12:00",
        "venueName": "Champ-de-Mars",
        "location": {"lat": lat, "lon": lon},
        "city": "paris",
        **overrides,
    }


def test_a_new_outing_is_found_nearby_within_seconds(gql):
    title = f"Pique-nique {uuid.uuid4().hex[:6]}"
    created = gql(CREATE, {"input": proposal(title, 48.8556, 2.2986)})["outingCreate"]
    assert created["userErrors"] == []
    outing = created["outing"]
    assert outing["startsAt"] == "2031-05-06T10:00:00+02:00"
    assert outing["city"] == {"slug": "paris", "timeZone": "Europe/Paris"}

    def found():
        page = gql(NEARBY, {"near": {"lat": 48.8584, "lon": 2.2945}, "radiusKm": 2, "first": 10})["nearbyOutings"]
        return [e["node"] for e in page["edges"] if e["node"]["id"] == outing["id"]]

    [node] = wait_for(found, timeout=15, what="the new outing in nearbyOutings")
    assert node["title"] == title
    assert 0.3 < node["distanceKm"] < 0.6

    fetched = gql("query($id: ID!) { node(id: $id) { id ... on Outing { title } } }", {"id": outing["id"]})
    assert fetched["node"] == {"id": outing["id"], "title": title}


def test_results_are_sorted_by_distance_and_paginate(gql):
    # Annecy; within 2.5 km only these three (the subscriptions test's "Près" is 3 km away).
    centre = {"lat": 45.8992, "lon": 6.1294}
    ids = []
    for i, offset in enumerate((0.02, 0.005, 0.01)):
        result = gql(CREATE, {"input": proposal(f"Annecy {i}", 45.8992 + offset, 6.1294, city="annecy")})
        ids.append(result["outingCreate"]["outing"]["id"])
    expected = [ids[1], ids[2], ids[0]]

    def first_page():
        page = gql(NEARBY, {"near": centre, "radiusKm": 2.5, "first": 2})["nearbyOutings"]
        return page if page["totalCount"] == 3 else None

    page = wait_for(first_page, timeout=15, what="three Annecy outings indexed")
    assert [n["id"] for n in page["nodes"]] == expected[:2]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = gql(NEARBY, {"near": centre, "radiusKm": 2.5, "first": 2, "after": page["pageInfo"]["endCursor"]})
    assert [n["id"] for n in rest["nearbyOutings"]["nodes"]] == expected[2:]
    assert rest["nearbyOutings"]["pageInfo"]["hasNextPage"] is False


def test_bad_input_names_each_field_and_nothing_is_stored_or_indexed(gql):
    near = {"lat": 10.0452, "lon": 105.7469}  # Cần Thơ: nothing else is created here
    bad = proposal("", 123, 105.7469, city="can-tho", endsAt="2031-05-06T09:00")
    result = gql(CREATE, {"input": bad})["outingCreate"]
    assert result["outing"] is None
    assert {(tuple(e["field"]), e["code"]) for e in result["userErrors"]} == {
        (("input", "title"), "REQUIRED"),
        (("input", "location", "lat"), "OUT_OF_RANGE"),
        (("input", "endsAt"), "ENDS_BEFORE_START"),
    }
    # A good outing created afterwards goes through the same pipe; once it is searchable,
    # the bad one would have been too.
    good = gql(CREATE, {"input": proposal("Chợ nổi Cái Răng", 10.0, 105.76, city="can-tho", language="vi")})
    good_id = good["outingCreate"]["outing"]["id"]
    page = wait_for(
        lambda: (p := gql(NEARBY, {"near": near, "radiusKm": 50})["nearbyOutings"])["totalCount"] >= 1 and p,
        timeout=15,
        what="the good Cần Thơ outing indexed",
    )
    assert [n["id"] for n in page["nodes"]] == [good_id]


def test_bad_search_arguments_are_top_level_bad_user_input(http):
    # Query arguments are refused the way every query refuses them (tests/e2e/test_schema_contract_end_to_end.py).
    for near, radius, field in (
        ({"lat": 48.85, "lon": 2.29}, 0, "radiusKm"),
        ({"lat": 48.85, "lon": 2.29}, -1, "radiusKm"),
        ({"lat": 48.85, "lon": 2.29}, 100.5, "radiusKm"),
        ({"lat": 123, "lon": 2.29}, 5, "near.lat"),
    ):
        body = http.post("/graphql", json={"query": NEARBY, "variables": {"near": near, "radiusKm": radius}}).json()
        assert body["data"] == {"nearbyOutings": None}
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"].get("field", field) == field


def test_health_reports_every_part_up(stack):
    body = httpx.get(f"{stack.gateway_url}/health", timeout=10).json()
    assert body == {
        "status": "ok",
        "parts": {
            "rabbitmq": "up",
            "members": "up",
            "events": "up",
            "listings": "up",
            "search": "up",
            "moderation": "up",
            "conversations": "up",
        },
    }


def test_a_stopped_service_is_reported_and_answers_service_unavailable(stack):
    stack.stop("listings")
    try:
        response = httpx.get(f"{stack.gateway_url}/health", timeout=10)
        assert response.status_code == 503
        assert response.json()["parts"]["listings"].startswith("down")
        assert response.json()["parts"]["events"] == "up"
    finally:
        stack.start("listings")
        stack.wait_healthy(60)


SEARCH = """
query Search($near: GeoPointInput!, $text: String!, $sort: OutingSort) {
  nearbyOutings(near: $near, radiusKm: 1, first: 20, filter: {text: $text}, sort: $sort) {
    nodes { id }
    userErrors { field code }
  }
}"""


def test_search_finds_what_a_parent_typed_in_any_form(gql):
    """Issue 22's three misses, through the GraphQL API: NFD accents, words spread over title and
    venue, Arabic typed without its hamza."""
    spot = {"lat": 48.9362, "lon": 2.3574}  # Saint-Denis
    made = {}
    for key, title, venue, language in (
        ("gouter", "Goûter au Công viên", "Basilique", "fr"),
        ("picnic", "Pique-nique des familles", "Square Wilson", "fr"),
        ("kids", "نزهة الأطفال", "Parc de la Légion d'Honneur", "ar"),
    ):
        proposed = proposal(title, spot["lat"], spot["lon"], venueName=venue, city="saint-denis", language=language)
        made[key] = gql(CREATE, {"input": proposed})["outingCreate"]["outing"]["id"]

    def found(text, sort="DISTANCE"):
        answer = gql(SEARCH, {"near": spot, "text": text, "sort": sort})["nearbyOutings"]
        assert answer["userErrors"] == []
        return {key for key, outing_id in made.items() if outing_id in {n["id"] for n in answer["nodes"]}}

    # Each found by a plain word of its venue first: all three are indexed.
    wait_for(lambda: found("Basilique") | found("Wilson") | found("Légion") == set(made), 5, what="indexed")
    assert found(unicodedata.normalize("NFD", "Goûter Công viên")) == {"gouter"}
    assert found("pique-nique Wilson", "RELEVANCE") == {"picnic"}
    assert found("الاطفال") == {"kids"}
