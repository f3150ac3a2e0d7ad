"""The search backfill against the five real processes: every index rebuilt from the owning
services into a new revision, the alias swapped, and searches answering all along."""

from __future__ import annotations

import itertools
import threading

import httpx
from conftest import post, run_backfill
from support.phones import PhoneTransport, next_address
from test_outing_end_to_end import CREATE, NEARBY, proposal

from gateway.ids import from_global_id
from parentnet_kit import config
from parentnet_kit.testing import wait_for


def test_backfill_rebuilds_and_swaps_with_no_downtime(stack, gql):
    spot = {"lat": 48.8950, "lon": 2.3850}  # Parc de la Villette
    made = [
        gql(CREATE, {"input": proposal(f"Villette {i}", spot["lat"], spot["lon"] + i * 0.0002)})["outingCreate"][
            "outing"
        ]["id"]
        for i in range(5)
    ]
    cancelled = made[0]
    gql("mutation($id: ID!) { outingCancel(input: {outingId: $id}) { userErrors { code } } }", {"id": cancelled})
    prefix = stack.env["SEARCH_INDEX_PREFIX"]
    es = config.elasticsearch_url()

    def ids_seen() -> set[str]:
        """This test's outings found near the spot (other tests' outings may be near it too)."""
        page = gql(NEARBY, {"near": spot, "radiusKm": 1, "first": 50})["nearbyOutings"]
        return {e["node"]["id"] for e in page["edges"]} & set(made)

    wait_for(lambda: ids_seen() == set(made[1:]), timeout=10, what="the outings searchable")
    before = set(httpx.get(f"{es}/_alias/{prefix}outings").json())

    failures: list[str] = []
    stop = threading.Event()

    def keep_searching() -> None:
        # A crowd searching, not one phone searching hundreds of times a second (that one the
        # gateway's per-address budget refuses, as deployed): 64 phones taking turns.
        client = httpx.Client(base_url=stack.gateway_url, timeout=10, transport=PhoneTransport())
        crowd = itertools.cycle([next_address() for _ in range(64)])
        while not stop.is_set():
            variables = {"near": spot, "radiusKm": 1, "first": 50}
            body = post(client, NEARBY, variables, local_address=next(crowd)).json()
            edges = (body.get("data") or {}).get("nearbyOutings", {}).get("edges", [])
            seen = {e["node"]["id"] for e in edges} & set(made)
            if "errors" in body or seen != set(made[1:]):
                failures.append(str(body)[:300])
        client.close()

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        run = run_backfill(stack, "--page", "2")
    finally:
        stop.set()
        searcher.join()
    assert run.returncode == 0, run.stderr
    assert "outings" in run.stdout and "documents" in run.stderr  # the progress line
    after = set(httpx.get(f"{es}/_alias/{prefix}outings").json())
    (old_index,) = before
    revision = int(old_index.rsplit("-v", 1)[1])
    assert after == {f"{prefix}outings-v{revision + 1}"}
    assert failures == []
    assert ids_seen() == set(made[1:])  # the cancelled one stays a hidden tombstone
    local_id = from_global_id(cancelled)[1]
    doc = httpx.get(f"{es}/{prefix}outings/_doc/{local_id}").json()
    assert doc["_source"]["hidden"] is True
