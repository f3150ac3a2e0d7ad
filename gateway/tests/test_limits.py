"""Limits refuse a request before any RPC is made; persisted queries; rate limits; CORS."""

from __future__ import annotations

import hashlib
import json

from test_graphql_http import post

from gateway.limits import RateLimiter

NEARBY = "nearbyOutings(near: {lat: 48.85, lon: 2.35}, radiusKm: 5, first: %d) { nodes { title } }"


def deep_query(levels: int) -> str:
    """A valid query nested ``levels`` deep: outing → organizer → groups → members → nodes → groups..."""
    inner = "id"
    for _ in range((levels - 3) // 3):
        inner = f"groups {{ members {{ nodes {{ {inner} }} }} }}"
    return f"{{ nearbyOutings(near: {{lat: 1, lon: 1}}, radiusKm: 1) {{ nodes {{ organizer {{ {inner} }} }} }} }}"


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body["errors"]]


def test_depth_aliases_and_huge_pages_are_refused_before_any_rpc(make_client):
    client, fake = make_client({})
    deep = post(client, deep_query(20))
    assert deep.status_code == 400 and codes(deep.json()) == ["QUERY_TOO_DEEP"]
    aliases = post(client, "{ " + " ".join(f"c{i}: cities {{ slug }}" for i in range(100)) + " }")
    assert aliases.status_code == 400 and codes(aliases.json()) == ["TOO_MANY_ALIASES"]
    huge = post(client, "{ " + NEARBY % 100000 + " }")
    assert huge.status_code == 400 and codes(huge.json()) == ["BAD_USER_INPUT"]
    assert "first must be between 1 and 100" in huge.json()["errors"][0]["message"]
    by_variable = post(
        client,
        "query($n: Int) { nearbyOutings(near: {lat: 1, lon: 1}, radiusKm: 1, first: $n) { totalCount } }",
        {"n": 0},
    )
    assert codes(by_variable.json()) == ["BAD_USER_INPUT"]
    pages = "members(first: 100) { nodes { groups { members(first: 100) { nodes { id } } } } }"
    outer = "nearbyOutings(near: {lat: 1, lon: 1}, radiusKm: 1, first: 100)"
    costly = post(client, f"{{ {outer} {{ nodes {{ organizer {{ groups {{ {pages} }} }} }} }} }}")
    assert costly.status_code == 400 and codes(costly.json()) == ["QUERY_TOO_COSTLY"]
    many_ops = post(client, " ".join(f"query Q{i} {{ cities {{ slug }} }}" for i in range(11)))
    assert codes(many_ops.json()) == ["TOO_MANY_OPERATIONS"]
    assert fake.calls == []
    # Within the limits, the same shapes run.
    ok = post(client, deep_query(9))
    assert ok.status_code == 200, ok.json()


def test_automatic_persisted_queries(make_client):
    client, _ = make_client({})
    query = "{ cities { slug } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    first = client.post("/graphql", json={"extensions": extensions})
    assert first.status_code == 200 and codes(first.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    registered = client.post("/graphql", json={"query": query, "extensions": extensions})
    assert registered.json()["data"]["cities"]
    again = client.get("/graphql", params={"extensions": json.dumps(extensions)})
    assert again.status_code == 200 and again.json()["data"]["cities"]
    wrong = client.post("/graphql", json={"query": "{ cities { name } }", "extensions": extensions})
    assert wrong.status_code == 400 and codes(wrong.json()) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    mutation_by_get = client.get("/graphql", params={"query": "mutation { memberLogout { sessionsEnded } }"})
    assert mutation_by_get.status_code == 405


def test_each_client_spends_query_cost_from_a_budget():
    limiter = RateLimiter(points_per_minute=600)
    assert limiter.spend("a", 500) is None
    wait = limiter.spend("a", 200)
    assert wait is not None and wait >= 1
    assert limiter.spend("b", 500) is None  # another client has its own budget


def test_cors_allows_the_configured_web_origins_only(make_client):
    client, _ = make_client({}, cors_origins=("https://app.parentnet.example",))
    allowed = client.options(
        "/graphql",
        headers={
            "Origin": "https://app.parentnet.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert allowed.headers["access-control-allow-origin"] == "https://app.parentnet.example"
    other = client.options(
        "/graphql", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in other.headers


def test_a_page_costs_its_size_whether_first_is_given_left_out_or_last_or_ids():
    """A page left without ``first`` returns its default size, so it costs that; ``last`` and the
    ids of ``nodes`` count like ``first``. Before, each of these counted as one item."""
    from graphql import parse

    from gateway.limits import Limits, request_errors
    from gateway.schema.assemble import schema

    def cost(query: str, variables: dict | None = None) -> int:
        document = parse(query)
        spent, errors = request_errors(
            document, document.definitions[0], variables or {}, Limits(), schema.graphql_schema
        )
        assert errors == []
        return spent

    inner = "{ nodes { title organizer { displayName } } }"
    near = "near: {lat: 1, lon: 1}, radiusKm: 1"
    one = cost(f"{{ nearbyOutings({near}, first: 1) {inner} }}")
    assert cost(f"{{ nearbyOutings({near}) {inner} }}") == cost(f"{{ nearbyOutings({near}, first: 20) {inner} }}")
    assert cost(f"{{ nearbyOutings({near}) {inner} }}") > 10 * one
    ids = [f'"id{i}"' for i in range(50)]
    fifty = cost(f"{{ nodes(ids: [{', '.join(ids)}]) {{ id }} }}")
    assert fifty > cost('{ nodes(ids: ["a"]) { id } }') * 10
    by_variable = cost("query($i: [ID!]!) { nodes(ids: $i) { id } }", {"i": ["a"] * 50})
    assert by_variable == fifty
    # A plain list (a member's groups) is not a page: it costs as before.
    groups = "{ viewer { groups { id } } }"
    assert cost(groups) == 3
    last = cost('{ contacts(city: "paris", last: 50) { nodes { name } } }')
    assert last == cost('{ contacts(city: "paris", first: 50) { nodes { name } } }') > 50


def test_refused_documents_are_paid_for_so_a_loop_of_them_meets_the_rate_limit(make_client):
    """Refusing a document costs parsing and checking it; a client looping refused documents
    used to spend nothing and slowed everyone's queries (3.7x p99) without ever meeting a 429."""

    client, fake = make_client({})
    statuses = []
    # 40 refusals spend the 200,000-point budget; the budget refills 3,333 points a second.
    while 429 not in statuses and len(statuses) < 60:
        statuses.append(post(client, deep_query(30)).status_code)
    assert statuses[0] == 400 and statuses[-1] == 429 and len(statuses) < 60, statuses
    assert fake.calls == []
