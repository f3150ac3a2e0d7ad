"""Members a caller knows are kept apart from the viewer (``apart_ids``: the gateway's fresh
list, ahead of the ``blocks`` copy) are left out inside the query: pages stay full, totals,
facets and map counts agree, cursors lead on; co-op shifts and school runs of a host or
organizer kept apart leave too. Ids from the caller only add to the copy's, never replace it."""

from __future__ import annotations

import pytest
from nameko.testing.services import entrypoint_hook
from test_indexing import EIFFEL, block, document, listing_event, membership, outing
from test_talk import thread
from test_viewers import KEYS, activity, as_member

from parentnet_kit.envelope import Event
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.testing import wait_for
from search.documents import write_for
from search.service import SearchService

BOUNDS = {"north": 48.87, "south": 48.85, "east": 2.31, "west": 2.28}


def call(container, method, **kwargs):
    with entrypoint_hook(container, method) as hook:
        return hook(**kwargs)


def by(member: str, outing_id: str, lat: float) -> Event:
    event = outing(outing_id, 1, f"Goûter {outing_id}", lat, 2.2945)
    event.data["organizer_id"] = member
    return event


@pytest.fixture
def indexed(container_factory, service_config):
    """Eve's outing nearest the Eiffel tower, Fay's two a little farther, and Eve's listing."""
    container = container_factory(SearchService, service_config)
    container.start()
    publisher = EventPublisher(service_config["AMQP_URI"])
    for event in (by("eve", "e1", 48.8585), by("fay", "f1", 48.8595), by("fay", "f2", 48.8605)):
        publisher.publish(event)
    publisher.publish(listing_event("l-eve", 1, "listing_posted", owner_id="eve"))
    wait_for(
        lambda: call(container, "nearby_outings", near=EIFFEL, radius_km=5, first=10)["total"] == 3,
        10,
        what="the three outings",
    )
    wait_for(
        lambda: call(container, "nearby_listings", near=EIFFEL, radius_km=5)["total"] == 1, 10, what="Eve's listing"
    )
    yield container, publisher
    publisher.close()


def test_a_page_without_the_apart_members_is_full_and_counted_right(indexed):
    container, _ = indexed
    ask = {"near": EIFFEL, "radius_km": 5, "viewer_id": "dana", "apart_ids": ["eve"]}
    first = call(container, "nearby_outings", first=1, **ask)
    assert [e["node"]["id"] for e in first["edges"]] == ["f1"]
    assert (first["total"], first["has_next_page"]) == (2, True)
    assert first["facets"] == [{"category": "park", "count": 2}]
    second = call(container, "nearby_outings", first=1, after=first["edges"][-1]["cursor"], **ask)
    assert [e["node"]["id"] for e in second["edges"]] == ["f2"]
    assert second["has_next_page"] is False
    listings = call(container, "nearby_listings", near=EIFFEL, radius_km=5, viewer_id="dana", apart_ids=["eve"])
    assert (listings["total"], listings["edges"], listings["facets"]) == (0, [], [])
    # An older caller (no apart_ids): as before, everything its own copy does not hide.
    assert call(container, "nearby_outings", near=EIFFEL, radius_km=5, first=1, viewer_id="dana")["total"] == 3


def test_map_counts_and_suggestions_leave_out_the_apart_members(indexed):
    container, _ = indexed

    def counted(**extra) -> int:
        clusters = call(container, "map_clusters", bounds=BOUNDS, zoom=12, viewer_id="dana", **extra)["clusters"]
        return sum(c["count"] for c in clusters)

    assert counted() == 4  # three outings and a listing
    assert counted(apart_ids=["eve"]) == 2
    assert counted(kinds=["listings"], apart_ids=["eve"]) == 0
    found = call(container, "suggest", text="goûter", near=EIFFEL, viewer_id="dana", apart_ids=["eve"])
    assert sorted(s["id"] for s in found["suggestions"]) == ["f1", "f2"]


def test_the_callers_ids_add_to_the_blocks_copy_and_never_replace_it(indexed):
    container, publisher = indexed
    publisher.publish(block("fay", "dana", 1, True))  # in the copy: Fay blocked Dana
    wait_for(
        lambda: call(container, "nearby_outings", near=EIFFEL, radius_km=5, viewer_id="dana")["total"] == 1,
        10,
        what="Fay's block in the copy",
    )
    both = call(container, "nearby_outings", near=EIFFEL, radius_km=5, viewer_id="dana", apart_ids=["eve"])
    assert (both["total"], both["edges"]) == (0, [])
    # An empty list from the caller hides what the copy hides, no less.
    alone = call(container, "nearby_outings", near=EIFFEL, radius_km=5, viewer_id="dana", apart_ids=[])
    assert [e["node"]["id"] for e in alone["edges"]] == ["e1"]


def test_discussions_by_an_apart_author_leave_the_page_and_the_total(indexed):
    container, publisher = indexed
    for n, author in enumerate(("eve", "fay", "fay")):
        publisher.publish(thread(f"t{n}", "g-public", "public", f"Balade au parc {n}", author_id=author))

    def found(**extra) -> dict:
        return call(container, "discussions", text="balade", viewer_id="dana", first=1, **extra)

    wait_for(lambda: found()["total"] == 3, 10, what="the three threads")
    page = found(apart_ids=["eve"])
    assert (page["total"], page["has_next_page"], len(page["edges"])) == (2, True, 1)
    assert page["edges"][0]["node"]["author_id"] == "fay"
    after = call(
        container,
        "discussions",
        text="balade",
        viewer_id="dana",
        first=5,
        after=page["edges"][0]["cursor"],
        apart_ids=["eve"],
    )
    assert [e["node"]["author_id"] for e in after["edges"]] == ["fay"]


def test_apart_ids_that_are_not_a_list_of_ids_are_refused(indexed):
    container, _ = indexed
    for wrong in ("eve", [1], {"eve": True}, [f"m{n}" for n in range(50_001)]):
        with pytest.raises(ValueError):
            call(container, "nearby_outings", near=EIFFEL, radius_km=5, viewer_id="dana", apart_ids=wrong)


def trip(trip_id: str, group: str, organizer: str) -> Event:
    data = {
        "id": trip_id,
        "group_id": group,
        "title": "Pédibus",
        "mode": "walk",
        "weekdays": [1, 2],
        "time": "08:15",
        "city": "paris",
        "time_zone": "Europe/Paris",
        "meeting_point": "École",
        "meeting_location": {"lat": EIFFEL["lat"], "lon": EIFFEL["lon"]},
        "destination": "École",
        "seats": 4,
        "created_by": organizer,
    }
    return Event("trip_created", "events", trip_id, 1, "paris", data)


def test_activity_documents_name_their_host_or_organizer():
    shift = activity("s1", "g1")
    shift.data["host_id"] = "alice"
    assert write_for(shift).document["member_ids"] == ["alice"]
    assert write_for(trip("t1", "g1", "alice")).document["member_ids"] == ["alice"]
    assert write_for(activity("s2", "g1")).document["member_ids"] == []  # no host named: nobody


def test_a_hosts_shift_and_an_organizers_school_run_leave_a_member_kept_apart(container_factory, service_config):
    config = {**service_config, "INTERNAL_IDENTITY_PUBLIC_KEY": KEYS[1].decode(), "INTERNAL_IDENTITY_REQUIRED": True}
    container_factory(SearchService, config).start()
    publisher = EventPublisher(config["AMQP_URI"])
    shift = activity("s-alice", "g1")
    shift.data["host_id"] = "alice"
    for event in (shift, trip("t-alice", "g1", "alice"), membership("g1", "bob"), by("x", "marker", 48.86)):
        publisher.publish(event)

    def bob_finds(**extra) -> list[str]:
        with as_member(config, "bob") as search:
            page = search.nearby_activities(EIFFEL, 5, ["g1"], 10, **extra)
        return sorted(e["node"]["id"] for e in page["edges"])

    wait_for(lambda: document(config, "marker"), 10, what="the marker outing")
    wait_for(lambda: bob_finds() == ["s-alice", "t-alice"], 15, what="Alice's shift and school run")
    assert bob_finds(apart_ids=["alice"]) == []
    assert bob_finds(apart_ids=["someone-else"]) == ["s-alice", "t-alice"]
    publisher.publish(block("alice", "bob", 1, True))  # once the copy has it, without the caller's list too
    wait_for(lambda: bob_finds() == [], 15, what="Alice's block in the copy")
    publisher.close()
