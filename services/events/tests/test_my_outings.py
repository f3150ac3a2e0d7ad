"""My outings and my groups' outings, and calendar feed tokens, in a real nameko container on the
real store: states and waitlist positions read from the truth, by ``_id`` only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import call
from nameko.standalone.rpc import ClusterRpcProxy
from pymongo import MongoClient

from events.attendance import Attendance
from events.dependencies import Outings, OutingStore
from events.my_outings import GOING, ORGANIZING, PAST, WAITLISTED, MemberOutings, member_state
from parentnet_kit import nameko_testing as members
from parentnet_kit import testing
from parentnet_kit.outbox import AggregateStore

OUTING = {
    "title": "Jardin des Plantes",
    "category": "zoo",
    "starts_at": "2030-05-04T10:00",
    "ends_at": "2030-05-04T12:00",
    "venue_name": "Ménagerie",
    "location": {"lat": 48.8440, "lon": 2.3590},
    "city": "paris",
}


@pytest.fixture(autouse=True)
def groups():
    """What members says of these tests' groups."""
    members.group("g1", host="admin", me="member")
    members.group("g2", visibility="private", other="admin")
    members.group("g9", visibility="private", other="admin", me="member")


def _made(container, organizer: str, **fields) -> str:
    result = call(container, "create_outing", {**OUTING, **fields}, organizer)
    assert result["errors"] == [], result
    return result["outing"]["id"]


def test_my_outings_show_each_state_and_the_waitlist_position_moves_up(container):
    mine = _made(container, "me", title="Mine")
    theirs = _made(container, "org", title="Open", starts_at="2030-05-05T10:00", ends_at="2030-05-05T12:00")
    full = _made(container, "org", title="Full", capacity=1, starts_at="2030-05-06T10:00", ends_at="2030-05-06T12:00")
    assert call(container, "join_outing", theirs, "me")["errors"] == []
    for member in ("a", "b", "me"):
        call(container, "join_outing", full, member)

    page = call(container, "member_outings", "me")
    got = [(i["outing"]["id"], i["state"], i["place"] and i["place"]["position"]) for i in page["items"]]
    assert got == [(mine, ORGANIZING, None), (theirs, GOING, 1), (full, WAITLISTED, 2)]
    assert page["total"] == 3 and not page["has_next_page"]

    assert call(container, "leave_outing", full, "b")["errors"] == []
    waiting = call(container, "member_outings", "me", [WAITLISTED])["items"]
    assert [(i["outing"]["id"], i["place"]["position"]) for i in waiting] == [(full, 1)]
    assert call(container, "leave_outing", theirs, "me")["errors"] == []
    assert [i["outing"]["id"] for i in call(container, "member_outings", "me", [GOING])["items"]] == []
    # Paging: one at a time, by position.
    first = call(container, "member_outings", "me", None, 1)
    assert first["has_next_page"] and first["items"][0]["position"] == 1
    assert call(container, "member_outings", "me", None, 1, 1)["items"][0]["outing"]["id"] == full


def test_a_series_is_one_entry_and_group_outings_are_listed(container):
    series = call(
        container,
        "create_outing",
        {**OUTING, "group_id": "g1", "group_visibility": "public", "recurrence": {"frequency": "weekly", "count": 3}},
        "host",
    )["outing"]
    single = _made(container, "other", group_id="g2", group_visibility="private", starts_at="2030-05-04T09:00")
    page = call(container, "group_outings", ["g1", "g2"], "upcoming", 10)
    assert [i["outing"]["id"] for i in page["items"]][:2] == [single, series["id"]]
    assert page["total"] == 4
    window = call(container, "group_outings", ["g1"], "upcoming", 10, None, "2030-05-10T00:00:00+02:00")
    assert window["total"] == 2
    organizing = call(container, "member_outings", "host", [ORGANIZING])["items"]
    assert len(organizing) == 3 and all(i["state"] == ORGANIZING for i in organizing)
    db = container.config["EVENTS_DB"]
    entries = list(MongoClient(container.config["MONGO_URI"])[db]["member_outings"].find({"owner_id": "host"}))
    assert len(entries) == 1 and len(entries[0]["outing_ids"]) == 3


def test_past_is_what_they_organised_or_had_a_place_in():
    now = datetime(2031, 1, 1, tzinfo=UTC)
    over = {"id": "o", "organizer_id": "x", "status": "published", "ends_at": "2030-01-01T00:00:00Z"}
    assert member_state(over, "me", {"status": "confirmed", "position": 1}, now) == PAST
    assert member_state(over, "me", {"status": "waitlisted", "position": 1}, now) is None
    assert member_state({**over, "status": "cancelled"}, "x", None, now) is None


def test_feed_tokens_rotate_and_revoke(container):
    made = call(container, "calendar_feed_rotate", "me")
    token = made["token"]
    assert made["replaced"] is False
    assert call(container, "calendar_feed_resolve", token) == {"member_id": "me", "group_id": None}
    newer = call(container, "calendar_feed_rotate", "me")["token"]
    assert call(container, "calendar_feed_resolve", token) is None
    assert call(container, "calendar_feed_resolve", newer)["member_id"] == "me"
    group_token = call(container, "calendar_feed_rotate", "me", "g1")["token"]
    assert call(container, "calendar_feed_revoke", "me") is True
    assert call(container, "calendar_feed_resolve", newer) is None
    assert call(container, "calendar_feed_resolve", group_token) == {"member_id": "me", "group_id": "g1"}
    assert call(container, "calendar_feed_revoke", "me") is False
    assert call(container, "calendar_feed_resolve", "x" * 43) is None


def test_what_the_viewer_may_not_see_is_left_out_before_paging(container):
    blocked = _made(container, "blocker", title="Blocker's")
    private = _made(container, "other", title="Private", group_id="g9", group_visibility="private")
    for outing in (blocked, private):
        call(container, "join_outing", outing, "me")
    page = call(container, "member_outings", "me", None, 20, None, ["blocker"], [])
    assert (page["total"], page["items"]) == (0, [])
    page = call(container, "member_outings", "me", None, 20, None, [], ["g9"])
    assert {i["outing"]["id"] for i in page["items"]} == {blocked, private} and page["total"] == 2
    assert call(container, "group_outings", ["g9"], "upcoming", 20, None, None, None, [], [])["total"] == 0


def test_racing_rotations_leave_one_working_token(container, service_config):
    with ClusterRpcProxy(service_config) as cluster:
        pending = [cluster.events.calendar_feed_rotate.call_async("racer") for _ in range(10)]
        tokens = [p.result()["token"] for p in pending]
    working = [t for t in tokens if call(container, "calendar_feed_resolve", t) is not None]
    assert len(working) == 1


def test_a_change_of_time_records_the_new_ends_before_it_is_committed(container, service_config):
    first = call(container, "create_outing", {**OUTING, "recurrence": {"frequency": "weekly", "count": 3}}, "host")[
        "outing"
    ]
    call(container, "join_outing", first["id"], "guest")
    moved = {"starts_at": "2030-05-04T15:00", "ends_at": "2030-05-04T18:00"}
    assert call(container, "update_outing", first["id"], "host", moved, "series")["errors"] == []
    db = MongoClient(service_config["MONGO_URI"])[service_config["EVENTS_DB"]]
    for owner, count in (("host", 3), ("guest", 1)):
        entries = list(db.member_outings.find({"owner_id": owner}))
        assert [e.get("role") for e in entries] == ["organizer" if owner == "host" else "attendee", "moved"]
        assert len(entries[-1]["ends"]) == count
        assert all(end.hour == 16 for end in entries[-1]["ends"].values())  # 18:00 in Paris, summer time
    assert len(call(container, "member_outings", "host", ["organizing"])["items"]) == 3


def test_a_page_of_places_reads_claims_only_where_the_viewer_joined(container, service_config):
    """``places_of`` for a page of outings (nearbyOutings' viewerPlace): one read of the viewer's
    index once this process has read it, then claim and ticket lookups only for the outings she
    joined, not one claim lookup per outing on the page. Same answers as the service gives."""
    page = [_made(container, "host", title=f"Outing {n}") for n in range(20)]
    call(container, "join_outing", page[3], "me")
    call(container, "join_outing", page[11], "me", 2, 1)
    expected = call(container, "places_of", "me", page)
    assert [p and p["status"] for p in expected].count("confirmed") == 2
    provider = next(e for e in container.extensions if isinstance(e, Outings))
    with testing.recording_store(service_config["MONGO_URI"], service_config["EVENTS_DB"]) as (db, reads):
        outings = OutingStore(
            AggregateStore(db, "outings", provider.publisher),
            Attendance(db),
            provider.inbox,
            provider.coop,
            provider.trips,
            MemberOutings(db),
            provider.feeds,
        )
        assert outings.places_of("me", page) == expected
        reads.clear()
        assert outings.places_of("me", page) == expected
        finds = reads.finds_per_collection()
        assert reads.not_by_id() == []
    assert finds["member_outings"] == 1  # the next entry, not there: nothing new
    assert finds["attendance_claims"] == 2
    assert call(container, "places_of", "stranger", page) == [None] * 20
