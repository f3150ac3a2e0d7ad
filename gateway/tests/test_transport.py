"""GraphQL over HTTP at the edge: media types, bodies of any framing, CORS, extensions.cost."""

from __future__ import annotations

from test_graphql_http import GRAPHQL_RESPONSE, post

from gateway.limits import Limits

LEGACY = "application/json"


def test_the_media_type_follows_accept_and_decides_the_status_of_a_request_error(make_client):
    client, _ = make_client({})
    for accept, media, status in (
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE, 400),
        (f"{GRAPHQL_RESPONSE}, {LEGACY};q=0.9", GRAPHQL_RESPONSE, 400),
        (LEGACY, LEGACY, 200),
        ("*/*", LEGACY, 200),
    ):
        response = post(client, "{ citiez { slug } }", accept=accept)
        assert response.status_code == status, accept
        assert response.headers["content-type"] == f"{media}; charset=utf-8"
        assert "data" not in response.json()
    assert post(client, "{ cities { slug } }", accept="text/html").status_code == 406


def test_a_body_without_content_length_is_bounded_too(make_client):
    client, _ = make_client({}, max_body_bytes=1_000)

    def chunks():  # sent chunked: no Content-Length
        yield b'{"query": "{ cities { slug } }", "padding": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}'

    response = client.post("/graphql", content=chunks(), headers={"content-type": LEGACY})
    assert response.status_code == 413 and response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    def small():
        yield b'{"query": "{ cities { slug } }"}'

    assert client.post("/graphql", content=small(), headers={"content-type": LEGACY}).status_code == 200


def test_every_answer_carries_its_cost_and_the_budget_left(make_client):
    client, _ = make_client({}, limits=Limits(rate_points_per_minute=600))
    first = post(client, "{ cities { slug } }").json()["extensions"]["cost"]
    assert first["requested"] == 2 and first["maximum"] == Limits.max_cost and first["restorePerSecond"] == 10
    assert 597 <= first["remaining"] <= 598
    refused = post(client, "{ citiez }").json()["extensions"]["cost"]
    assert refused["requested"] == 0
    # Refused before it was read as GraphQL, too.
    for response in (
        client.post("/graphql", content=b"{}"),  # no content type: 415
        client.post("/graphql", content=b"nope", headers={"content-type": LEGACY}),  # 400
        client.post("/graphql", json={"query": "{ cities { slug } }"}, headers={"authorization": "Basic x"}),  # 401
    ):
        assert response.json()["extensions"]["cost"]["requested"] == 0, response.status_code


def test_cors_lets_a_dev_page_send_the_headers_apps_send(make_client):
    client, _ = make_client({})
    headers = "authorization, content-type, idempotency-key, apollographql-client-name, apollo-require-preflight"
    preflight = client.options(
        "/graphql",
        headers={
            "origin": "http://localhost:5173",
            "access-control-request-method": "POST",
            "access-control-request-headers": headers,
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:5173"
    elsewhere = client.options(
        "/graphql", headers={"origin": "https://evil.example", "access-control-request-method": "POST"}
    )
    assert "access-control-allow-origin" not in elsewhere.headers
    limited, _ = make_client({}, limits=Limits(rate_points_per_minute=3))
    post(limited, "{ cities { slug } }")
    refused = limited.post(
        "/graphql", json={"query": "{ cities { slug } }"}, headers={"origin": "http://127.0.0.1:3000"}
    )
    assert refused.status_code == 429
    assert "retry-after" in refused.headers["access-control-expose-headers"].lower()


def test_costly_documents_are_refused_alike_over_post_and_get(make_client):
    client, fake = make_client({})
    levels = 24  # 2^24 fields once spread: refused from its counts, never walked
    fragments = ["fragment F0 on Query { cities { slug } }"]
    fragments += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    explosion = f"{{ ...F{levels} }} " + " ".join(fragments)
    same_name = "{" + " cities { slug }" * 500 + " }"
    too_many_tokens = "{" + " __typename" * 5_000 + " }"
    for query in (explosion, same_name, too_many_tokens):
        by_post = post(client, query)
        by_get = client.get("/graphql", params={"query": query}, headers={"accept": GRAPHQL_RESPONSE})
        for response in (by_post, by_get):
            assert response.status_code in (400, 413), response.text
            if response.status_code == 400:
                assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"
    assert fake.calls == []


def test_a_get_whose_query_string_is_not_utf8_is_refused_as_a_post_would_be(make_client):
    """Starlette replaces bad bytes in query parameters; they were answered 200 with the text
    silently changed, where the same bytes in a POST body are a 400."""
    client, _ = make_client({})
    good = client.get("/graphql?query=%7B%20cities%20%7B%20slug%20%7D%20%7D")
    assert good.status_code == 200, good.text
    for raw in (
        "/graphql?query=%7B%20cities%20%7B%20slug%20%7D%20%7D&variables=%7B%22t%22%3A%22%FF%22%7D",
        "/graphql?query=%7B%20cities%20%7B%20slug%20%ED%A0%80%7D%20%7D",
    ):
        refused = client.get(raw, headers={"accept": "application/graphql-response+json"})
        assert refused.status_code == 400, refused.text
        assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
