"""Request ids, the access log and the gateway's metrics (gateway/observe.py)."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY
from test_graphql_http import OUTING

from gateway.ids import to_global_id
from gateway.observe import route_of
from parentnet_kit import request_ids

NODE = "query Outing($id: ID!) { node(id: $id) { ... on Outing { title } } }"


def test_a_clients_request_id_is_echoed_and_reaches_every_rpc(make_client):
    seen = []

    def get_outings(outing_ids):
        seen.append(request_ids.current())
        return [OUTING]

    client, _ = make_client({"events.get_outings": get_outings})
    response = client.post(
        "/graphql",
        json={"query": NODE, "variables": {"id": to_global_id("Outing", "o1")}},
        headers={"X-Request-ID": "client-chosen:42"},
    )
    assert response.headers["x-request-id"] == "client-chosen:42"
    assert response.json()["extensions"]["requestId"] == "client-chosen:42"
    assert seen == ["client-chosen:42"]


@pytest.mark.parametrize("sent", [None, "", "with space", "x" * 129, "-starts-with-dash", "é".encode("latin-1")])
def test_a_missing_or_malformed_request_id_is_replaced(make_client, sent):
    client, _ = make_client({})
    headers = {"X-Request-ID": sent} if sent is not None else {}
    response = client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    made = response.headers["x-request-id"]
    assert made != sent and request_ids.WELL_FORMED.fullmatch(made)
    assert response.json()["extensions"]["requestId"] == made


def test_a_request_refused_before_execution_has_its_id_too(make_client):
    client, _ = make_client({})
    response = client.post("/graphql", content=b"not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["extensions"]["requestId"] == response.headers["x-request-id"]


def test_one_access_line_per_request_and_per_operation_without_variables(make_client, caplog):
    client, _ = make_client({"events.get_outings": lambda outing_ids: [OUTING]})
    secret = to_global_id("Outing", "o1")
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        client.post(
            "/graphql",
            json={"query": NODE, "variables": {"id": secret}, "operationName": "Outing"},
            headers={"X-Request-ID": "req-log"},
        )
    lines = caplog.records
    [operation] = [r.fields for r in lines if r.getMessage() == "graphql operation"]
    assert operation["operation_name"] == "Outing" and operation["operation_type"] == "query"
    assert operation["root_fields"] == ["node"] and operation["outcome"] == "ok" and operation["status"] == 200
    assert operation["rpc_calls"] == 1 and operation["cost"] >= 1 and operation["duration_ms"] >= 0
    [access] = [r.fields for r in lines if r.getMessage() == "http request"]
    assert access["route"] == "/graphql" and access["method"] == "POST" and access["status"] == 200
    written = " ".join(f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in lines)
    assert secret not in written


def test_metrics_count_operations_by_root_field_and_requests_by_route(make_client):
    client, _ = make_client({})

    def count(name: str, labels: dict[str, str]) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    operations = ("parentnet_gateway_graphql_operations_total", {"operation_type": "query", "root_field": "cities"})
    requests = ("parentnet_gateway_http_requests_total", {"method": "POST", "route": "/graphql", "status": "200"})
    before = count(*operations[:1], {**operations[1], "outcome": "ok"}), count(*requests)
    client.post("/graphql", json={"query": "{ cities { slug } }"})
    assert count(*operations[:1], {**operations[1], "outcome": "ok"}) == before[0] + 1
    assert count(*requests) == before[1] + 1
    # An unknown path is one label value, whatever it is.
    assert route_of("/graphql/../../etc/passwd") == route_of("/o/123") == "other"


def test_ready_needs_rabbitmq_but_no_service(make_client):
    client, _ = make_client({})  # the stand-in never connects the real client
    with client:
        answer = client.get("/ready")
    assert answer.status_code == 503
    assert answer.json()["parts"]["rabbitmq"].startswith("down")
    assert set(answer.json()["parts"]) == {"started", "rabbitmq"}
