"""Search indices filled as the indexer would have filled them, for benchmarks and tests at
volume: documents written straight from events (or from what devtools.volume stored), with each
event's version as the external version, without the indexer's own pace."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk
from pymongo import MongoClient

from parentnet_kit.envelope import Event
from search.documents import write_for


def index_events(es: Elasticsearch, prefix: str, events: Iterable[Event]) -> dict[str, int]:
    """Each event's document straight into the indices of ``prefix`` (what the indexer would
    write, with the event's version as the external version), refreshed; counts per index."""
    counts: dict[str, int] = {}

    def actions():
        for event in events:
            write = write_for(event)
            if write is None:
                continue
            counts[write.spec.name] = counts.get(write.spec.name, 0) + 1
            yield {
                "_op_type": "index",
                "_index": f"{prefix}{write.spec.name}",
                "_id": write.doc_id,
                "version": write.version,
                "version_type": "external",
                "_source": write.document,
            }

    bulk(es.options(request_timeout=120), actions(), chunk_size=2000)
    es.indices.refresh(index=f"{prefix}*")
    return counts


def index_filled_outings(mongo_uri: str, events_db: str, es: Elasticsearch, prefix: str) -> int:
    """The outings of ``events_db`` still ahead (devtools.volume's), into the search index as
    their last event would have put them. Returns how many."""
    from events import domain  # the service's own public view: the event payload

    client = MongoClient(mongo_uri, tz_aware=True)
    try:
        now = datetime.now(UTC)
        ahead = client[events_db].outings.find({"ends_at": {"$gte": now}})
        events = (
            Event(
                "outing_published", "events", state["_id"], state["version"], state["city"], domain.public_view(state)
            )
            for state in ahead
        )
        return index_events(es, prefix, events).get("outings", 0)
    finally:
        client.close()
