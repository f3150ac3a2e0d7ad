"""Depth, decided by graphene's depth_limit_validator, as every transport answers it."""

from __future__ import annotations

import hashlib
import json

from test_graphql_http import post
from test_ws import handshake

from gateway.limits import Limits

# A path of fields nested as deep as needed: outing → organizer → groups → members → nodes ...
# (pages of one, so that the query's cost stays within its limit).
CHAIN = ["nearbyOutings(near: {lat: 1, lon: 1}, radiusKm: 1, first: 1)", "nodes", "organizer"]
CHAIN += ["groups", "members(first: 1)", "nodes"] * 6
TOO_DEEP = {"message": "The query is nested too deep: at most 12 levels.", "extensions": {"code": "QUERY_TOO_DEEP"}}


def nested(levels: int) -> str:
    """A valid query whose deepest field is at ``levels`` (``{ a { b } }`` is 2)."""
    inner = "__typename"
    for name in reversed(CHAIN[: levels - 1]):
        inner = f"{name} {{ {inner} }}"
    return f"{{ {inner} }}"


def test_twelve_levels_pass_and_thirteen_are_refused_with_our_code_and_message(make_client):
    client, fake = make_client({})
    within = post(client, nested(12))  # executed: the stand-in search answers nothing useful
    assert within.status_code == 200 and "data" in within.json()
    refused = post(client, nested(13))
    assert refused.status_code == 400 and refused.json()["errors"] == [TOO_DEEP]
    assert fake.calls == [("search", "nearby_outings")]  # only the query within the limit ran


def test_the_limit_is_the_configured_one(make_client):
    client, _ = make_client({}, limits=Limits(max_depth=5))
    body = post(client, nested(6)).json()
    assert body["errors"] == [{**TOO_DEEP, "message": "The query is nested too deep: at most 5 levels."}]


def test_depth_counts_through_fragments_and_inline_fragments(make_client):
    client, _ = make_client({})
    deepest = CHAIN[6:12]  # six levels inside a fragment on Member, the rest around it
    inner = "__typename"
    for name in reversed(deepest):
        inner = f"{name} {{ {inner} }}"
    query = (
        "{ nearbyOutings(near: {lat: 1, lon: 1}, radiusKm: 1) { nodes { ... on Outing { organizer { ...M } } } } } "
        f"fragment M on Member {{ groups {{ members {{ nodes {{ {inner} }} }} }} }}"
    )
    assert post(client, query).json()["errors"] == [TOO_DEEP]  # 4 + 3 + 6 fields: 13 levels


def test_introspection_does_not_count_against_depth(make_client):
    client, _ = make_client({})
    query = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType "
    query += "{ ofType { ofType { name } } } } } } } } } } } } } }"
    body = post(client, query).json()
    assert "errors" not in body and body["data"]["__schema"]["types"]


def test_a_fragment_cycle_or_an_unknown_fragment_is_a_validation_error_not_a_crash(make_client):
    client, _ = make_client({})
    cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
    unknown = "{ nearbyOutings(near: {lat: 1, lon: 1}, radiusKm: 1) { ...Nowhere } }"
    for query in (cycle, unknown):
        response = post(client, query)
        assert response.status_code == 400
        assert {e["extensions"]["code"] for e in response.json()["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}


def test_get_persisted_queries_and_the_websocket_refuse_the_same_depth(make_client):
    client, _ = make_client({})
    query = nested(13)
    by_get = client.get("/graphql", params={"query": query}, headers={"accept": "application/graphql-response+json"})
    assert by_get.status_code == 400 and by_get.json()["errors"] == [TOO_DEEP]

    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    persisted = client.post("/graphql", json={"query": query, "extensions": extensions})
    assert persisted.json()["errors"] == [TOO_DEEP]
    again = client.get("/graphql", params={"extensions": json.dumps(extensions)})
    assert again.json()["errors"] == [TOO_DEEP]  # asked by its hash alone, by GET

    socket, ws = handshake(client)
    ws.send_json({"type": "subscribe", "id": "deep", "payload": {"query": query}})
    answer = ws.receive_json()
    assert answer == {"type": "error", "id": "deep", "payload": [TOO_DEEP]}
    socket.__exit__(None, None, None)
