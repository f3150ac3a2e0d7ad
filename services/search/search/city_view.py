"""The search service's view of the open cities: its ``cities`` index (written by the indexer
from ``members.city_opened``) read into ``parentnet_kit.cities``, at start-up and every few
seconds, so every search process knows a city another one indexed, and a restart keeps them.
The founding cities are known before the index has any (the network's first migration)."""

from __future__ import annotations

import logging

from elasticsearch import exceptions as es_errors

from parentnet_kit import cities

from .indices import CITIES, Indices

log = logging.getLogger(__name__)
CITIES_MAX = 10_000


def load(indices: Indices) -> int:
    """Read every open city from the index into this process's view; returns how many were read
    (0 while Elasticsearch does not answer: the view keeps what it had)."""
    cities.remember(cities.founding())
    try:
        found = indices.es.search(index=indices.alias(CITIES), size=CITIES_MAX, query={"match_all": {}})
    except (es_errors.ApiError, es_errors.TransportError) as exc:
        log.warning("open cities not read from the index: %r", exc)
        return 0
    read = []
    for hit in found["hits"]["hits"]:
        try:
            read.append(cities.City.from_dict(hit["_source"]["city"]))
        except (KeyError, TypeError, ValueError) as exc:
            log.error("skipped city %s: %r", hit.get("_id"), exc)
    cities.remember(read)
    return len(read)
