"""Measurement 4: ingest through the indexer vs a raw bulk load, and freshness end to end."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import httpx
from elasticsearch import Elasticsearch, NotFoundError
from elasticsearch.helpers import bulk

from bench.dataset import mixed_events, percentile
from parentnet_kit.publisher import EventPublisher
from search.documents import write_for
from search.indices import LISTINGS, OUTINGS, Indices

POLL = 0.01
# Asking Elasticsearch for its indexing stats every 10 ms costs it ~0.2 of a core (and the
# bench ~0.06), which a 2-core machine takes from the indexer being measured: so the drain is
# watched every 100 ms, and every 10 ms only over its last tenth, where the end is timed.
COARSE_POLL = 0.1


def _indexed(es: Elasticsearch, aliases: str) -> int:
    """Documents written so far, refreshed or not (indexing stats count at write time); 0 while
    search has yet to create the indices."""
    try:
        stats = es.indices.stats(index=aliases, metric="indexing")
    except NotFoundError:
        return 0
    return stats["_all"]["primaries"]["indexing"]["index_total"]


def through_indexer(stack: Any, es: Elasticsearch, events: list, timeout: float = 600) -> dict[str, float]:
    """Queue the events while search is stopped, start it, and time the indexer draining them.

    The clock starts at the first write seen, so the process's start-up is not counted; the
    documents of that first poll are left out of the rate accordingly.
    """
    prefix = stack.env["SEARCH_INDEX_PREFIX"]
    aliases = f"{prefix}{OUTINGS.name},{prefix}{LISTINGS.name}"
    stack.stop("search")
    # Fresh indices, as the raw side gets: search creates them again as it starts.
    Indices(es, prefix=prefix).delete_all()
    publisher = EventPublisher(stack.env["AMQP_URI"])
    for event in events:
        publisher.publish(event)
    publisher.close()
    stack.start("search")
    deadline = time.monotonic() + timeout
    first_at, first_count = None, 0
    while time.monotonic() < deadline:
        done = _indexed(es, aliases)
        now = time.monotonic()
        if done and first_at is None:
            first_at, first_count = now, done
        if done >= len(events):
            elapsed = now - first_at
            return {"docs": len(events), "seconds": elapsed, "per_second": (done - first_count) / elapsed}
        time.sleep(POLL if done >= 0.9 * len(events) else COARSE_POLL)
    raise TimeoutError(f"the indexer wrote {done} of {len(events)} documents in {timeout:g} s")


def raw_bulk(es: Elasticsearch, prefix: str, events: list, chunk_size: int) -> dict[str, float]:
    """The same documents, bulk-loaded straight into fresh indices with the same settings."""
    indices = Indices(es, prefix=f"{prefix}raw-")
    indices.ensure()
    writes = [write_for(event) for event in events]
    actions = [
        {
            "_op_type": "index",
            "_index": indices.alias(w.spec),
            "_id": w.doc_id,
            "version": w.version,
            "version_type": "external",
            "_source": w.document,
        }
        for w in writes
    ]
    started = time.monotonic()
    bulk(es, actions, chunk_size=chunk_size)
    elapsed = time.monotonic() - started
    indices.delete_all()
    return {"docs": len(events), "seconds": elapsed, "per_second": len(events) / elapsed}


def ingest(stack: Any, es: Elasticsearch, total: int, rounds: int = 3, chunk_size: int = 1000) -> dict[str, Any]:
    """Both sides write in chunks of the same size (the indexer's default batch, 1,000) into
    fresh indices, side by side, ``rounds`` times; the round with the median ratio is reported,
    with every round's ratio."""
    measured = []
    for round_ in range(rounds):
        events = list(mixed_events(total, random.Random(4 + round_), prefix=f"ingest{round_}-"))
        indexer = through_indexer(stack, es, events)
        raw = raw_bulk(es, stack.env["SEARCH_INDEX_PREFIX"], events, chunk_size)
        measured.append({"indexer": indexer, "raw": raw, "ratio": indexer["per_second"] / raw["per_second"]})
    ranked = sorted(measured, key=lambda m: m["ratio"])
    return {**ranked[len(ranked) // 2], "rounds": [m["ratio"] for m in measured]}


CREATE = """mutation($input: OutingCreateInput!) {
  outingCreate(input: $input) { outing { id } userErrors { field message } }
}"""
SEEN = """query($near: GeoPointInput!) {
  nearbyOutings(near: $near, radiusKm: 0.3, first: 5, sort: START_TIME) { edges { node { id } } }
}"""
REGISTER = """mutation($input: MemberRegisterInput!) {
  memberRegister(input: $input) { accessToken userErrors { field message } }
}"""


def freshness(gateway_url: str, samples: int, timeout: float = 30) -> list[float]:
    """Seconds from ``outingCreate`` returning to the outing showing in ``nearbyOutings``."""
    http = httpx.Client(base_url=gateway_url, timeout=30)
    email = f"bench-{uuid.uuid4().hex[:8]}@example.org"
    fields = {"email": email, "password": "a long bench password", "displayName": "Bench", "city": "paris"}
    token = http.post("/graphql", json={"query": REGISTER, "variables": {"input": fields}}).json()
    headers = {"Authorization": f"Bearer {token['data']['memberRegister']['accessToken']}"}
    rng = random.Random(9)
    lags = []
    for i in range(samples):
        # A quiet spot of its own each time, so the new outing is among the first five.
        near = {"lat": 48.80 + rng.random() * 0.1, "lon": 2.25 + rng.random() * 0.2}
        proposal = {
            "title": f"Fraîcheur {i}",
            "category": "PARK",
            "startsAt": "2030-05-06T10:00",
            "endsAt": "2030-05-06T12:00",
            "venueName": "Square",
            "location": near,
            "city": "paris",
        }
        body = http.post("/graphql", json={"query": CREATE, "variables": {"input": proposal}}, headers=headers).json()
        returned = time.monotonic()
        created = body["data"]["outingCreate"]
        assert not created["userErrors"], created
        wanted = created["outing"]["id"]
        while True:
            page = http.post("/graphql", json={"query": SEEN, "variables": {"near": near}}).json()
            if any(e["node"]["id"] == wanted for e in page["data"]["nearbyOutings"]["edges"]):
                lags.append(time.monotonic() - returned)
                break
            if time.monotonic() - returned > timeout:
                raise TimeoutError(f"outing {wanted} not searchable after {timeout:g} s")
            time.sleep(POLL)
        # Land the next creation at a random point of the refresh cycle, not in step with it.
        time.sleep(rng.random() * 0.5)
    http.close()
    return lags


def summary(lags: list[float]) -> dict[str, float]:
    return {"p50": percentile(lags, 50), "p95": percentile(lags, 95), "max": max(lags), "samples": len(lags)}
