"""The search service in a real nameko container, fed over real RabbitMQ, into real Elasticsearch."""

from __future__ import annotations

import json
import unicodedata

import pika
from nameko.testing.services import entrypoint_hook

from parentnet_kit import topology
from parentnet_kit.envelope import Event
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.testing import wait_for
from search.dependencies import make_client
from search.service import SearchService

EIFFEL = {"lat": 48.8584, "lon": 2.2945}


def outing(outing_id: str, version: int, title: str, lat: float, lon: float, type_: str = "outing_published") -> Event:
    data = {
        "id": outing_id,
        "status": "published",
        "title": title,
        "description": "",
        "language": "fr",
        "category": "park",
        "starts_at": "2030-01-01T09:00:00Z",
        "ends_at": "2030-01-01T11:00:00Z",
        "time_zone": "Europe/Paris",
        "venue_name": title,
        "location": {"lat": lat, "lon": lon},
        "city": "paris",
        "organizer_id": None,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    return Event(type_, "events", outing_id, version, "paris", data)


def document(cfg, outing_id):
    es = make_client(cfg["ELASTICSEARCH_URL"])
    found = es.options(ignore_status=404).get(index=f"{cfg['SEARCH_INDEX_PREFIX']}outings", id=outing_id)
    return found["_source"] if found.get("found") else None


def nearby(container, **kwargs):
    with entrypoint_hook(container, "nearby_outings") as query:
        return query(**kwargs)


def test_published_outings_are_found_nearest_first(container_factory, service_config):
    container = container_factory(SearchService, service_config)
    container.start()
    publisher = EventPublisher(service_config["AMQP_URI"])
    publisher.publish(outing("far", 1, "Bois de Boulogne", 48.8625, 2.2490))  # ~3.3 km
    publisher.publish(outing("near", 1, "Champ-de-Mars", 48.8556, 2.2986))  # ~0.4 km
    publisher.publish(outing("out", 1, "Vincennes", 48.8330, 2.4330))  # ~10.5 km
    page = wait_for(
        lambda: (p := nearby(container, near=EIFFEL, radius_km=5, first=10))["total"] == 2 and p,
        timeout=10,
        what="two outings indexed",
    )
    assert [e["node"]["id"] for e in page["edges"]] == ["near", "far"]
    assert 0.3 < page["edges"][0]["distance_km"] < 0.6

    first = nearby(container, near=EIFFEL, radius_km=5, first=1)
    assert first["has_next_page"] is True
    rest = nearby(container, near=EIFFEL, radius_km=5, first=1, after=first["edges"][0]["cursor"])
    assert [e["node"]["id"] for e in rest["edges"]] == ["far"] and rest["has_next_page"] is False
    publisher.close()


def test_a_stale_version_never_overwrites_a_newer_one(container_factory, service_config):
    container = container_factory(SearchService, service_config)
    container.start()
    publisher = EventPublisher(service_config["AMQP_URI"])
    publisher.publish(outing("o1", 4, "version four", 48.85, 2.29, "outing_updated"))
    publisher.publish(outing("o1", 3, "version three", 48.85, 2.29, "outing_updated"))
    publisher.publish(outing("o2", 1, "marker", 48.85, 2.29))  # indexed after both above
    wait_for(lambda: document(service_config, "o2"), timeout=10, what="the marker document")
    assert document(service_config, "o1")["title"] == "version four"
    publisher.close()


def test_a_cancelled_outing_leaves_search_and_stays_gone(container_factory, service_config):
    container = container_factory(SearchService, service_config)
    container.start()
    publisher = EventPublisher(service_config["AMQP_URI"])
    publisher.publish(outing("o1", 1, "bientôt annulée", 48.8556, 2.2986))
    wait_for(lambda: nearby(container, near=EIFFEL, radius_km=5, first=5)["total"] == 1, 10, what="indexed")
    publisher.publish(outing("o1", 2, "", 48.8556, 2.2986, "outing_cancelled"))
    publisher.publish(outing("o1", 1, "late replay of v1", 48.8556, 2.2986))
    wait_for(lambda: (d := document(service_config, "o1")) and d["hidden"], 10, what="tombstone")
    publisher.publish(outing("o9", 1, "marker", 48.9, 2.5))
    wait_for(lambda: document(service_config, "o9"), timeout=10, what="the marker document")
    # The late v1 was processed before the marker and refused: the tombstone (v2) stands.
    assert document(service_config, "o1")["version"] == 2
    wait_for(lambda: nearby(container, near=EIFFEL, radius_km=5, first=5)["total"] == 0, 10, what="gone from search")


def test_a_malformed_message_is_dead_lettered_and_the_rest_keep_flowing(container_factory, service_config):
    container = container_factory(SearchService, service_config)
    container.start()
    connection = pika.BlockingConnection(pika.URLParameters(service_config["AMQP_URI"]))
    channel = connection.channel()
    # As every producer does before publishing: the consumer's queue may not exist yet.
    topology.declare(channel)
    channel.basic_publish(topology.EVENTS_EXCHANGE, "events.outing_published", b"{not json")
    channel.basic_publish(
        topology.EVENTS_EXCHANGE, "events.outing_published", json.dumps(outing("ok", 1, "ok", 48.9, 2.3).to_dict())
    )
    wait_for(lambda: document(service_config, "ok"), timeout=10, what="the good event indexed")
    dead = wait_for(
        lambda: channel.queue_declare("search.indexer.dead", passive=True).method.message_count,
        timeout=10,
        what="the poison message in the dead-letter queue",
    )
    assert dead == 1
    connection.close()


def test_bad_query_arguments_are_named(container_factory, service_config):
    container = container_factory(SearchService, service_config)
    container.start()
    result = nearby(container, near={"lat": 123, "lon": 2}, radius_km=0, first=1000, after="garbage")
    assert {e["field"][0] for e in result["errors"]} == {"near.lat", "radius_km", "first", "after"}
    assert result["edges"] == []


def block(blocker: str, blocked: str, version: int, active: bool) -> Event:
    data = {"blocker_id": blocker, "blocked_id": blocked, "active": active}
    type_ = "member_blocked" if active else "member_unblocked"
    return Event(type_, "members", f"block:{blocker}:{blocked}", version, None, data)


def membership(group: str, member: str, version: int = 1, status: str = "active") -> Event:
    data = {"group_id": group, "member_id": member, "role": "member", "status": status}
    return Event("group_membership_changed", "members", f"gm:{group}:{member}", version, "paris", data)


def test_a_blocked_member_does_not_find_the_blockers_outings(container_factory, service_config):
    container = container_factory(SearchService, service_config)
    container.start()
    publisher = EventPublisher(service_config["AMQP_URI"])
    mine = outing("o-blocker", 1, "Goûter au Champ-de-Mars", 48.8556, 2.2986)
    mine.data["organizer_id"] = "blocker"
    publisher.publish(mine)
    publisher.publish(outing("o-other", 1, "Jardin", 48.8560, 2.2990))
    publisher.publish(block("blocker", "viewer", 1, True))

    def ids_seen_by(viewer):
        return [
            e["node"]["id"] for e in nearby(container, near=EIFFEL, radius_km=5, first=10, viewer_id=viewer)["edges"]
        ]

    wait_for(lambda: ids_seen_by("viewer") == ["o-other"], timeout=10, what="the block applied")
    assert sorted(ids_seen_by("someone-else")) == ["o-blocker", "o-other"]
    assert sorted(ids_seen_by(None)) == ["o-blocker", "o-other"]

    publisher.publish(block("blocker", "viewer", 2, False))
    publisher.publish(block("blocker", "viewer", 1, True))  # a late replay of the block
    wait_for(lambda: sorted(ids_seen_by("viewer")) == ["o-blocker", "o-other"], timeout=10, what="the unblock")
    publisher.publish(outing("o-marker", 1, "marker", 48.95, 2.6))
    wait_for(lambda: document(service_config, "o-marker"), timeout=10, what="the marker document")
    # The late replay of the block (v1) was refused: the pair's document still says unblocked.
    es = make_client(service_config["ELASTICSEARCH_URL"])
    pair = es.get(index=f"{service_config['SEARCH_INDEX_PREFIX']}blocks", id="block:blocker:viewer")["_source"]
    assert pair["active"] is False and pair["version"] == 2
    publisher.close()


def test_private_group_outings_show_to_members_only_and_attendance_is_searchable(container_factory, service_config):
    container = container_factory(SearchService, service_config)
    container.start()
    publisher = EventPublisher(service_config["AMQP_URI"])
    private = outing("o-private", 1, "Atelier du groupe", 48.8556, 2.2986)
    private.data.update(group_id="g1", group_visibility="private")
    public = outing("o-public", 2, "Ouvert à tous", 48.8557, 2.2987, "attendance_changed")
    public.data.update(
        capacity=10, attendance={"families": 4, "adults": 5, "children": 7, "waitlist": 0, "places_left": 6}
    )
    publisher.publish(private)
    publisher.publish(public)
    publisher.publish(membership("g1", "x"))
    publisher.publish(membership("g2", "y"))
    wait_for(lambda: document(service_config, "o-public") and document(service_config, "o-private"), 10, what="both")

    def ids(**kwargs):
        return sorted(e["node"]["id"] for e in nearby(container, near=EIFFEL, radius_km=5, first=10, **kwargs)["edges"])

    # Documents are readable by id at once, searchable after the next refresh: wait for that.
    wait_for(lambda: ids(viewer_id="x", viewer_groups=["g1"]) == ["o-private", "o-public"], 10, what="searchable")
    assert ids() == ["o-public"]
    assert ids(viewer_id="x", viewer_groups=["g2"]) == ["o-public"]
    # Groups come from the service's copy of memberships, never from the caller's word alone.
    assert ids(viewer_id="y", viewer_groups=["g1", "g2"]) == ["o-public"]
    assert ids(viewer_groups=["g1"]) == ["o-public"]  # no viewer: anonymous
    assert document(service_config, "o-public")["attendance"]["places_left"] == 6
    publisher.close()


def listing_event(listing_id: str, version: int, type_: str, status: str = "active", **extra) -> Event:
    data = {
        "id": listing_id,
        "kind": "give",
        "category": "pram_stroller",
        "title": "Poussette double",
        "description": "",
        "language": "fr",
        "city": "paris",
        "status": status,
        "pickup_area": {"id": "15428:13300", "lat": 48.8565, "lon": 2.2950},
        "pickup_address": "never indexed",
        "pickup_location": {"lat": 48.85651, "lon": 2.29501},
        "owner_id": "owner",
        "created_at": "2026-11-01T00:00:00Z",
        "updated_at": "2026-11-01T00:00:00Z",
        "expires_at": "2031-01-01T00:00:00Z",
        **extra,
    }
    return Event(type_, "listings", listing_id, version, "paris", data)


def test_listings_are_found_by_area_and_closed_ones_leave(container_factory, service_config):
    container = container_factory(SearchService, service_config)
    container.start()
    publisher = EventPublisher(service_config["AMQP_URI"])
    publisher.publish(listing_event("l1", 1, "listing_posted"))
    publisher.publish(listing_event("l2", 1, "listing_posted", category="toys", kind="wanted"))

    def found(**kwargs):
        with entrypoint_hook(container, "nearby_listings") as query:
            page = query(near=EIFFEL, radius_km=2, first=10, **kwargs)
        return [e["node"]["id"] for e in page["edges"]]

    wait_for(lambda: sorted(found()) == ["l1", "l2"], timeout=10, what="two listings")
    assert found(kinds=["wanted"]) == ["l2"] and found(category="pram_stroller") == ["l1"]
    # Text as a parent types it (issue 22): combining accents, a typo, a word being typed.
    assert found(filters={"text": unicodedata.normalize("NFD", "poussette DOUBLE")}) == ["l1", "l2"]
    assert found(filters={"text": "pousette doub"}) == ["l1", "l2"]
    es = make_client(service_config["ELASTICSEARCH_URL"])
    source = es.get(index=f"{service_config['SEARCH_INDEX_PREFIX']}listings", id="l1")["_source"]
    assert "pickup_address" not in source and "pickup_location" not in source

    publisher.publish(listing_event("l1", 2, "listing_closed", status="expired"))
    wait_for(lambda: found() == ["l2"], timeout=10, what="the closed listing gone")
    publisher.close()
