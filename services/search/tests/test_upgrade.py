"""Between a deploy that changes the analysis and the backfill that rebuilds the index, the
alias still points at the older revision: the indexer's writes must still land there, and text
searches must still find them."""

from __future__ import annotations

import copy

from nameko.testing.services import entrypoint_hook
from test_indexing import EIFFEL, outing

from parentnet_kit.publisher import EventPublisher
from parentnet_kit.testing import wait_for
from search.dependencies import make_client
from search.indices import OUTINGS, Indices
from search.service import SearchService

# Revision 2's analysis and text fields (before issue 22): no all_text, no lang copies.
OLD_ANALYSIS = {
    "analyzer": {"folded": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}}
}


def old_mapping() -> dict:
    mapping = copy.deepcopy(OUTINGS.mapping)
    for name in ("all_text", "lang"):
        mapping["properties"].pop(name)
    for name in ("title", "description", "venue_name"):
        mapping["properties"][name] = {"type": "text", "analyzer": "folded"}
    return mapping


def test_an_older_revision_keeps_taking_writes_and_answering_text(container_factory, service_config):
    indices = Indices(make_client(service_config["ELASTICSEARCH_URL"]), service_config["SEARCH_INDEX_PREFIX"])
    old = indices.concrete(OUTINGS, OUTINGS.revision - 1)
    settings = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "100ms", "analysis": OLD_ANALYSIS}
    indices.es.indices.create(index=old, settings=settings, mappings=old_mapping())
    indices.es.indices.put_alias(index=old, name=indices.alias(OUTINGS), is_write_index=True)

    container = container_factory(SearchService, service_config)
    container.start()
    event = outing("picnic", 1, "Pique-nique de la rentrée", 48.856, 2.298)
    event.data.update(venue_name="Square Wilson", language="fr")
    publisher = EventPublisher(service_config["AMQP_URI"])
    publisher.publish(event)
    publisher.close()

    def found(text=None):
        with entrypoint_hook(container, "nearby_outings") as search:
            page = search(near=EIFFEL, radius_km=5, first=10, filters={"text": text} if text else None)
        return [e["node"]["id"] for e in page["edges"]]

    wait_for(lambda: found() == ["picnic"], 15, what="the outing written into the older revision")
    assert indices.revision_of(OUTINGS) == OUTINGS.revision - 1
    assert found("pique-nique Wilson") == ["picnic"]  # across title and venue, as that index can
    assert found("rentree") == ["picnic"]
