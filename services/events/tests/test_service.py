"""The events service in a real nameko container, on the real MongoDB-protocol server and RabbitMQ."""

from __future__ import annotations

from nameko.testing.services import entrypoint_hook
from pymongo import MongoClient

from events.service import EventsService
from parentnet_kit.testing import drain_events as queued_events

GOOD = {
    "title": "Musée des Arts forains",
    "category": "museum",
    "starts_at": "2030-03-04T14:00",
    "ends_at": "2030-03-04T16:00",
    "venue_name": "Pavillons de Bercy",
    "location": {"lat": 48.8329, "lon": 2.3879},
    "city": "paris",
}


def test_create_outing_stores_it_and_publishes_outing_published(container_factory, service_config):
    container = container_factory(EventsService, service_config)
    container.start()
    with entrypoint_hook(container, "create_outing") as create:
        result = create(GOOD, organizer_id="m1")
    assert result["errors"] == []
    outing = result["outing"]
    assert outing["starts_at"] == "2030-03-04T13:00:00Z"

    with entrypoint_hook(container, "get_outing") as get:
        assert get(outing["id"])["title"] == GOOD["title"]

    events = queued_events(service_config["AMQP_URI"])
    assert [(e["type"], e["aggregate_id"], e["version"]) for e in events] == [("outing_published", outing["id"], 1)]
    assert events[0]["data"]["venue_name"] == "Pavillons de Bercy"


def test_bad_input_stores_and_publishes_nothing(container_factory, service_config):
    container = container_factory(EventsService, service_config)
    container.start()
    with entrypoint_hook(container, "create_outing") as create:
        result = create({**GOOD, "title": "", "location": {"lat": 123, "lon": 2}})
    assert result["outing"] is None
    assert {tuple(e["field"]) for e in result["errors"]} == {("title",), ("location", "lat")}
    db = MongoClient(service_config["MONGO_URI"])[service_config["EVENTS_DB"]]
    assert db.outings.count_documents({}) == 0
    assert db.outbox.count_documents({}) == 0
    assert queued_events(service_config["AMQP_URI"]) == []


def test_get_outings_answers_in_the_order_asked(container_factory, service_config):
    container = container_factory(EventsService, service_config)
    container.start()
    with entrypoint_hook(container, "create_outing") as create:
        ids = [create({**GOOD, "title": f"Sortie {i}"}, organizer_id=None)["outing"]["id"] for i in range(3)]
    with entrypoint_hook(container, "get_outings") as get_many:
        found = get_many([ids[2], "missing", ids[0]])
    assert [o and o["title"] for o in found] == ["Sortie 2", None, "Sortie 0"]


def test_a_request_delivered_twice_creates_one_outing(container_factory, service_config):
    container = container_factory(EventsService, service_config)
    container.start()
    with entrypoint_hook(container, "create_outing") as create:
        first = create(GOOD, organizer_id="m1", idempotency_key="req-42")
    with entrypoint_hook(container, "create_outing") as create:
        again = create(GOOD, organizer_id="m1", idempotency_key="req-42")
    with entrypoint_hook(container, "create_outing") as create:
        other = create(GOOD, organizer_id="m1", idempotency_key="req-43")
    assert first["outing"]["id"] == again["outing"]["id"] != other["outing"]["id"]
    db = MongoClient(service_config["MONGO_URI"])[service_config["EVENTS_DB"]]
    assert db.outings.count_documents({}) == 2
    assert [e["type"] for e in queued_events(service_config["AMQP_URI"])] == ["outing_published"] * 2
