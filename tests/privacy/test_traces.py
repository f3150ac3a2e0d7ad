"""After every attack (this module runs last): nothing the suite produced holds a victim's
exact coordinates or address, except the two views the design allows: the owner's own view of
their listing and the view of the member whose reservation the owner accepted (those responses
are marked when they are made, in conftest.py, and left out here; nothing else is)."""

from __future__ import annotations

import json

import httpx
import pika
from conftest import TAP_QUEUE, World
from traces import address_in, coordinates_in

INBOX = "{ inbox(first: 100) { nodes { kind message createdAt subject { id } } } }"


def events(amqp_uri: str) -> list[str]:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        channel = connection.channel()
        bodies = []
        while (message := channel.basic_get(TAP_QUEUE, auto_ack=True))[0] is not None:
            bodies.append(message[2].decode("utf-8", "replace"))
        return bodies
    finally:
        connection.close()


def index_documents(prefix: str) -> list[str]:
    from parentnet_kit import config

    url = f"{config.elasticsearch_url()}/{prefix}*/_search"
    body = {"size": 10_000, "query": {"match_all": {}}, "seq_no_primary_term": False}
    answer = httpx.post(url, json=body, params={"expand_wildcards": "all"}, timeout=60).json()
    hits = answer["hits"]["hits"]
    assert answer["hits"]["total"]["value"] == len(hits), "more documents than one page: page them"
    return [json.dumps(hit) for hit in hits]


def test_no_exact_place_or_address_anywhere(world: World, tap):
    # The victims' own inboxes: every notice they got about what they posted.
    for victim in world.victims:
        victim.extra["account"].gql(INBOX)
    sources: dict[str, list[str]] = {
        "responses": [r.text for r in world.recorder.responses if not r.owner_view],
        "events": events(tap),
        "log lines": [
            line
            for log in sorted(world.stack.run_dir.glob("*.log"))
            for line in log.read_text(errors="replace").splitlines()
        ],
        "index documents": index_documents(world.stack.env["SEARCH_INDEX_PREFIX"]),
    }
    counts = {name: len(items) for name, items in sources.items()}
    assert all(counts.values()), counts
    found = []
    for victim in world.victims:
        for name, items in sources.items():
            for item in items:
                if coordinates_in(item, victim.point) or address_in(item, victim.address):
                    found.append(f"{victim.key} in {name}: {item[:300]}")
    print(f"\nscanned for the victims' exact places: {counts}; found {len(found)}")
    assert not found, f"{len(found)} found:\n" + "\n".join(found[:20])
