"""The HTTP layer with a stand-in for RabbitMQ: pure request handling, errors and batching."""

from __future__ import annotations

from starlette.testclient import TestClient

from gateway.ids import to_global_id
from gateway.rpc import ServiceUnavailable

OUTING = {
    "id": "o1",
    "version": 1,
    "status": "published",
    "title": "Zoo",
    "description": "",
    "language": "fr",
    "category": "zoo",
    "starts_at": "2030-06-01T08:00:00Z",
    "ends_at": "2030-06-01T10:00:00Z",
    "time_zone": "Europe/Paris",
    "venue_name": "Zoo de Vincennes",
    "location": {"lat": 48.83, "lon": 2.41},
    "city": "paris",
    "organizer_id": None,
}


GRAPHQL_RESPONSE = "application/graphql-response+json"


def post(client: TestClient, query: str, variables: dict | None = None, accept: str = GRAPHQL_RESPONSE):
    """POST as a client of the GraphQL-over-HTTP spec (request errors are HTTP 400)."""
    return client.post("/graphql", json={"query": query, "variables": variables or {}}, headers={"accept": accept})


def test_node_ids_resolve_through_one_batched_call(make_client):
    client, fake = make_client({"events.get_outings": lambda outing_ids: [{**OUTING, "id": i} for i in outing_ids]})
    ids = [to_global_id("Outing", f"o{i}") for i in range(5)]
    query = (
        "{ "
        + " ".join(f'n{i}: node(id: "{gid}") {{ id ... on Outing {{ title }} }}' for i, gid in enumerate(ids))
        + " }"
    )
    body = post(client, query).json()
    assert [body["data"][f"n{i}"]["id"] for i in range(5)] == ids
    assert fake.calls == [("events", "get_outings")]


def test_a_down_service_is_service_unavailable_and_the_rest_resolves(make_client):
    client, _ = make_client({"search.nearby_outings": ServiceUnavailable("search", "no answer")})
    body = post(client, "{ cities { slug } nearbyOutings(near: {lat: 1, lon: 1}, radiusKm: 1) { totalCount } }").json()
    assert body["errors"][0]["extensions"] == {"code": "SERVICE_UNAVAILABLE", "service": "search"}
    assert "paris" in {c["slug"] for c in body["data"]["cities"]}


def test_client_faults_have_codes_and_no_schema_hints(make_client):
    client, _ = make_client({})
    response = post(client, "{ citiez { slug } }")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "Did you mean" not in error["message"]
    assert post(client, "{ cities { ").json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    not_json = client.post("/graphql", content=b"nope", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert client.post("/graphql", content=b"{}").status_code == 415  # no content type


def test_oversized_bodies_are_refused(make_client):
    client, _ = make_client({}, max_body_bytes=100)
    response = post(client, "{ cities { slug } }" + " " * 200)
    assert response.status_code == 413


def test_introspection_can_be_switched_off(make_client):
    client, _ = make_client({}, introspection=False)
    assert post(client, "{ __schema { types { name } } }").status_code == 400


def test_outing_times_are_shown_in_the_city_time_zone(make_client):
    client, _ = make_client({"events.get_outings": lambda outing_ids: [OUTING]})
    body = post(
        client,
        '{{ node(id: "{}") {{ ... on Outing {{ startsAt city {{ timeZone }} }} }} }}'.format(
            to_global_id("Outing", "o1")
        ),
    ).json()
    assert body["data"]["node"] == {"startsAt": "2030-06-01T10:00:00+02:00", "city": {"timeZone": "Europe/Paris"}}


def test_alive_answers_without_dependencies(make_client):
    client, _ = make_client({})
    assert client.get("/alive").json() == {"status": "alive"}


def test_a_mutation_without_an_answer_in_time_is_outcome_unknown_and_a_query_unavailable(make_client):
    from gateway.rpc import OutcomeUnknown

    timeouts = []

    def slow_login(*args, **kwargs):
        raise OutcomeUnknown("members", "no answer within 30 s")

    client, fake = make_client(
        {"members.login": slow_login, "search.nearby_outings": OutcomeUnknown("search", "no answer within 5 s")}
    )
    original = fake.call

    async def call(service, method, *args, timeout=None, **kwargs):
        timeouts.append(timeout)
        return await original(service, method, *args, **kwargs)

    client.app.state.rpc.call = call
    login = 'mutation { memberLogin(input: {email: "a@example.org", password: "p"}) { accessToken } }'
    error = post(client, login).json()["errors"][0]
    assert error["extensions"] == {"code": "OUTCOME_UNKNOWN", "service": "members"}
    assert "same Idempotency-Key" in error["message"]
    assert timeouts == [30.0]  # a mutation's calls get GATEWAY_MUTATION_RPC_TIMEOUT
    query = "{ nearbyOutings(near: {lat: 1, lon: 1}, radiusKm: 1) { totalCount } }"
    assert post(client, query).json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert timeouts[1] is None  # a read keeps the default deadline
