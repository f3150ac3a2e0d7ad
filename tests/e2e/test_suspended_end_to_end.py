"""A member suspended by a network moderator cannot propose or take part in their own group's
outings, co-op shifts or school runs (issue 19), through the GraphQL API on the real processes:
the suspension travels from moderation to events as an event, and every refusal is ``SUSPENDED``
with a sentence in the caller's language (``Accept-Language: fr``) naming when it ends.

The suspended member stays a member of the group, so the gateway's group checks let them through
and the refusal is the events service's own (the authorization matrix's suspended viewer is in
none of the owner's groups)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

from conftest import post
from support.graphql import REGISTER

from parentnet_kit.testing import wait_for

START = (datetime.now(UTC) + timedelta(days=12)).replace(hour=10, minute=0, second=0, microsecond=0)
HERE = {"lat": 48.8645, "lon": 2.3605}
FRENCH = {"Accept-Language": "fr"}

GROUP_CREATE = "mutation($input: GroupCreateInput!) { groupCreate(input: $input) { group { id } userErrors { code } } }"
GROUP_JOIN = "mutation($g: ID!) { groupJoin(input: {groupId: $g}) { userErrors { code } } }"
OUTING_CREATE = """mutation($input: OutingCreateInput!) { outingCreate(input: $input) {
  outing { id attendance { families } } userErrors { code message } } }"""
OUTING_JOIN = """mutation($input: OutingJoinInput!) { outingJoin(input: $input) {
  outing { id attendance { families } } userErrors { code message } } }"""
SHIFT_OFFER = """mutation($input: CoopShiftOfferInput!) { coopShiftOffer(input: $input) {
  shift { id placesLeft } userErrors { code message } } }"""
SHIFT_BOOK = """mutation($input: CoopShiftBookInput!) { coopShiftBook(input: $input) {
  shift { id placesLeft } booking { id } userErrors { code message } } }"""
TRIP_CREATE = """mutation($input: TripCreateInput!) { tripCreate(input: $input) {
  trip { id rota { date } } userErrors { code message } } }"""
TRIP_JOIN = (
    """mutation($input: TripJoinInput!) { tripJoin(input: $input) { trip { id } userErrors { code message } } }"""
)
TRIP_VOLUNTEER = """mutation($input: TripDayInput!) { tripVolunteer(input: $input) {
  trip { id rota { date driver { id } } } userErrors { code message } } }"""
GRANT = """mutation($input: NetworkModeratorGrantInput!) {
  networkModeratorGrant(input: $input) { granted userErrors { code } } }"""
REPORT = """mutation($input: ContentReportInput!) { contentReport(input: $input) {
  report { id } userErrors { code } } }"""
ACT = """mutation($input: ModerationActInput!) { moderationAct(input: $input) { userErrors { code } } }"""


def run(http, document: str, variables: dict, token: str | None, headers: dict | None = None) -> dict:
    body = post(http, document, variables, token, headers=headers).json()
    assert "errors" not in body, body
    return body["data"]


def network_admin(http, stack) -> str:
    """A network admin's token, named as ops do (``python -m members.admins grant EMAIL``)."""
    email = f"suspend-admin-{uuid.uuid4().hex[:8]}@parentnet.test"
    fields = {"email": email, "password": "a long test password", "displayName": "Network admin", "city": "paris"}
    made = post(http, REGISTER, {"input": fields}).json()["data"]["memberRegister"]
    granted = subprocess.run(
        [sys.executable, "-m", "members.admins", "grant", email],
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert granted.returncode == 0, granted.stderr
    return made["accessToken"]


def test_a_suspended_group_member_is_refused_in_french_wherever_they_would_take_part(http, stack, sign_up):
    owner, suspect, reporter, moderator = (sign_up(n) for n in ("Owner", "Suspect", "Reporter", "Moderator"))
    made = run(
        http, GROUP_CREATE, {"input": {"name": f"Suspendus {uuid.uuid4().hex[:6]}", "city": "paris"}}, owner["token"]
    )
    group = made["groupCreate"]["group"]["id"]
    assert run(http, GROUP_JOIN, {"g": group}, suspect["token"])["groupJoin"]["userErrors"] == []

    def outing_fields() -> dict:
        return {
            "title": "Jardin des Plantes",
            "category": "PARK",
            "startsAt": START.isoformat(),
            "endsAt": (START + timedelta(hours=2)).isoformat(),
            "venueName": "Jardin des Plantes",
            "location": {"lat": 48.8440, "lon": 2.3596},
            "city": "paris",
            "groupId": group,
        }

    shift_fields = {
        "groupId": group,
        "city": "paris",
        "startsAt": START.isoformat(),
        "endsAt": (START + timedelta(hours=2)).isoformat(),
        "places": 3,
    }
    trip_fields = {
        "groupId": group,
        "title": "Pédibus",
        "mode": "WALK",
        "weekdays": [0, 1, 2, 3, 4],
        "time": "08:15",
        "city": "paris",
        "meetingPoint": "Square du Temple",
        "meetingLocation": HERE,
        "destination": "École Vaucanson",
        "seats": 8,
    }
    outing = run(http, OUTING_CREATE, {"input": outing_fields()}, owner["token"])["outingCreate"]["outing"]
    shift = run(http, SHIFT_OFFER, {"input": shift_fields}, owner["token"])["coopShiftOffer"]["shift"]
    trip = run(http, TRIP_CREATE, {"input": trip_fields}, owner["token"])["tripCreate"]["trip"]

    # A network moderator suspends the member for 30 days on a report.
    admin = network_admin(http, stack)
    granted = run(http, GRANT, {"input": {"memberId": moderator["id"]}}, admin)["networkModeratorGrant"]
    assert granted["userErrors"] == [], granted
    reported = {"subjectId": suspect["id"], "reason": "SPAM", "note": "Spam in every group"}
    report = run(http, REPORT, {"input": reported}, reporter["token"])["contentReport"]
    assert report["userErrors"] == [], report
    until = START + timedelta(days=18)
    act = {"reportId": report["report"]["id"], "action": "SUSPEND", "reason": "Spam", "until": until.isoformat()}
    assert run(http, ACT, {"input": act}, moderator["token"])["moderationAct"]["userErrors"] == []

    def propose() -> dict:
        return run(http, OUTING_CREATE, {"input": outing_fields()}, suspect["token"], FRENCH)["outingCreate"]

    # Probed by proposing an outing of their own: a stray one before the suspension arrives
    # changes nothing checked below (a join would have taken a place: "nothing was taken").
    proposed = wait_for(
        lambda: (answer := propose())["userErrors"] and answer, 30, 0.2, what="the suspension to reach events"
    )
    attempts = {
        "outingJoin": run(http, OUTING_JOIN, {"input": {"outingId": outing["id"]}}, suspect["token"], FRENCH)[
            "outingJoin"
        ],
        "outingCreate": proposed,
        "coopShiftOffer": run(http, SHIFT_OFFER, {"input": shift_fields}, suspect["token"], FRENCH)["coopShiftOffer"],
        "coopShiftBook": run(
            http, SHIFT_BOOK, {"input": {"shiftId": shift["id"], "children": 1}}, suspect["token"], FRENCH
        )["coopShiftBook"],
        "tripCreate": run(http, TRIP_CREATE, {"input": trip_fields}, suspect["token"], FRENCH)["tripCreate"],
        "tripJoin": run(
            http, TRIP_JOIN, {"input": {"tripId": trip["id"], "children": ["Lina"]}}, suspect["token"], FRENCH
        )["tripJoin"],
        "tripVolunteer": run(
            http,
            TRIP_VOLUNTEER,
            {"input": {"tripId": trip["id"], "date": trip["rota"][0]["date"]}},
            suspect["token"],
            FRENCH,
        )["tripVolunteer"],
    }
    for name, payload in attempts.items():
        assert [e["code"] for e in payload["userErrors"]] == ["SUSPENDED"], (name, payload)
        message = payload["userErrors"][0]["message"]
        assert message.startswith("Votre compte est suspendu jusqu’au "), (name, message)
        assert str(until.year) in message, (name, message)

    # Nothing was taken: another member of the group finds every place as it was.
    assert run(http, GROUP_JOIN, {"g": group}, reporter["token"])["groupJoin"]["userErrors"] == []
    came = run(http, OUTING_JOIN, {"input": {"outingId": outing["id"]}}, reporter["token"])["outingJoin"]
    assert came["userErrors"] == [] and came["outing"]["attendance"]["families"] == 1, came
    booked = run(http, SHIFT_BOOK, {"input": {"shiftId": shift["id"], "children": 1}}, reporter["token"])
    assert booked["coopShiftBook"]["userErrors"] == [], booked
    assert booked["coopShiftBook"]["shift"]["placesLeft"] == 2, booked
    day = {"tripId": trip["id"], "date": trip["rota"][0]["date"]}
    took = run(http, TRIP_VOLUNTEER, {"input": day}, reporter["token"])["tripVolunteer"]
    assert took["userErrors"] == [], took  # the day was still free
