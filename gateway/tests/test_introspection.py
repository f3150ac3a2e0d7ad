"""Standard introspection passes the limits (what GraphiQL, gql and codegen send); abuse of
``__schema``/``__type`` does not; switched off, it says so."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from graphql import get_introspection_query
from test_graphql_http import post

EXPLORER = Path(__file__).resolve().parents[2] / "clients" / "explorer"


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body["errors"]]


def test_graphql_core_introspection_passes_with_every_option(make_client):
    client, fake = make_client({})
    names = ("descriptions", "specified_by_url", "directive_is_repeatable", "schema_description")
    names += ("input_value_deprecation", "experimental_directive_deprecation", "input_object_one_of")
    # None, all, and each option alone (all 128 combinations pass too; 6 s).
    combinations = [dict.fromkeys(names, False), dict.fromkeys(names, True)]
    combinations += [{name: True} for name in names]
    for flags in combinations:
        response = post(client, get_introspection_query(**flags))
        assert response.status_code == 200, (flags, response.json())
        types = {t["name"] for t in response.json()["data"]["__schema"]["types"]}
        assert {"Outing", "Query", "Mutation", "Subscription"} <= types
    assert fake.calls == []


@pytest.mark.skipif(shutil.which("node") is None, reason="node is installed by provisioning")
def test_graphiql_introspection_query_passes(make_client):
    """The query GraphiQL sends (graphql-js getIntrospectionQuery, typeDepth 9), with every option."""
    options = "{inputValueDeprecation: true, specifiedByUrl: true, oneOf: true, schemaDescription: true}"
    script = f"console.log(require('graphql').getIntrospectionQuery({options}))"
    query = subprocess.run(
        ["node", "-e", script], cwd=EXPLORER, capture_output=True, text=True, check=True, timeout=30
    ).stdout
    assert query.count("ofType") == 9
    client, _ = make_client({})
    response = post(client, query)
    assert response.status_code == 200, response.json()
    outing = next(t for t in response.json()["data"]["__schema"]["types"] if t["name"] == "Outing")
    assert "startsAt" in {f["name"] for f in outing["fields"]}


def test_abuse_of_introspection_is_refused(make_client):
    client, _ = make_client({})
    nested = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    assert codes(post(client, nested).json()) == ["QUERY_TOO_DEEP"]
    through_type = '{ __type(name: "Outing") { fields { type { ofType { fields { name } } } } } }'
    assert codes(post(client, through_type).json()) == ["QUERY_TOO_DEEP"]
    of_types = "{ __schema { types { " + "ofType { " * 12 + "name" + " }" * 12 + " } } }"
    assert codes(post(client, of_types).json()) == ["QUERY_TOO_DEEP"]
    aliases = "{ " + " ".join(f'a{i}: __type(name: "Outing") {{ name }}' for i in range(40)) + " }"
    assert codes(post(client, aliases).json()) == ["TOO_MANY_ALIASES"]
    repeated = "{ " + " ".join("__schema { types { name } }" for _ in range(40)) + " }"
    assert codes(post(client, repeated).json()) == ["QUERY_TOO_LARGE"]


def test_introspection_switched_off_says_so(make_client):
    client, _ = make_client({}, introspection=False)
    body = post(client, get_introspection_query()).json()
    assert codes(body) == ["INTROSPECTION_DISABLED"]
    assert body["errors"][0]["message"] == "Introspection is switched off on this server (GATEWAY_INTROSPECTION=false)."
    assert post(client, "{ __typename cities { slug } }").status_code == 200


def test_introspection_is_computed_once_per_text_off_the_event_loop(make_client):
    """~170 ms of pure Python each time: repeated within a client's budget it would stall others."""
    client, _ = make_client({})
    runner = client.app.state.runner
    query = get_introspection_query(descriptions=True)
    first, second = post(client, query).json(), post(client, query).json()
    assert first["data"] == second["data"] and len(runner._introspections) == 1
    post(client, '{ __type(name: "Outing") { name } }')
    assert len(runner._introspections) == 2
