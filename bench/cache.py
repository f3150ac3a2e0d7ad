"""Measurement 5: the parsed-and-validated document cache on every query in docs/queries.

Each query is sent as its own document, as a client such as Apollo sends it; "uncached" is
the same text made new each time by a comment, so the gateway parses and validates it again.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from graphql import OperationDefinitionNode, OperationType, parse, print_ast

DOCS = Path(__file__).resolve().parent.parent / "docs" / "queries"
SPOT = {"lat": 48.8566, "lon": 2.3522}
REGISTER = """mutation($input: MemberRegisterInput!) {
  memberRegister(input: $input) { accessToken userErrors { field message } }
}"""
CREATE = """mutation($input: OutingCreateInput!) {
  outingCreate(input: $input) { outing { id } userErrors { field message } }
}"""


def queries() -> dict[str, str]:
    found = {}
    for path in sorted(DOCS.glob("*.graphql")):
        for definition in parse(path.read_text()).definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.operation == OperationType.QUERY:
                found[definition.name.value] = print_ast(definition)
    return found


def measure(post: Callable[[dict, dict], dict], rounds: int = 200) -> dict[str, dict[str, float]]:
    """``post(payload, headers)`` sends one request and returns the body; per query p50s."""
    fields = {
        "email": f"bench-{uuid.uuid4().hex[:8]}@example.org",
        "password": "a long bench password",
        "displayName": "Bench",
        "city": "paris",
    }
    token = post({"query": REGISTER, "variables": {"input": fields}}, {})["data"]["memberRegister"]["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    proposal = {
        "title": "Conte au square",
        "category": "PARK",
        "startsAt": "2030-05-06T10:00",
        "endsAt": "2030-05-06T12:00",
        "venueName": "Square",
        "location": SPOT,
        "city": "paris",
        "capacity": 8,
    }
    outing = post({"query": CREATE, "variables": {"input": proposal}}, headers)["data"]["outingCreate"]["outing"]
    variables = {
        "MapScreen": {"near": SPOT, "radiusKm": 2},
        "OutingList": {"near": SPOT, "radiusKm": 2, "first": 20},
        "MapClusters": {"bounds": {"north": 48.90, "south": 48.82, "west": 2.30, "east": 2.40}, "zoom": 13},
        "Suggest": {"text": "sort", "near": SPOT},
        "OutingPage": {"id": outing["id"]},
        "OutingAttendees": {"id": outing["id"], "first": 10},
        "MyListings": {"first": 10},
        "Inbox": {"first": 10},
    }
    results = {}
    for name, text in queries().items():
        cached, uncached = [], []
        for i in range(rounds):
            for query, sink in ((text, cached), (f"{text}\n# {i}", uncached)):
                payload = {"query": query, "variables": variables.get(name, {}), "operationName": name}
                t0 = time.perf_counter()
                body = post(payload, headers)
                sink.append((time.perf_counter() - t0) * 1000)
                if "errors" in body:
                    raise RuntimeError(f"{name}: {body['errors']}")
        skip = rounds // 10  # warm-up
        results[name] = {
            "cached p50": statistics.median(cached[skip:]),
            "uncached p50": statistics.median(uncached[skip:]),
        }
    return results
