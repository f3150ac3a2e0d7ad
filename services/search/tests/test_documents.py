from __future__ import annotations

from parentnet_kit import cities
from parentnet_kit.envelope import Event
from search.documents import write_for


def outing_event(type_="outing_published", version=1, **data):
    base = {"id": "o1", "status": "published", "title": "Piscine", "location": {"lat": 1.0, "lon": 2.0}}
    return Event(type_, "events", "o1", version, "paris", {**base, **data})


def test_published_outing_becomes_a_visible_document_at_its_version():
    write = write_for(outing_event(version=3))
    assert (write.doc_id, write.version, write.document["hidden"]) == ("o1", 3, False)


def test_fields_outside_the_allow_list_never_reach_the_index():
    write = write_for(outing_event(home_address="12 rue Secrète", organizer_email="a@b.c"))
    assert "home_address" not in write.document and "organizer_email" not in write.document


def test_cancellation_is_a_hidden_tombstone_not_a_delete():
    write = write_for(outing_event("outing_cancelled", version=5))
    assert write.document == {"id": "o1", "version": 5, "hidden": True, "status": "cancelled"}


def test_events_the_index_does_not_keep_are_ignored():
    assert write_for(Event("member_registered", "members", "m1", 1, "paris", {})) is None


def test_blocks_are_kept_per_pair_without_anything_else():
    data = {"blocker_id": "a", "blocked_id": "b", "active": True, "display_name": "never indexed"}
    write = write_for(Event("member_blocked", "members", "block:a:b", 3, None, data))
    assert write.document == {"id": "block:a:b", "version": 3, "blocker_id": "a", "blocked_id": "b", "active": True}
    unblock = write_for(Event("member_unblocked", "members", "block:a:b", 4, None, {**data, "active": False}))
    assert unblock.document["active"] is False and unblock.version == 4


def test_an_opened_city_is_kept_in_the_cities_index_and_known_at_once():
    city = cities.City("valparaiso", "Valparaíso", "CL", "America/Santiago", ("es",), -33.04, -71.63, version=2)
    write = write_for(Event("city_opened", "members", "valparaiso", 2, "valparaiso", city.to_dict()))
    assert (write.doc_id, write.version, write.document["city"]["time_zone"]) == ("valparaiso", 2, "America/Santiago")
    assert cities.get("valparaiso") == city
    assert write_for(Event("city_opened", "members", "x", 1, None, {"slug": "x"})) is None  # unreadable: skipped
