"""What search promises, shown against real RabbitMQ and Elasticsearch: exact radius results,
removals that stay removed, and dead letters that come back."""

from __future__ import annotations

import itertools
import random

import pika
from elasticsearch import exceptions as es_errors
from nameko.testing.services import entrypoint_hook
from test_indexing import document, listing_event, outing

from parentnet_kit import cities
from parentnet_kit.geo import haversine_km
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.testing import wait_for
from search.dependencies import make_client
from search.indexer import FAULT_REJECT_ENV
from search.replay import replay
from search.service import SearchService

BOUNDARY_KM = 0.001  # outings within 1 m of the circle are left out of the comparison
ORDER_KM = 0.00005  # distances closer than 5 cm may come in either order (geo_point precision)


def all_nearby(container, near, radius_km):
    found, after = [], None
    while True:
        with entrypoint_hook(container, "nearby_outings") as query:
            page = query(near=near, radius_km=radius_km, first=100, after=after)
        assert page["errors"] == []
        found += page["edges"]
        if not page["has_next_page"]:
            return found
        after = page["edges"][-1]["cursor"]


def test_radius_results_equal_a_brute_force_haversine_filter(container_factory, service_config):
    container = container_factory(SearchService, service_config)
    container.start()
    rng = random.Random(20261123)
    centres = [(c.lat, c.lon) for c in cities.CITIES.values()]
    points = {}
    publisher = EventPublisher(service_config["AMQP_URI"])
    for i in range(600):
        lat, lon = rng.choice(centres)
        point = (lat + rng.uniform(-0.15, 0.15), lon + rng.uniform(-0.2, 0.2))
        points[f"o{i:04d}"] = point
        publisher.publish(outing(f"o{i:04d}", 1, f"Sortie {i}", *point))
    publisher.close()
    es = make_client(service_config["ELASTICSEARCH_URL"])
    alias = f"{service_config['SEARCH_INDEX_PREFIX']}outings"

    def indexed() -> int:
        es.indices.refresh(index=alias)
        return es.count(index=alias)["count"]

    wait_for(lambda: indexed() == 600, timeout=60, what="600 outings indexed")

    for _ in range(100):
        lat, lon = rng.choice(centres)
        near = {"lat": lat + rng.uniform(-0.1, 0.1), "lon": lon + rng.uniform(-0.1, 0.1)}
        radius = rng.choice([0.5, 1, 2, 5, 10, 20, 50])
        distances = {k: haversine_km(near["lat"], near["lon"], *p) for k, p in points.items()}
        expected = {k for k, d in distances.items() if d <= radius - BOUNDARY_KM}
        borderline = {k for k, d in distances.items() if abs(d - radius) < BOUNDARY_KM}
        edges = all_nearby(container, near, radius)
        got = [e["node"]["id"] for e in edges]
        assert len(got) == len(set(got))
        assert set(got) - borderline == expected, (near, radius)
        for before, after in itertools.pairwise(got):
            assert distances[before] <= distances[after] + ORDER_KM, (near, radius, before, after)
        for edge in edges:
            assert abs(edge["distance_km"] - distances[edge["node"]["id"]]) < 0.001


def test_a_removed_listing_stays_removed_after_deletes_are_forgotten(container_factory, service_config):
    # Elasticsearch forgets a *deleted* document's version after index.gc_deletes (60 s by
    # default); shortened to 1 s here, so the test needs no minute-long wait to show it.
    config = {**service_config, "SEARCH_GC_DELETES": "1s"}
    container = container_factory(SearchService, config)
    container.start()
    publisher = EventPublisher(service_config["AMQP_URI"])
    es = make_client(service_config["ELASTICSEARCH_URL"])
    index = f"{service_config['SEARCH_INDEX_PREFIX']}listings"
    assert es.indices.get_settings(index=index, flat_settings=True).popitem()[1]["settings"]["index.gc_deletes"] == "1s"

    publisher.publish(listing_event("gone", 1, "listing_posted"))
    publisher.publish(listing_event("gone", 2, "listing_closed", status="withdrawn"))
    wait_for(lambda: (d := _source(es, index, "gone")) and d["hidden"], 10, what="the tombstone")
    # The control: what a delete would have done. Delete at version 5, then a stale version 3...
    es.index(index=index, id="control", document={"id": "control", "hidden": False}, version=4, version_type="external")
    es.delete(index=index, id="control", version=5, version_type="external")
    # Elasticsearch prunes a delete's version some time after gc_deletes (on its own schedule,
    # slower on a loaded machine): the stale write is refused until then, so it is retried.

    def stale_write_taken() -> bool:
        try:
            es.index(
                index=index,
                id="control",
                document={"id": "control", "hidden": False},
                version=3,
                version_type="external",
            )
        except es_errors.ConflictError:
            return False
        return True

    wait_for(stale_write_taken, timeout=30, interval=0.5, what="the deletes' versions to be forgotten")
    assert _source(es, index, "control") is not None  # ...came back: deletes cannot be trusted

    publisher.publish(listing_event("gone", 1, "listing_posted"))  # a stale event, long after
    publisher.publish(listing_event("marker", 1, "listing_posted"))
    wait_for(lambda: _source(es, index, "marker"), 10, what="the marker indexed after the stale event")
    assert _source(es, index, "gone")["hidden"] is True and _source(es, index, "gone")["version"] == 2
    publisher.close()


def _source(es, index, doc_id):
    found = es.options(ignore_status=404).get(index=index, id=doc_id)
    return found["_source"] if found.get("found") else None


def test_dead_letters_are_replayed_once_the_cause_is_fixed(container_factory, service_config, monkeypatch):
    container = container_factory(SearchService, service_config)
    container.start()
    monkeypatch.setenv(FAULT_REJECT_ENV, "stuck")
    publisher = EventPublisher(service_config["AMQP_URI"])
    publisher.publish(outing("stuck", 1, "bloquée", 48.85, 2.29))
    publisher.publish(outing("fine", 1, "passe", 48.85, 2.29))
    wait_for(lambda: document(service_config, "fine"), 10, what="the other event indexed meanwhile")
    connection = pika.BlockingConnection(pika.URLParameters(service_config["AMQP_URI"]))
    channel = connection.channel()
    wait_for(
        lambda: channel.queue_declare("search.indexer.dead", passive=True).method.message_count == 1,
        timeout=30,
        what="the failing event dead-lettered after its retries",
    )
    connection.close()
    assert document(service_config, "stuck") is None

    monkeypatch.delenv(FAULT_REJECT_ENV)  # the cause is fixed
    assert replay(service_config["AMQP_URI"]) == 1
    wait_for(lambda: document(service_config, "stuck"), 10, what="the replayed event indexed")
    publisher.close()
