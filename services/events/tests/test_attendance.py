"""Joining, the waitlist, promotions, changes and notifications, in a real nameko container
on the real MongoDB-protocol server (FerretDB locally) and RabbitMQ."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from conftest import call
from nameko.standalone.rpc import ClusterRpcProxy
from test_service import GOOD, queued_events

from parentnet_kit import nameko_testing as members

PARIS = ZoneInfo("Europe/Paris")


def create(container, organizer="organizer", **fields):
    result = call(container, "create_outing", {**GOOD, **fields}, organizer_id=organizer)
    assert result["errors"] == [], result
    return result["outing"]


def test_fifty_racing_joins_for_ten_places_then_three_leave(container_at_volume, service_config_at_volume):
    container, service_config = container_at_volume, service_config_at_volume
    outing = create(container, capacity=10)
    members = [f"m{i:02d}" for i in range(50)]
    with ClusterRpcProxy(service_config) as cluster:
        calls = [cluster.events.join_outing.call_async(outing["id"], m, 2, 1) for m in members]
        answers = [c.result() for c in calls]
    assert all(a["errors"] == [] for a in answers)
    statuses = [a["place"]["status"] for a in answers]
    assert statuses.count("confirmed") == 10 and statuses.count("waitlisted") == 40

    places = call(container, "attendees", outing["id"], "organizer", 100)["places"]
    assert len(places) == 50 and len({p["member_id"] for p in places}) == 50
    confirmed = [p["member_id"] for p in places if p["status"] == "confirmed"]
    waitlist = [p["member_id"] for p in places if p["status"] == "waitlisted"]
    assert len(confirmed) == 10 and [p["position"] for p in places[10:13]] == [1, 2, 3]

    # Joining twice is refused and changes nothing.
    again = call(container, "join_outing", outing["id"], confirmed[0], 1, 0)
    assert again["errors"][0]["code"] == "ALREADY_JOINED"

    for member in confirmed[:3]:
        assert call(container, "leave_outing", outing["id"], member)["errors"] == []
    after = call(container, "attendees", outing["id"], "organizer", 100)["places"]
    now_confirmed = [p["member_id"] for p in after if p["status"] == "confirmed"]
    assert now_confirmed == confirmed[3:] + waitlist[:3]
    view = call(container, "get_outing", outing["id"])
    assert view["attendance"] == {"families": 10, "adults": 20, "children": 10, "waitlist": 37, "places_left": 0}

    for member in waitlist[:3]:
        inbox = call(container, "inbox", member)
        assert [n["kind"] for n in inbox["items"]] == ["waitlist_promoted"]
    assert call(container, "inbox", waitlist[3])["items"] == []

    events = queued_events(service_config["AMQP_URI"])
    changes = [e for e in events if e["type"] == "attendance_changed"]
    assert changes and changes[-1]["data"]["attendance"]["places_left"] == 0
    versions = [e["version"] for e in events if e["aggregate_id"] == outing["id"]]
    assert len(versions) == len(set(versions))  # one event per version, none applied twice


def test_only_the_organizer_or_a_group_admin_changes_an_outing(container):
    """Whether the actor admins the outing's group is asked of members; the caller's
    ``actor_is_group_admin`` (a previous gateway's) is not believed."""
    outing = create(container)
    refused = call(container, "update_outing", outing["id"], "stranger", {"title": "Mine now"})
    assert refused["outing"] is None
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [(["outing_id"], "FORBIDDEN")]
    assert call(container, "get_outing", outing["id"])["version"] == outing["version"]

    members.group("g1", organizer="member", admin="admin", plain="member")
    grouped = create(container, group_id="g1")
    claimed = call(container, "update_outing", grouped["id"], "plain", {"title": "Claimed"}, "occurrence", True)
    assert [e["code"] for e in claimed["errors"]] == ["FORBIDDEN"]
    cancel = call(container, "cancel_outing", grouped["id"], "plain", "occurrence", True)
    assert [e["code"] for e in cancel["errors"]] == ["FORBIDDEN"]
    admin = call(container, "update_outing", grouped["id"], "admin", {"title": "Renamed"})
    assert admin["errors"] == [] and admin["outing"]["title"] == "Renamed"
    cancel = call(container, "cancel_outing", outing["id"], "stranger")
    assert cancel["errors"][0]["code"] == "FORBIDDEN"


def test_an_outing_in_a_group_is_for_its_members_with_the_groups_visibility(container):
    members.group("g-private", visibility="private", organizer="member")
    refused = call(container, "create_outing", {**GOOD, "group_id": "g-private"}, organizer_id="stranger")
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [(["group_id"], "NOT_MEMBER")]
    # What the caller says of the group's visibility is not believed.
    made = create(container, group_id="g-private", group_visibility="public")
    assert made["group_visibility"] == "private"
    # Outside the private group, or blocked by its organizer, it is not there to join.
    members.member("outsider")
    members.block("organizer", "blocked")
    members.group("g-private", visibility="private", blocked="member")
    for who in ("outsider", "blocked"):
        hidden = call(container, "join_outing", made["id"], who, 1, 0)
        assert [e["code"] for e in hidden["errors"]] == ["NOT_FOUND"], who


def test_changing_time_or_place_or_cancelling_tells_everyone_coming(container):
    outing = create(container, capacity=1)
    call(container, "join_outing", outing["id"], "coming", 1, 2)
    call(container, "join_outing", outing["id"], "waiting", 1, 0)
    call(container, "update_outing", outing["id"], "organizer", {"description": "no news here"})
    assert call(container, "inbox", "coming")["items"] == []

    moved = call(container, "update_outing", outing["id"], "organizer", {"venue_name": "Jardin des Plantes"})
    assert moved["errors"] == []
    call(container, "cancel_outing", outing["id"], "organizer")
    for member in ("coming", "waiting"):
        kinds = [n["kind"] for n in call(container, "inbox", member)["items"]]
        assert kinds == ["outing_cancelled", "outing_changed"]
    assert call(container, "inbox", "organizer")["items"] == []
    assert call(container, "join_outing", outing["id"], "late", 1, 0)["errors"][0]["code"] == "CANCELLED"


def test_attendees_are_for_the_organizer_and_those_coming(container):
    outing = create(container)
    call(container, "join_outing", outing["id"], "coming", 1, 1)
    assert call(container, "attendees", outing["id"], "stranger") is None
    assert call(container, "attendees", outing["id"], None) is None
    assert call(container, "attendees", outing["id"], "coming")["total"] == 1
    assert call(container, "attendees", outing["id"], "organizer")["total"] == 1


def test_whoever_blocked_the_viewer_is_not_in_the_attendees_nor_counted(container):
    """Left out before the page is cut: the total and the pages agree with the list (a total of
    3 beside 2 listed, or a page of 1 with a next page, told the blocked member she was blocked)."""
    outing = create(container)
    for who in ("first-a", "blocker-a", "viewer-a"):
        assert call(container, "join_outing", outing["id"], who, 1, 0)["errors"] == []
    members.block("blocker-a", "viewer-a")
    page = call(container, "attendees", outing["id"], "viewer-a", 1)
    assert [p["member_id"] for p in page["places"]] == ["first-a"]
    assert page["total"] == 2 and page["has_next_page"] is True
    rest = call(container, "attendees", outing["id"], "viewer-a", 1, page["places"][0]["ticket"])
    assert [p["member_id"] for p in rest["places"]] == ["viewer-a"] and rest["has_next_page"] is False
    # Everyone else still sees the blocker.
    everyone = call(container, "attendees", outing["id"], "organizer", 10)
    assert [p["member_id"] for p in everyone["places"]] == ["first-a", "blocker-a", "viewer-a"]
    assert everyone["total"] == 3


def test_bad_join_input_is_named(container):
    outing = create(container, with_children=False)
    bad = call(container, "join_outing", outing["id"], "m", 0, 2)
    assert {(tuple(e["field"]), e["code"]) for e in bad["errors"]} == {
        (("adults",), "OUT_OF_RANGE"),
        (("children",), "NO_CHILDREN"),
    }
    assert call(container, "attendees", outing["id"], "organizer")["total"] == 0


def test_a_weekly_series_keeps_ten_oclock_across_the_end_of_summer_time(container):
    # Summer time ends in Paris on Sunday 31 October 2027.
    first = create(
        container,
        title="Playgroup",
        starts_at="2027-10-13T10:00",
        ends_at="2027-10-13T11:30",
        recurrence={"frequency": "weekly", "count": 5},
    )
    occurrences = call(container, "series", first["series_id"])
    local = [datetime.fromisoformat(o["starts_at"].replace("Z", "+00:00")).astimezone(PARIS) for o in occurrences]
    assert [t.strftime("%m-%d %H:%M") for t in local] == [
        "10-13 10:00",
        "10-20 10:00",
        "10-27 10:00",
        "11-03 10:00",
        "11-10 10:00",
    ]
    assert [o["starts_at"][11:16] for o in occurrences] == ["08:00", "08:00", "08:00", "09:00", "09:00"]

    # Moving the whole series to 10:30 keeps it in local time on every date.
    second = occurrences[1]
    moved = call(
        container,
        "update_outing",
        second["id"],
        "organizer",
        {"starts_at": "2027-10-20T10:30", "ends_at": "2027-10-20T12:00"},
        "series",
    )
    assert moved["errors"] == []
    after = call(container, "series", first["series_id"])
    local = [datetime.fromisoformat(o["starts_at"].replace("Z", "+00:00")).astimezone(PARIS) for o in after]
    # "The whole series" is every occurrence still to come, the first one included.
    assert {t.strftime("%H:%M") for t in local} == {"10:30"}

    # One occurrence on its own: only it moves, and later series edits leave it be.
    third = after[2]
    call(
        container,
        "update_outing",
        third["id"],
        "organizer",
        {"starts_at": "2027-10-27T16:00", "ends_at": "2027-10-27T17:00"},
    )
    call(container, "update_outing", first["id"], "organizer", {"venue_name": "Square du Temple"}, "series")
    final = call(container, "series", first["series_id"])
    assert final[2]["venue_name"] == GOOD["venue_name"]
    assert final[2]["starts_at"] == "2027-10-27T14:00:00Z"  # 16:00 summer time
    assert {o["venue_name"] for i, o in enumerate(final) if i != 2} == {"Square du Temple"}
