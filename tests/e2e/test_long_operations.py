"""Long operations say what happened (issue 18 point 7): a 52-week series created, a 12-outing
series updated and a series cancelled. They answered SERVICE_UNAVAILABLE "try again shortly"
after 5 s while the work went on to be done, and a client that obeyed made duplicates. Now a
mutation's calls have GATEWAY_MUTATION_RPC_TIMEOUT (30 s; a 52-week series took 16 s on an idle
machine); one that still takes longer is OUTCOME_UNKNOWN, and its retry with the same
Idempotency-Key returns what the first try made."""

from __future__ import annotations

import time

from conftest import post
from test_outing_end_to_end import proposal

CREATE = """mutation($input: OutingCreateInput!) {
  outingCreate(input: $input) { outing { id seriesId } userErrors { field code } }
}"""
UPDATE = """mutation($input: OutingUpdateInput!) {
  outingUpdate(input: $input) { outing { id title } userErrors { field code message } }
}"""
CANCEL = """mutation($input: OutingRefInput!) {
  outingCancel(input: $input) { outing { id status } userErrors { field code } }
}"""


def mutate(http, query: str, variables: dict, token: str, key: str) -> tuple[dict, list[str]]:
    """Send until answered, as a client told OUTCOME_UNKNOWN should: again, with the same key.
    Returns the answer and the codes of the tries that had no answer."""
    unknown: list[str] = []
    deadline = time.monotonic() + 240
    while True:
        response = http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            timeout=120,
        )
        body = response.json()
        codes = [e["extensions"]["code"] for e in body.get("errors", [])]
        if codes != ["OUTCOME_UNKNOWN"] or time.monotonic() > deadline:
            return body, unknown
        unknown.append(codes[0])


def test_a_52_week_series_is_created_updated_and_cancelled_with_answers(http, organizer):
    token, tag = organizer["token"], str(time.time_ns())
    weekly = proposal("Atelier du mercredi", 48.86, 2.35, recurrence={"frequency": "WEEKLY", "count": 52})
    body, unknown = mutate(http, CREATE, {"input": weekly}, token, f"create-52-{tag}")
    assert "errors" not in body, (body, unknown)
    created = body["data"]["outingCreate"]
    assert created["userErrors"] == [] and created["outing"]["seriesId"]
    first = created["outing"]["id"]
    again, _ = mutate(http, CREATE, {"input": weekly}, token, f"create-52-{tag}")
    assert again["data"]["outingCreate"]["outing"] == created["outing"]  # the same series, not a second

    fortnightly = proposal("Piscine", 48.86, 2.35, recurrence={"frequency": "FORTNIGHTLY", "count": 12})
    series = post(http, CREATE, {"input": fortnightly}, token).json()["data"]["outingCreate"]["outing"]["id"]
    update = {"outingId": series, "scope": "SERIES", "title": "Piscine (bassin ludique)"}
    update |= {"startsAt": "2031-05-13T11:00", "endsAt": "2031-05-13T13:00"}
    body, unknown = mutate(http, UPDATE, {"input": update}, token, f"update-12-{tag}")
    assert "errors" not in body, (body, unknown)
    assert body["data"]["outingUpdate"]["userErrors"] == []
    assert body["data"]["outingUpdate"]["outing"]["title"] == "Piscine (bassin ludique)"

    body, unknown = mutate(http, CANCEL, {"input": {"outingId": first, "scope": "SERIES"}}, token, f"cancel-{tag}")
    assert "errors" not in body, (body, unknown)
    assert body["data"]["outingCancel"]["outing"]["status"] in ("CANCELLED", "cancelled")
