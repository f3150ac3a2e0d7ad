"""The gateway's edge as front-end tools meet it (issue 18): every field answers with real data,
a client's mistake is BAD_USER_INPUT with graphql-core's words on every transport, and a
subscription with bad input hears an ``error`` for that operation."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from typing import Any
from urllib.parse import quote

import pytest
from conftest import post
from graphql import (
    FieldNode,
    GraphQLInterfaceType,
    GraphQLUnionType,
    OperationDefinitionNode,
    build_client_schema,
    get_introspection_query,
    get_named_type,
    is_leaf_type,
    is_required_argument,
    parse,
    print_ast,
)
from test_docs_queries import operations, scene  # noqa: F401 - scene is a fixture used here
from websockets.asyncio.client import connect

# By design for some viewers (a list only the organizer sees); anything else is a fault.
BY_DESIGN = {"FORBIDDEN", "UNAUTHENTICATED"}
GRAPHQL_RESPONSE = "application/graphql-response+json"


def every_field(
    schema: Any, type_: Any, path: tuple[str, ...] = (), depth: int = 4, taken: set[str] | None = None
) -> str:
    """A selection of every field of ``type_`` that needs no argument, objects ``depth`` deep
    (each type once per path, pages of 2). Of an interface or union, each possible type's fields
    that no type before it had (two types' ``category`` may be different enums: they would
    conflict side by side)."""
    if isinstance(type_, GraphQLInterfaceType | GraphQLUnionType):
        parts, seen = ["__typename"], set()
        for possible in schema.get_possible_types(type_):
            inner = every_field(schema, possible, path, depth, seen)
            if inner:
                parts.append(f"... on {possible.name} {{ {inner} }}")
        return " ".join(parts)
    parts = []
    for name, field in type_.fields.items():
        if any(is_required_argument(a) for a in field.args.values()) or (taken is not None and name in taken):
            continue
        if taken is not None:
            taken.add(name)
        arguments = "(first: 2)" if "first" in field.args else ""
        named = get_named_type(field.type)
        if is_leaf_type(named):
            parts.append(name + arguments)
        elif depth > 0 and named.name not in path:
            inner = every_field(schema, named, (*path, named.name), depth - 1)
            if inner:
                parts.append(f"{name}{arguments} {{ {inner} }}")
    return " ".join(parts)


def with_every_field(schema: Any, operation_text: str) -> str:
    """The operation with each root field selecting everything under it."""
    document = parse(operation_text)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    root = schema.query_type if operation.operation.value == "query" else schema.mutation_type
    fields = []
    for selection in operation.selection_set.selections:
        assert isinstance(selection, FieldNode)
        named = get_named_type(root.fields[selection.name.value].type)
        everything = every_field(schema, named, (named.name,), 2)
        fields.append(parse(f"{{ x {{ {everything} }} }}").definitions[0].selection_set.selections[0].selection_set)
    for selection, selection_set in zip(operation.selection_set.selections, fields, strict=True):
        selection.selection_set = selection_set
    used = set(re.findall(r"\$(\w+)", print_ast(operation.selection_set)))
    operation.variable_definitions = tuple(d for d in operation.variable_definitions if d.variable.name.value in used)
    return print_ast(document)


def faults(body: dict) -> list[dict]:
    return [e for e in body.get("errors", []) if e.get("extensions", {}).get("code") not in BY_DESIGN]


@pytest.fixture(scope="module")
def client_schema(http):
    body = post(http, get_introspection_query(input_value_deprecation=True)).json()
    assert "errors" not in body, body
    return build_client_schema(body["data"])


def test_sign_in_payloads_answer_every_field(http, client_schema):
    """accessTokenExpiresAt was INTERNAL_SERVER_ERROR on every sign-in (an ISO string from the
    members service reached graphene's DateTime, which serializes datetimes only)."""
    payload = every_field(client_schema, client_schema.get_type("AuthPayload"), ("AuthPayload",), 3)
    email = f"edge-{time.time_ns()}@example.org"
    register = post(
        http,
        f"mutation($i: MemberRegisterInput!) {{ memberRegister(input: $i) {{ {payload} }} }}",
        {"i": {"email": email, "password": "a long test password", "displayName": "Edge", "city": "montreal"}},
    ).json()
    assert "errors" not in register, register
    registered = register["data"]["memberRegister"]
    assert registered["userErrors"] == [] and registered["accessTokenExpiresAt"].startswith("20")
    login = post(
        http,
        f"mutation($i: MemberLoginInput!) {{ memberLogin(input: $i) {{ {payload} }} }}",
        {"i": {"email": email, "password": "a long test password"}},
    ).json()
    assert "errors" not in login, login
    refreshed = post(
        http,
        f"mutation($i: MemberTokenRefreshInput!) {{ memberTokenRefresh(input: $i) {{ {payload} }} }}",
        {"i": {"refreshToken": login["data"]["memberLogin"]["refreshToken"]}},
    ).json()
    assert "errors" not in refreshed, refreshed
    assert refreshed["data"]["memberTokenRefresh"]["accessTokenExpiresAt"]


def test_every_field_reachable_from_the_docs_queries_answers(http, client_schema, scene):  # noqa: F811
    token = scene["listener"]["token"]
    for name, (kind, text) in operations().items():
        if kind != "query":
            continue
        full = with_every_field(client_schema, text)
        variables = {k: v for k, v in scene["variables"][name].items() if f"${k}" in full}
        response = post(http, full, variables, token)
        body = response.json()
        assert response.status_code == 200, (name, body)
        assert faults(body) == [], (name, faults(body))


HERE = "near: {lat: 48.8, lon: 2.3}, radiusKm: 1"
NEAR = "query($n: GeoPointInput!) { nearbyOutings(near: $n, radiusKm: 1) { totalCount } }"
FILTER = f"query($f: OutingFilter) {{ nearbyOutings({HERE}, filter: $f) {{ totalCount }} }}"
SORT = f"query($s: OutingSort) {{ nearbyOutings({HERE}, sort: $s) {{ totalCount }} }}"
FIRST = f"query($n: Int) {{ nearbyOutings({HERE}, first: $n) {{ totalCount }} }}"
MISTAKES = {
    "wrong type inside an input object": (NEAR, {"n": {"lat": "abc", "lon": 2.3}}, "Float cannot represent"),
    "missing input field": (NEAR, {"n": {"lat": 48.8}}, "Field 'lon' of required type 'Float!' was not provided"),
    "unknown enum value": (SORT, {"s": "NEAREST_FIRST"}, "Value 'NEAREST_FIRST' does not exist in 'OutingSort'"),
    "Int above 2^31": (FIRST, {"n": 2**31}, "Int cannot represent non 32-bit signed integer value"),
    "malformed DateTime": (FILTER, {"f": {"startsAfter": "next tuesday"}}, "DateTime must be an ISO 8601"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_clients_mistake_is_bad_user_input_with_graphql_cores_words(http, mistake):
    query, variables, words = MISTAKES[mistake]
    response = post(http, query, variables)
    body = response.json()
    assert response.status_code == 400 and response.headers["content-type"].startswith(GRAPHQL_RESPONSE), body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], body
    assert words in body["errors"][0]["message"] and "data" not in body
    assert body["extensions"]["rpcCalls"] == 0
    # A legacy application/json client gets the same errors with 200, as the spec says.
    legacy = http.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"accept": "application/json"}
    )
    assert legacy.status_code == 200 and legacy.json()["errors"] == body["errors"]


def test_null_first_and_doctored_cursors_are_client_mistakes(http):
    suggest = post(http, '{ suggest(text: "zoo", first: null) { suggestions { text } } }').json()
    assert [e["extensions"]["code"] for e in suggest["errors"]] == ["BAD_USER_INPUT"], suggest
    for field in ("nearbyOutings", "nearbyListings"):
        for values in (["far", 3], [1.5, {"id": 1}], [None, "x"]):
            cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode()
            query = f'{{ {field}({HERE}, after: "{cursor}") {{ totalCount }} }}'
            body = post(http, query).json()
            # Query-argument mistakes are top-level BAD_USER_INPUT (gwschema branch: one channel),
            # refused before the search service is asked.
            assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], (field, values, body)
            assert body["data"] == {field: None} and body["extensions"]["rpcCalls"] == 0


def test_lone_surrogates_and_deep_json_are_client_mistakes(http):
    query = quote("query($t: String!) { suggest(text: $t) { suggestions { text } } }")
    surrogate = http.get(f"/graphql?query={query}&variables={quote(json.dumps({'t': chr(0xD800)}))}")
    assert surrogate.status_code == 400, surrogate.text
    assert surrogate.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "codec" not in surrogate.text  # no library's words
    assert "not valid Unicode" in surrogate.json()["errors"][0]["message"]
    body = (
        '{"query": "query($t: String!) { suggest(text: $t) { suggestions { text } } }", "variables": {"t": "\\ud800"}}'
    )
    posted = http.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert posted.status_code == 400 and posted.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    nested = quote('{"t":' + "[" * 5000 + "]" * 5000 + "}")
    deep = http.get(f"/graphql?query={query}&variables={nested}")
    assert deep.status_code == 400 and deep.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def ws_url(stack) -> str:
    return stack.gateway_url.replace("http://", "ws://") + "/graphql"


async def operation_messages(url: str, message: str, token: str | None = None, deadline: float = 15.0) -> list[dict]:
    """Send one raw ``subscribe`` message (text) after the handshake; the messages for it until
    its ``error`` or ``complete``, or until ``deadline`` seconds pass."""
    received = []
    async with connect(url, subprotocols=["graphql-transport-ws"]) as socket:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(message)
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            try:
                answer = json.loads(await asyncio.wait_for(socket.recv(), end - time.monotonic()))
            except TimeoutError:
                break
            received.append(answer)
            if answer["type"] in ("error", "complete"):
                break
    return received


def subscribe(query: str, variables: dict | None = None) -> str:
    return json.dumps({"type": "subscribe", "id": "1", "payload": {"query": query, "variables": variables or {}}})


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("subscription { notificationReceived { id } }", None, "UNAUTHENTICATED"),
        (
            "subscription($n: GeoPointInput!) { outingPublishedNearby(near: $n, radiusKm: 5) { id } }",
            {"n": {"lat": 123, "lon": 2.3}},
            "BAD_USER_INPUT",
        ),
        ('subscription { outingAttendanceChanged(outingId: "junk") { id } }', None, "BAD_USER_INPUT"),
    ],
)
def test_a_subscription_with_bad_input_gets_an_error_within_2_s(stack, query, variables, code):
    messages = asyncio.run(operation_messages(ws_url(stack), subscribe(query, variables)))
    assert [m["type"] for m in messages] == ["error"], messages
    assert messages[0]["id"] == "1" and [e["extensions"]["code"] for e in messages[0]["payload"]] == [code]


def test_the_websocket_refuses_a_lone_surrogate_and_bad_variables_per_operation(stack):
    query = "query($t: String!) { suggest(text: $t) { suggestions { text } } }"
    raw = subscribe(query, {"t": "PLACEHOLDER"}).replace("PLACEHOLDER", "\\ud800")
    messages = asyncio.run(operation_messages(ws_url(stack), raw))
    assert [m["type"] for m in messages] == ["error"], messages
    assert messages[0]["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    messages = asyncio.run(operation_messages(ws_url(stack), subscribe(NEAR, {"n": {"lat": "abc", "lon": 1}})))
    assert [m["type"] for m in messages] == ["error"], messages
    assert "Float cannot represent" in messages[0]["payload"][0]["message"]
