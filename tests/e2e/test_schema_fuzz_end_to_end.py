"""A property-based fuzzer of the whole schema against the running gateway (hypothesis-graphql).

Operations generated from the schema introspected from the running gateway, valid ones and ones with one schema
violation (a wrong argument type, a missing required argument, an unknown enum value), are
sent anonymous and signed in, over POST and GET. Whatever a client sends, the answer is never
an HTTP 5xx nor an INTERNAL_SERVER_ERROR: a client's mistake is a 4xx or a BAD_USER_INPUT, a
missing sign-in UNAUTHENTICATED. Every fault is collected (not only the first), and the last
test lists them with the exact document and answer.

It runs on a stack of its own: generated mutations create accounts, groups and outings, log
sessions out and trip login throttles, which must not touch the other tests' data.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, queries

from devtools.isolated import isolated_stack
from parentnet_kit import testing
from parentnet_kit.testing import wait_for

# How many operations each way; 2,100 in all.
BUDGET = {"post-anonymous": 450, "post-signed-in": 550, "get-anonymous": 250, "get-signed-in": 250}
NEGATIVE_BUDGET = {"post-anonymous": 300, "post-signed-in": 300}
SENT: Counter[str] = Counter()
ANSWERS: Counter[str] = Counter()  # "200", "400 GRAPHQL_VALIDATION_FAILED", ...: what the fuzzer reached
FAULTS: list[dict] = []


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory):
    with isolated_stack("fuzz", tmp_path_factory.mktemp("fuzz")) as running:
        yield running


@pytest.fixture(scope="module")
def client(fuzz_stack):
    with httpx.Client(base_url=fuzz_stack.gateway_url, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def live_schema(client) -> graphql.GraphQLSchema:
    """The schema as a client sees it: introspected from the running gateway."""
    body = client.post("/graphql", json={"query": graphql.get_introspection_query()}).json()
    assert "errors" not in body, body
    return graphql.build_client_schema(body["data"])


PARIS = {"lat": 48.8566, "lon": 2.3522}


class Steer(graphql.Visitor):
    """Most generated values steered to where the data is, so operations reach the resolvers
    (organizers, attendance, places, memberships...) instead of stopping at argument checks:
    page sizes into 1..100, radii into (0, 50], points into central Paris, city slugs to paris,
    IDs to the seeded objects'. About one value in five is left as generated. The choice
    depends only on the generated value (crc32), so a run is as reproducible as hypothesis's."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__()
        self.ids = ids

    def enter_argument(self, node: graphql.ArgumentNode, *_: object) -> graphql.ArgumentNode:
        return graphql.ArgumentNode(name=node.name, value=self.steer(node.name.value, node.value))

    def enter_object_field(self, node: graphql.ObjectFieldNode, *_: object) -> graphql.ObjectFieldNode:
        return graphql.ObjectFieldNode(name=node.name, value=self.steer(node.name.value, node.value))

    def steer(self, name: str, value: graphql.ValueNode) -> graphql.ValueNode:
        raw = getattr(value, "value", None)
        if not isinstance(raw, str) or zlib.crc32(f"{name}:{raw}".encode()) % 5 == 0:
            return value
        pick = zlib.crc32(raw.encode())
        if name in ("first", "last") and isinstance(value, graphql.IntValueNode):
            return graphql.IntValueNode(value=str(pick % 100 + 1))
        if name == "radiusKm" and isinstance(value, graphql.IntValueNode | graphql.FloatValueNode):
            return graphql.FloatValueNode(value=f"{pick % 500 / 10 + 0.1:.1f}")
        if name in ("lat", "lon") and isinstance(value, graphql.IntValueNode | graphql.FloatValueNode):
            return graphql.FloatValueNode(value=f"{PARIS[name] + (pick % 2000 - 1000) / 50000:.5f}")
        if name == "city" and isinstance(value, graphql.StringValueNode):
            return graphql.StringValueNode(value="paris")
        if (name in ("id", "ids") or name.endswith("Id")) and isinstance(value, graphql.StringValueNode):
            return graphql.StringValueNode(value=self.ids[pick % len(self.ids)])
        return value


def hoist(document: graphql.DocumentNode, schema: graphql.GraphQLSchema) -> dict:
    """The operation as apps send it: about half its arguments moved into variables of their
    declared type, so the same values also go through variable coercion (a wrong type, an
    unknown enum value, a missing field inside an input object...), not only literal validation.
    Returns the request body: ``{"query", "variables"}``."""
    type_info = graphql.TypeInfo(schema)
    variables: dict = {}
    definitions: list[graphql.VariableDefinitionNode] = []

    class Variables(graphql.Visitor):
        def enter_argument(self, node: graphql.ArgumentNode, *_: object) -> graphql.ArgumentNode | None:
            declared = type_info.get_input_type()
            if declared is None or zlib.crc32(graphql.print_ast(node).encode()) % 2:
                return None
            name = graphql.NameNode(value=f"v{len(variables)}")
            variables[name.value] = graphql.value_from_ast_untyped(node.value)
            definitions.append(
                graphql.VariableDefinitionNode(
                    variable=graphql.VariableNode(name=name), type=graphql.parse_type(str(declared))
                )
            )
            return graphql.ArgumentNode(name=node.name, value=graphql.VariableNode(name=name))

    edited = graphql.visit(document, graphql.TypeInfoVisitor(type_info, Variables()))
    for operation in edited.definitions:
        if isinstance(operation, graphql.OperationDefinitionNode):
            operation.variable_definitions = (*(operation.variable_definitions or ()), *definitions)
    return {"query": graphql.print_ast(edited), "variables": variables}


class Member:
    """The fuzzer's own account; signed in again when a generated memberLogout ends its session."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.token = ""
        self.lock = threading.Lock()
        self.renew("")

    def renew(self, stale: str) -> None:
        """A new account, unless another thread already replaced the ``stale`` token."""
        with self.lock:
            if self.token == stale:
                self._register()

    def _register(self) -> None:
        email = f"{testing.unique_name('fuzzer')}@example.org"
        register = """mutation($input: MemberRegisterInput!) { memberRegister(input: $input) { accessToken } }"""
        fields = {"email": email, "password": "a long fuzzing password", "displayName": "Fuzzer", "city": "paris"}

        def registered() -> str | None:
            body = self.http.post("/graphql", json={"query": register, "variables": {"input": fields}}).json()
            return ((body.get("data") or {}).get("memberRegister") or {}).get("accessToken")

        self.token = wait_for(registered, timeout=30, what="the fuzzer's account")


@pytest.fixture(scope="module")
def member(client) -> Member:
    return Member(client)


SEED = """mutation($outing: OutingCreateInput!, $listing: ListingCreateInput!, $group: GroupCreateInput!,
                   $contact: ContactCreateInput!) {
  outingCreate(input: $outing) { outing { id organizer { id } } userErrors { field code } }
  listingCreate(input: $listing) { listing { id } userErrors { field code } }
  groupCreate(input: $group) { group { id } userErrors { field code } }
  contactCreate(input: $contact) { contact { id } userErrors { field code } }
}"""


@pytest.fixture(scope="module")
def seeded_ids(client, member) -> list[str]:
    """An outing, a listing, a group and a contact in central Paris, and their IDs for Steer."""
    near = {"lat": PARIS["lat"] + 0.003, "lon": PARIS["lon"]}
    variables = {
        "outing": {
            "title": "Goûter du fuzzer",
            "category": "PARK",
            "startsAt": "2031-06-01T16:00",
            "endsAt": "2031-06-01T18:00",
            "venueName": "Square du Temple",
            "location": near,
            "city": "paris",
            "capacity": 3,
        },
        "listing": {"kind": "GIVE", "category": "TOYS", "title": "Puzzle", "city": "paris", "pickupLocation": near},
        "group": {"name": "Parents du fuzzer", "city": "paris"},
        "contact": {"kind": "NURSERY", "name": "Crèche du Temple", "city": "paris", "phone": "+33 1 00 00 00 00"},
    }
    headers = {"Authorization": f"Bearer {member.token}"}
    data = client.post("/graphql", json={"query": SEED, "variables": variables}, headers=headers).json()["data"]
    made = [data["outingCreate"]["outing"], data["listingCreate"]["listing"], data["groupCreate"]["group"]]
    made.append(data["contactCreate"]["contact"])
    assert all(made), data
    return [m["id"] for m in made] + [data["outingCreate"]["outing"]["organizer"]["id"], "bm90IGFuIGlk"]


def date_times() -> st.SearchStrategy[graphql.StringValueNode]:
    """DateTime literals: well-formed ones, with and without offsets, and junk."""
    moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
    text = st.one_of(
        moments.map(lambda m: m.isoformat()),
        moments.map(lambda m: m.replace(tzinfo=UTC).isoformat()),
        st.text(max_size=30),
    )
    return text.map(lambda value: graphql.StringValueNode(value=value))


# An Upload is a file of a multipart request; in a query or in JSON variables anything is a mistake.
SCALARS = {"DateTime": date_times(), "Upload": st.text(max_size=20).map(lambda v: graphql.StringValueNode(value=v))}
# Generate only (no shrinking: every fault is kept as it came), nothing saved between runs.
FUZZ = {"deadline": None, "database": None, "phases": [Phase.generate], "suppress_health_check": list(HealthCheck)}


def send(http: httpx.Client, way: str, request: dict, member: Member | None) -> None:
    """Send one operation (``{"query", "variables"}``) and keep it if the answer is a server fault."""
    token = member.token if member else ""
    headers = {"Authorization": f"Bearer {token}"} if member else {}
    if way.startswith("get"):
        params = {"query": request["query"], "variables": json.dumps(request["variables"])}
        answer = http.get("/graphql", params=params, headers=headers)
    else:
        answer = http.post("/graphql", json=request, headers=headers)
    SENT[way] += 1
    if member is not None and answer.status_code == 401:
        member.renew(token)  # a generated memberLogout ended the session: the next operations sign in again
    try:
        body = answer.json()
    except ValueError:
        body = {"raw": answer.text[:500]}
    codes = (
        [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []] if isinstance(body, dict) else []
    )
    ANSWERS[" ".join([str(answer.status_code), *sorted({str(c) for c in codes})])] += 1
    if answer.status_code >= 500 or "INTERNAL_SERVER_ERROR" in codes:
        FAULTS.append({"way": way, "status": answer.status_code, **request, "answer": body})


def run(http: httpx.Client, way: str, strategy: st.SearchStrategy[dict], examples: int, member: Member | None) -> None:
    """Send ``examples`` operations drawn from ``strategy``; drawing one costs about as much as
    answering one (0.1 s on a loaded 2-core machine), so four threads send while the next are drawn."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        sent = []

        @settings(max_examples=examples, **FUZZ)
        @given(strategy)
        def fuzz(request: dict) -> None:
            sent.append(pool.submit(send, http, way, request, member))

        fuzz()
        for future in sent:
            future.result()


def printer(ids: list[str], schema: graphql.GraphQLSchema):
    """Steered, then half its arguments as variables: the request body to send."""
    return lambda document: hoist(graphql.visit(document, Steer(ids)), schema)


@pytest.mark.parametrize("way", list(BUDGET))
def test_generated_valid_operations(client, live_schema, member, seeded_ids, way):
    make = queries if way.startswith("get") else from_schema  # GET runs queries only
    strategy = make(live_schema, custom_scalars=SCALARS, print_ast=printer(seeded_ids, live_schema))
    run(client, way, strategy, BUDGET[way], member if way.endswith("signed-in") else None)


@pytest.mark.parametrize("way", list(NEGATIVE_BUDGET))
def test_generated_operations_with_one_schema_violation(client, live_schema, member, seeded_ids, way):
    strategy = from_schema(
        live_schema, custom_scalars=SCALARS, mode=Mode.NEGATIVE, print_ast=printer(seeded_ids, live_schema)
    )
    run(client, way, strategy, NEGATIVE_BUDGET[way], member if way.endswith("signed-in") else None)


def test_no_operation_got_a_server_fault():
    print(f"\nfuzzed {dict(SENT)}; answers {ANSWERS.most_common()}")
    assert sum(SENT.values()) >= 2000, SENT
    # Most operations must run, not stop at the limits or at validation.
    executed = sum(n for answer, n in ANSWERS.items() if answer.startswith("200"))
    assert executed >= sum(SENT.values()) // 3, ANSWERS
    shown = [json.dumps(f, ensure_ascii=False)[:1500] for f in FAULTS[:30]]
    assert not FAULTS, f"{len(FAULTS)} of {sum(SENT.values())} operations got a server fault:\n" + "\n".join(shown)
