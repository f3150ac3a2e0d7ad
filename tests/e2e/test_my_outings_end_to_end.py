"""My outings, my groups' outings, this weekend's, and calendar feeds, through the GraphQL API and
the gateway's /calendar endpoints on the five real processes."""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from conftest import post
from test_attendance_end_to_end import JOIN, LEAVE
from test_outing_end_to_end import CREATE, proposal

from gateway import ids
from parentnet_kit.testing import wait_for

CALENDAR_APP = Path(__file__).resolve().parents[2] / "clients" / "calendar"
MINE = """query($states: [MemberOutingState!]) { viewer { outings(states: $states, first: 50) {
  totalCount edges { state place { status position } node { id title } } } } }"""
THEIRS = "query($id: ID!) { node(id: $id) { ... on Member { outings { totalCount } } } }"
ROTATE = """mutation($group: ID) { calendarFeedRotate(input: {groupId: $group}) {
  url revoked userErrors { field message code } } }"""
REVOKE = """mutation($group: ID) { calendarFeedRevoke(input: {groupId: $group}) {
  url revoked userErrors { field code } } }"""
CANCEL = """mutation($id: ID!) { outingCancel(input: {outingId: $id, scope: OCCURRENCE}) {
  outing { state } userErrors { code } } }"""
GROUP = """mutation($name: String!, $visibility: GroupVisibility) {
  groupCreate(input: {name: $name, city: "paris", visibility: $visibility}) { group { id } userErrors { code } } }"""
GROUP_OUTINGS = """query($id: ID!) { node(id: $id) { ... on Group { outings(first: 10) {
  totalCount nodes { id title } } } } }"""
MY_GROUPS_OUTINGS = "{ viewer { groupOutings(first: 10) { totalCount nodes { id } } } }"
WEEKEND = """{ outingsThisWeekend(first: 50) { startsAt endsAt totalCount
  edges { inYourGroups node { id title } } } }"""
HOME = """mutation($home: GeoPointInput) { memberUpdateProfile(input: {homeLocation: $home}) {
  userErrors { field code } } }"""


def _day(days_from_now: int, hour: int) -> str:
    return (datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=days_from_now)).strftime(f"%Y-%m-%dT{hour:02d}:00")


def test_my_outings_show_organised_going_and_third_on_a_waitlist_then_move_up(gql, http, sign_up, organizer):
    me, first, second, third = (sign_up(name) for name in ("Moi", "Premier", "Deuxième", "Troisième"))
    own = gql(CREATE, {"input": proposal("Mon goûter", 48.8600, 2.3400)}, token=me["token"])["outingCreate"]
    mine = own["outing"]["id"]
    later = {"startsAt": "2031-05-07T10:00", "endsAt": "2031-05-07T12:00"}
    latest = {"startsAt": "2031-05-08T10:00", "endsAt": "2031-05-08T12:00"}
    going = gql(CREATE, {"input": proposal("Parc floral", 48.8390, 2.4400, **later)})["outingCreate"]["outing"]["id"]
    full = gql(CREATE, {"input": proposal("Guignol", 48.8462, 2.3371, capacity=1, **latest)})["outingCreate"]
    full = full["outing"]["id"]
    assert gql(JOIN, {"id": going}, token=me["token"])["outingJoin"]["userErrors"] == []
    for parent in (first, second, third, me):
        assert gql(JOIN, {"id": full}, token=parent["token"])["outingJoin"]["userErrors"] == []

    listed = gql(MINE, token=me["token"])["viewer"]["outings"]
    assert listed["totalCount"] == 3
    assert [(e["node"]["id"], e["state"], e["place"]) for e in listed["edges"]] == [
        (mine, "ORGANIZING", None),
        (going, "GOING", {"status": "CONFIRMED", "position": 1}),
        (full, "WAITLISTED", {"status": "WAITLISTED", "position": 3}),
    ]

    # One ahead on the waitlist leaves: third in line becomes second.
    assert gql(LEAVE, {"id": full}, token=second["token"])["outingLeave"]["userErrors"] == []
    waiting = gql(MINE, {"states": ["WAITLISTED"]}, token=me["token"])["viewer"]["outings"]["edges"]
    assert [(e["node"]["id"], e["place"]["position"]) for e in waiting] == [(full, 2)]
    # The one confirmed leaves: the first waiting moves in, and I am first in line.
    assert gql(LEAVE, {"id": full}, token=first["token"])["outingLeave"]["userErrors"] == []
    waiting = gql(MINE, {"states": ["WAITLISTED"]}, token=me["token"])["viewer"]["outings"]["edges"]
    assert [(e["node"]["id"], e["place"]["position"]) for e in waiting] == [(full, 1)]

    # Nobody else sees them.
    body = post(http, THEIRS, {"id": me["id"]}, organizer["token"]).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def _events_of(text: bytes) -> tuple[icalendar.Calendar, list]:
    calendar = icalendar.Calendar.from_ical(text)
    return calendar, list(calendar.walk("VEVENT"))


def test_my_calendar_feed_has_a_series_with_its_rule_and_a_cancelled_date_then_the_revoked_url_is_gone(
    gql, http, sign_up
):
    me = sign_up("Calendrier")
    weekly = proposal(
        "Bébés nageurs",
        48.8330,
        2.3550,
        startsAt="2031-03-23T10:00",
        endsAt="2031-03-23T11:00",
        recurrence={"frequency": "WEEKLY", "count": 3},
        category="SWIMMING_POOL",
    )
    assert gql(CREATE, {"input": weekly}, token=me["token"])["outingCreate"]["userErrors"] == []
    occurrences = gql(MINE, token=me["token"])["viewer"]["outings"]["edges"]
    assert [e["state"] for e in occurrences] == ["ORGANIZING"] * 3
    # The second, on the day Paris moves to summer time, is cancelled.
    assert gql(CANCEL, {"id": occurrences[1]["node"]["id"]}, token=me["token"])["outingCancel"]["userErrors"] == []

    made = gql(ROTATE, token=me["token"])["calendarFeedRotate"]
    assert made["userErrors"] == [] and made["revoked"] is False
    answer = http.get(made["url"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/calendar")
    assert "max-age" in answer.headers["cache-control"] and answer.headers["etag"]

    calendar, events = _events_of(answer.content)
    assert len(events) == 1, "a series is one VEVENT"
    series = events[0]
    assert series["RRULE"]["FREQ"] == ["WEEKLY"] and series["RRULE"]["COUNT"] == [3]
    assert series["DTSTART"].params["TZID"] == "Europe/Paris"
    assert [z.tz_name for z in calendar.timezones] == ["Europe/Paris"]
    excluded = [d.dt for d in series["EXDATE"].dts]
    assert [(d.date().isoformat(), d.hour) for d in excluded] == [("2031-03-30", 10)]
    assert series["SEQUENCE"] >= 2  # the cancellation was a change
    assert "GEO" in series and str(series["LOCATION"]) == "Champ-de-Mars"

    # A second parser, expanding RRULE and EXDATE as calendar apps do: two mornings at 10:00 local.
    expanded = recurring_ical_events.of(icalendar.Calendar.from_ical(answer.text)).between(
        date(2031, 3, 1), date(2031, 5, 1)
    )
    assert [(e["DTSTART"].dt.date().isoformat(), e["DTSTART"].dt.hour) for e in expanded] == [
        ("2031-03-23", 10),
        ("2031-04-06", 10),
    ]
    # A calendar app's own parser (Mozilla's ical.js, Thunderbird's), written by other people than
    # icalendar's: the same two mornings at 10:00 in Paris, across the change to summer time.
    read = subprocess.run(
        ["node", str(CALENDAR_APP / "expand.mjs"), "2031-03-01", "2031-05-01"],
        input=answer.content,
        capture_output=True,
        timeout=60,
        check=True,
    )
    occurrences = [(o["start"], o["zone"], o["utc"]) for o in json.loads(read.stdout)]
    assert occurrences == [
        ("2031-03-23T10:00", "Europe/Paris", "2031-03-23T09:00:00.000Z"),
        ("2031-04-06T10:00", "Europe/Paris", "2031-04-06T08:00:00.000Z"),
    ]
    # Unchanged, the feed answers 304 to its ETag.
    assert http.get(made["url"], headers={"if-none-match": answer.headers["etag"]}).status_code == 304

    rotated = gql(ROTATE, token=me["token"])["calendarFeedRotate"]
    assert rotated["revoked"] is True and rotated["url"] != made["url"]
    unknown = http.get(made["url"].rsplit("/", 1)[0] + "/" + "A" * 43 + ".ics")
    old = http.get(made["url"])
    assert old.status_code == unknown.status_code == 404 and old.content == unknown.content
    assert http.get(rotated["url"]).status_code == 200
    revoked = gql(REVOKE, token=me["token"])["calendarFeedRevoke"]
    assert revoked == {"url": None, "revoked": True, "userErrors": []}
    gone = http.get(rotated["url"])
    assert gone.status_code == 404 and gone.content == unknown.content


def test_group_outings_and_feeds_respect_a_private_group(gql, http, sign_up):
    admin, outsider = sign_up("Admin"), sign_up("Dehors")
    made = gql(GROUP, {"name": "Parents du square", "visibility": "PRIVATE"}, token=admin["token"])["groupCreate"]
    group = made["group"]["id"]
    inside = proposal("Goûter du square", 48.8500, 2.3600, groupId=group)
    outing = gql(CREATE, {"input": inside}, token=admin["token"])["outingCreate"]["outing"]["id"]

    assert gql(GROUP_OUTINGS, {"id": group}, token=admin["token"])["node"]["outings"]["nodes"] == [
        {"id": outing, "title": "Goûter du square"}
    ]
    assert gql(MY_GROUPS_OUTINGS, token=admin["token"])["viewer"]["groupOutings"]["nodes"] == [{"id": outing}]
    refused = post(http, GROUP_OUTINGS, {"id": group}, outsider["token"]).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    # No open feed for a private group or its outings; a member's token for it works.
    assert http.get(f"/calendar/groups/{group}.ics").status_code == 404
    assert http.get(f"/calendar/outings/{outing}.ics").status_code == 404
    not_mine = gql(ROTATE, {"group": group}, token=outsider["token"])["calendarFeedRotate"]
    assert not_mine["url"] is None and not_mine["userErrors"][0]["field"] == ["input", "groupId"]
    feed = gql(ROTATE, {"group": group}, token=admin["token"])["calendarFeedRotate"]["url"]
    _, events = _events_of(http.get(feed).content)
    assert [str(e["SUMMARY"]) for e in events] == ["Goûter du square"]

    # A public outing has an open feed.
    public = gql(CREATE, {"input": proposal("Ouvert à tous", 48.8510, 2.3610)}, token=admin["token"])
    public_id = public["outingCreate"]["outing"]["id"]
    answer = http.get(f"/calendar/outings/{public_id}.ics")
    assert answer.status_code == 200
    assert [str(e["UID"]) for e in _events_of(answer.content)[1]] == [f"{ids.from_global_id(public_id)[1]}@parentnet"]


def test_this_weekend_near_me_and_in_my_groups(gql, sign_up):
    me, host = sign_up("Weekend"), sign_up("Hôte")
    home = {"lat": 48.8790, "lon": 2.3550}  # near Gare du Nord
    assert gql(HOME, {"home": home}, token=me["token"])["memberUpdateProfile"]["userErrors"] == []
    group = gql(GROUP, {"name": "Parents de Vincennes"}, token=host["token"])["groupCreate"]["group"]["id"]
    assert (
        gql("mutation($g: ID!) { groupJoin(input: {groupId: $g}) { userErrors { code } } }", {"g": group}, me["token"])[
            "groupJoin"
        ]["userErrors"]
        == []
    )

    now = datetime.now(ZoneInfo("Europe/Paris"))
    if now.weekday() == 6 and now.hour >= 21:
        pytest.skip("late on a Sunday in Paris: no time left this weekend for an outing to start")
    # Sunday of this weekend (today when it is Sunday), in the afternoon or within the hour.
    sunday = 6 - now.weekday()
    hour = max(15, now.hour + 1) if sunday == 0 else 15
    near = proposal(
        "Square près de chez moi", 48.8800, 2.3560, startsAt=_day(sunday, hour), endsAt=_day(sunday, hour + 1)
    )
    far = proposal(
        "Bois de Vincennes", 48.8280, 2.4330, groupId=group, startsAt=_day(sunday, hour), endsAt=_day(sunday, hour + 2)
    )
    elsewhere = proposal("Trop loin", 48.8280, 2.4331, startsAt=_day(sunday, hour), endsAt=_day(sunday, hour + 2))
    next_week = proposal(
        "La semaine d'après", 48.8800, 2.3561, startsAt=_day(sunday + 7, 15), endsAt=_day(sunday + 7, 16)
    )
    made = {}
    for name, fields in (("near", near), ("far", far), ("elsewhere", elsewhere), ("next", next_week)):
        made[name] = gql(CREATE, {"input": fields}, token=host["token"])["outingCreate"]["outing"]["id"]

    def shown():
        page = gql(WEEKEND, token=me["token"])["outingsThisWeekend"]
        return page if made["near"] in {e["node"]["id"] for e in page["edges"]} else None

    page = wait_for(shown, timeout=15, what="this weekend's nearby outing in search")
    listed = {e["node"]["id"]: e["inYourGroups"] for e in page["edges"]}
    assert listed.get(made["near"]) is False and listed.get(made["far"]) is True
    assert made["elsewhere"] not in listed and made["next"] not in listed
    starts = datetime.fromisoformat(page["startsAt"])
    assert starts.weekday() == 5 and (starts.hour, starts.minute) == (0, 0)
    ends = datetime.fromisoformat(page["endsAt"])
    assert (ends.date() - starts.date()).days == 2 and (ends.hour, ends.minute) == (0, 0)
    assert starts.utcoffset() == starts.astimezone(ZoneInfo("Europe/Paris")).utcoffset()


BLOCK = "mutation($m: ID!) { memberBlock(input: {memberId: $m}) { userErrors { code } } }"


def test_an_organizer_who_blocked_me_leaves_my_outings_and_my_feed(gql, http, sign_up):
    me, host = sign_up("Bloquée"), sign_up("Qui bloque")
    made = gql(CREATE, {"input": proposal("Chez qui bloque", 48.8520, 2.3480)}, token=host["token"])["outingCreate"]
    outing = made["outing"]["id"]
    assert gql(JOIN, {"id": outing}, token=me["token"])["outingJoin"]["userErrors"] == []
    feed = gql(ROTATE, token=me["token"])["calendarFeedRotate"]["url"]
    assert [str(e["SUMMARY"]) for e in _events_of(http.get(feed).content)[1]] == ["Chez qui bloque"]

    assert gql(BLOCK, {"m": me["id"]}, token=host["token"])["memberBlock"]["userErrors"] == []
    assert gql(MINE, token=me["token"])["viewer"]["outings"] == {"totalCount": 0, "edges": []}
    assert _events_of(http.get(feed).content)[1] == []
    assert http.get(f"/calendar/outings/{outing}.ics").status_code == 200  # still public for everyone else
