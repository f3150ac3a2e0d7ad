"""Elasticsearch and the in-process indexer, as nameko dependencies."""

from __future__ import annotations

import logging

from elasticsearch import Elasticsearch
from elasticsearch.serializer import OrjsonSerializer
from nameko.extensions import DependencyProvider

from . import city_view
from .indexer import Indexer
from .indices import Indices

log = logging.getLogger(__name__)


# Responses come as plain or compatibility-mode JSON; both are read with orjson.
ORJSON = {"application/json": OrjsonSerializer(), "application/vnd.elasticsearch+json": OrjsonSerializer()}


def make_client(url: str) -> Elasticsearch:
    return Elasticsearch(url, request_timeout=10, max_retries=2, retry_on_timeout=True, serializers=ORJSON)


def make_indices(config: dict) -> Indices:
    return Indices(
        make_client(config["ELASTICSEARCH_URL"]),
        prefix=str(config.get("SEARCH_INDEX_PREFIX", "parentnet-")),
        replicas=int(config.get("SEARCH_REPLICAS", 0)),
        refresh_interval=str(config.get("SEARCH_REFRESH_INTERVAL", "1s")),
        gc_deletes=config.get("SEARCH_GC_DELETES") or None,
    )


class SearchIndices(DependencyProvider):
    """Hands workers the ``Indices`` (client + names); creates missing indices at start."""

    def setup(self) -> None:
        self.indices = make_indices(self.container.config)
        self.indices.ensure()
        city_view.load(self.indices)

    def stop(self) -> None:
        self.indices.es.close()

    def get_dependency(self, worker_ctx) -> Indices:  # noqa: ANN001
        return self.indices


class IndexerRunner(DependencyProvider):
    """Runs the batch indexer in a managed green thread of the search service's process."""

    def setup(self) -> None:
        config = self.container.config
        indices = make_indices(config)
        indices.ensure()
        self.indexer = Indexer(
            config["AMQP_URI"], indices.es, indices, batch_size=int(config.get("INDEXER_BATCH_SIZE", 1000))
        )

    def start(self) -> None:
        self.thread = self.container.spawn_managed_thread(self.indexer.run, identifier="indexer")

    def stop(self) -> None:
        self.indexer.stop()
        self.thread.wait()

    def kill(self) -> None:
        self.indexer.stop()

    def get_dependency(self, worker_ctx) -> Indexer:  # noqa: ANN001
        return self.indexer
