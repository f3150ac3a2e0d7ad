# ruff: noqa: E501 - the matrix is one table, a row a line
"""Who may do what: every mutation of the schema × who asks, through the GraphQL API on the real stack.

``TABLE`` is the authorization matrix, one row per mutation of gateway/schema.graphql and one
column per kind of viewer. Each cell is what that viewer gets when doing it to something that is
someone else's (the world's ``owner``: their outing, listing, contact, shift, trip, picture, group):

- ``ok``: allowed (no error, no userError);
- a code in capitals: refused with that ``userErrors`` code;
- ``!CODE``: refused with a top-level error of that ``extensions.code`` (``!UNAUTHENTICATED``).

Columns: ``anonymous`` (no token); ``member`` (signed in, in no group of the owner's);
``group_member`` and ``group_admin`` (of the owner's group the thing belongs to); ``network_admin``;
``blocked`` (the owner blocked them: the owner reads as a member nobody has, so a new message to
them is ``NOT_FOUND`` as for an unknown id, while one into a conversation they already had looks
sent and is kept from the owner); ``suspended`` (reported, then suspended for 30 days by a
network moderator through ``moderationAct``; the world waits until events, listings and
conversations refuse them). The suspended viewer is in none of the owner's groups: where a member
is refused anyway (``NOT_MEMBER``, ``NOT_FOUND``, ``NOT_YOURS``) so are they, with the same code;
where anyone may act, a suspended member may not post, message or propose (``SUSPENDED``).
Cells the product does not meet yet are in ``KNOWN_BUGS`` (xfail, strict, with the bug).
Threads, replies and their reports are about the owner's **private** group (``world.private``):
an outsider gets ``NOT_FOUND``, as if nothing were there.

A mutation added to the schema without a row fails ``test_every_mutation_has_a_row``. Another test
sends raw RPCs to the events service, as any process on the bus could: claiming to be a group
admin, or with a forged identity, to change someone else's outing; they are refused.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import post
from PIL import Image

from parentnet_kit import identity
from parentnet_kit.testing import wait_for
from parentnet_kit.tokens import generate_key_pair

ROLES = ("anonymous", "member", "group_member", "group_admin", "network_admin", "blocked", "suspended")

# fmt: off
TABLE = """
mutation                   anonymous          member          group_member    group_admin     network_admin   blocked         suspended
cityOpen                   !UNAUTHENTICATED   FORBIDDEN       FORBIDDEN       FORBIDDEN       NOT_FOUND       FORBIDDEN       FORBIDDEN
networkAdminGrant          !UNAUTHENTICATED   FORBIDDEN       FORBIDDEN       FORBIDDEN       ok              FORBIDDEN       FORBIDDEN
pictureAdd                 !UNAUTHENTICATED   NOT_YOURS       NOT_YOURS       ok              NOT_YOURS       NOT_FOUND       NOT_YOURS
pictureRemove              !UNAUTHENTICATED   NOT_YOURS       NOT_YOURS       ok              NOT_YOURS       NOT_FOUND       NOT_YOURS
calendarFeedRotate         !UNAUTHENTICATED   NOT_FOUND       ok              ok              NOT_FOUND       NOT_FOUND       NOT_FOUND
calendarFeedRevoke         !UNAUTHENTICATED   ok              ok              ok              ok              ok              ok
notificationsMarkRead      !UNAUTHENTICATED   ok              ok              ok              ok              ok              ok
memberRegister             ok                 ok              ok              ok              ok              ok              ok
memberLogin                ok                 ok              ok              ok              ok              ok              ok
memberTokenRefresh         ok                 ok              ok              ok              ok              ok              ok
memberLogout               !UNAUTHENTICATED   ok              ok              ok              ok              ok              ok
memberUpdateProfile        !UNAUTHENTICATED   ok              ok              ok              ok              ok              ok
memberBlock                !UNAUTHENTICATED   ok              ok              ok              ok              ok              ok
memberUnblock              !UNAUTHENTICATED   ok              ok              ok              ok              ok              ok
groupCreate                !UNAUTHENTICATED   ok              ok              ok              ok              ok              SUSPENDED
groupJoin                  !UNAUTHENTICATED   ok              ALREADY_MEMBER  ALREADY_MEMBER  ok              NOT_FOUND       ok
groupLeave                 !UNAUTHENTICATED   NOT_MEMBER      ok              ok              NOT_MEMBER      NOT_MEMBER      NOT_MEMBER
groupRequestApprove        !UNAUTHENTICATED   FORBIDDEN       FORBIDDEN       ok              FORBIDDEN       FORBIDDEN       FORBIDDEN
groupRequestDecline        !UNAUTHENTICATED   FORBIDDEN       FORBIDDEN       ok              FORBIDDEN       FORBIDDEN       FORBIDDEN
groupRoleSet               !UNAUTHENTICATED   FORBIDDEN       FORBIDDEN       ok              FORBIDDEN       FORBIDDEN       FORBIDDEN
coopShiftOffer             !UNAUTHENTICATED   NOT_FOUND       ok              ok              NOT_FOUND       NOT_FOUND       NOT_FOUND
coopShiftBook              !UNAUTHENTICATED   NOT_FOUND       ok              ok              NOT_FOUND       NOT_FOUND       NOT_FOUND
coopBookingCancel          !UNAUTHENTICATED   NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND
coopFloorSet               !UNAUTHENTICATED   FORBIDDEN       FORBIDDEN       ok              FORBIDDEN       FORBIDDEN       FORBIDDEN
tripCreate                 !UNAUTHENTICATED   NOT_FOUND       ok              ok              NOT_FOUND       NOT_FOUND       NOT_FOUND
tripJoin                   !UNAUTHENTICATED   NOT_FOUND       ok              ok              NOT_FOUND       NOT_FOUND       NOT_FOUND
tripVolunteer              !UNAUTHENTICATED   NOT_FOUND       ok              ok              NOT_FOUND       NOT_FOUND       NOT_FOUND
tripSwapPropose            !UNAUTHENTICATED   NOT_FOUND       NOT_YOURS       NOT_YOURS       NOT_FOUND       NOT_FOUND       NOT_FOUND
tripSwapAccept             !UNAUTHENTICATED   NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND
listingCreate              !UNAUTHENTICATED   ok              ok              ok              ok              ok              SUSPENDED
listingRenew               !UNAUTHENTICATED   FORBIDDEN       FORBIDDEN       FORBIDDEN       FORBIDDEN       NOT_FOUND       FORBIDDEN
listingReserve             !UNAUTHENTICATED   ok              ok              ok              ok              NOT_FOUND       SUSPENDED
listingReservationAccept   !UNAUTHENTICATED   FORBIDDEN       FORBIDDEN       FORBIDDEN       FORBIDDEN       NOT_FOUND       FORBIDDEN
listingReservationDecline  !UNAUTHENTICATED   FORBIDDEN       FORBIDDEN       FORBIDDEN       FORBIDDEN       NOT_FOUND       FORBIDDEN
listingComplete            !UNAUTHENTICATED   FORBIDDEN       FORBIDDEN       FORBIDDEN       FORBIDDEN       NOT_FOUND       FORBIDDEN
listingWithdraw            !UNAUTHENTICATED   FORBIDDEN       FORBIDDEN       FORBIDDEN       FORBIDDEN       NOT_FOUND       FORBIDDEN
contactCreate              !UNAUTHENTICATED   NOT_MEMBER      ok              ok              NOT_MEMBER      NOT_MEMBER      NOT_MEMBER
contactRecommend           !UNAUTHENTICATED   ok              ok              ok              ok              ok              ok
outingCreate               !UNAUTHENTICATED   NOT_MEMBER      ok              ok              NOT_MEMBER      NOT_MEMBER      NOT_MEMBER
outingUpdate               !UNAUTHENTICATED   FORBIDDEN       FORBIDDEN       ok              FORBIDDEN       NOT_FOUND       FORBIDDEN
outingCancel               !UNAUTHENTICATED   FORBIDDEN       FORBIDDEN       ok              FORBIDDEN       NOT_FOUND       FORBIDDEN
outingJoin                 !UNAUTHENTICATED   ok              ok              ok              ok              NOT_FOUND       SUSPENDED
outingLeave                !UNAUTHENTICATED   NOT_JOINED      NOT_JOINED      NOT_JOINED      NOT_JOINED      NOT_FOUND       NOT_JOINED
discussionThreadCreate     !UNAUTHENTICATED   NOT_FOUND       ok              ok              NOT_FOUND       NOT_FOUND       NOT_FOUND
discussionThreadModerate   !UNAUTHENTICATED   NOT_FOUND       FORBIDDEN       ok              NOT_FOUND       NOT_FOUND       NOT_FOUND
discussionReplyCreate      !UNAUTHENTICATED   NOT_FOUND       ok              ok              NOT_FOUND       NOT_FOUND       NOT_FOUND
discussionSuggestionSupport !UNAUTHENTICATED  NOT_FOUND       ok              ok              NOT_FOUND       NOT_FOUND       NOT_FOUND
discussionSuggestionAnswer !UNAUTHENTICATED   NOT_FOUND       FORBIDDEN       ok              NOT_FOUND       NOT_FOUND       NOT_FOUND
questionAsk                !UNAUTHENTICATED   ok              ok              ok              ok              ok              SUSPENDED
questionAnswer             !UNAUTHENTICATED   ok              ok              ok              ok              ok              SUSPENDED
answerMarkHelpful          !UNAUTHENTICATED   NOT_YOURS       NOT_YOURS       NOT_YOURS       NOT_YOURS       NOT_YOURS       NOT_YOURS
answerContactSave          !UNAUTHENTICATED   NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND
messageSend                !UNAUTHENTICATED   ok              ok              ok              ok              NOT_FOUND       SUSPENDED
messageRequestAccept       !UNAUTHENTICATED   NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND
messageRequestDecline      !UNAUTHENTICATED   NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND
conversationUpdate         !UNAUTHENTICATED   NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND       NOT_FOUND
contentReport              !UNAUTHENTICATED   NOT_FOUND       ok              ok              NOT_FOUND       NOT_FOUND       NOT_FOUND
moderationAct              !UNAUTHENTICATED   FORBIDDEN       FORBIDDEN       ok              ok              FORBIDDEN       FORBIDDEN
networkModeratorGrant      !UNAUTHENTICATED   FORBIDDEN       FORBIDDEN       FORBIDDEN       ok              FORBIDDEN       FORBIDDEN
"""
# fmt: on

# Cells where the product does not yet do what the table says (xfail, strict: fixing the bug
# turns the cell on, and its entry must go).
KNOWN_BUGS: dict[tuple[str, str], str] = {}


def parse_table(text: str) -> dict[str, dict[str, str]]:
    """``{mutation: {role: expected}}``."""
    lines = [line.split() for line in text.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    assert tuple(header[1:]) == ROLES, header
    matrix = {}
    for row in rows:
        assert len(row) == len(header), row
        matrix[row[0]] = dict(zip(ROLES, row[1:], strict=True))
    return matrix


MATRIX = parse_table(TABLE)
SCHEMA = Path(__file__).resolve().parents[2] / "gateway" / "schema.graphql"


def schema_mutations() -> dict[str, str]:
    """Every mutation field of the checked-in schema, with its input type (``!``: required)."""
    body = re.search(r"\ntype Mutation \{(.*?)\n\}", SCHEMA.read_text(), re.S)
    assert body, "no Mutation type in schema.graphql"
    found: dict[str, str] = {}
    current = None
    for line in body.group(1).splitlines():
        if opened := re.fullmatch(r"  (\w+)\(.*", line):
            current = opened.group(1)
            found[current] = ""
        elif current and (argument := re.fullmatch(r"\s+input: (\w+!?).*", line)):
            found[current] = argument.group(1)
    return found


def test_every_mutation_has_a_row():
    """A mutation added to the schema needs its row in TABLE: who may do it is a decision."""
    assert set(schema_mutations()) == set(MATRIX)


# -- the world every cell acts in ------------------------------------------------------------
START = (datetime.now(UTC) + timedelta(days=20)).replace(hour=10, minute=0, second=0, microsecond=0)
HERE = {"lat": 48.8645, "lon": 2.3605}
ADMIN_EMAIL = f"authz-admin-{uuid.uuid4().hex[:8]}@parentnet.test"
PASSWORD = "a long test password"


@dataclass
class Person:
    token: str | None
    id: str | None = None
    email: str | None = None
    refresh: str | None = None


@dataclass
class World:
    http: Any
    stack: Any
    sign_up: Callable[..., dict]
    people: dict[str, Person] = field(default_factory=dict)
    group: str = ""
    private: str = ""
    last_probe: str = ""

    def gql(self, document: str, variables: dict | None = None, who: str = "owner") -> dict:
        body = post(self.http, document, variables, self.people[who].token).json()
        assert "errors" not in body, body
        return body["data"]

    def person(self, name: str) -> Person:
        made = self.sign_up(name)
        return Person(made["token"], made["id"], made["email"], made["refresh"])


def make_world(http, stack, sign_up) -> World:
    world = World(http, stack, sign_up)
    for name in ("owner", "member", "group_member", "group_admin", "blocked", "suspended", "bystander"):
        world.people[name] = world.person(name.replace("_", " ").title())
    world.people["anonymous"] = Person(None)
    world.people["network_admin"] = network_admin(http, stack)
    world.group = new_group(world)
    world.private = new_group(world, visibility="PRIVATE")
    world.people["keeper"] = world.person("Keeper")
    assert world.gql(JOIN, {"g": world.private}, "keeper")["groupJoin"]["userErrors"] == []
    world.gql(ROLE, {"g": world.private, "m": world.people["keeper"].id, "r": "ADMIN"})
    world.gql(BLOCK, {"input": {"memberId": world.people["blocked"].id}})
    suspend(world)
    admin_role_in_moderation(world)
    return world


GROUP_QUEUE = "query($g: ID) { moderationQueue(groupId: $g, first: 50) { nodes { id } } }"


def admin_role_in_moderation(world: World) -> None:
    """Wait (deadline) until moderation keeps group_admin's role: moderation learns it from
    members' events on a queue of its own, which nothing above waits for (the suspension's
    probes wait on events, listings and conversations), and moderationAct's group_admin cell
    needs it. Shown by a report in the group's queue as group_admin sees it (an admin without
    the role sees the same empty page as an empty queue)."""
    report_id = _report(world)
    wait_for(
        lambda: (
            report_id
            in {n["id"] for n in world.gql(GROUP_QUEUE, {"g": world.group}, "group_admin")["moderationQueue"]["nodes"]}
        ),
        timeout=30,
        what="group_admin's role in moderation",
    )


GRANT = """mutation($input: NetworkModeratorGrantInput!) {
  networkModeratorGrant(input: $input) { granted userErrors { code } } }"""
REPORT = """mutation($input: ContentReportInput!) { contentReport(input: $input) {
  report { id } userErrors { code } } }"""
ACT = """mutation($input: ModerationActInput!) { moderationAct(input: $input) { userErrors { code } } }"""


def suspend(world: World) -> None:
    """Suspend ``suspended`` as the product does: a network admin names a network moderator, a
    member reports them, the moderator suspends them for 30 days; then wait (deadline) until the
    suspension reached events, listings and conversations (each refuses them ``SUSPENDED``)."""
    moderator = world.people["moderator"] = world.person("Moderator")
    granted = world.gql(GRANT, {"input": {"memberId": moderator.id}}, "network_admin")["networkModeratorGrant"]
    assert granted["userErrors"] == [], granted
    reported = {"subjectId": world.people["suspended"].id, "reason": "SPAM", "note": "Spam in every group"}
    report = world.gql(REPORT, {"input": reported}, "bystander")["contentReport"]
    assert report["userErrors"] == [], report
    until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    act = {"reportId": report["report"]["id"], "action": "SUSPEND", "reason": "Spam", "until": until}
    assert world.gql(ACT, {"input": act}, "moderator")["moderationAct"]["userErrors"] == []

    # Each probe is the suspended member posting something of their own (an outing outside any
    # group, a listing, a question): refused once the suspension arrived, a stray post before.
    outing_alone = {key: value for key, value in INPUTS["outingCreate"](world, "suspended").items() if key != "groupId"}
    for document, variables, name in (
        (OUTING_CREATE, {"input": outing_alone}, "outingCreate"),
        (LISTING_CREATE, {"input": INPUTS["listingCreate"](world, "suspended")}, "listingCreate"),
        (QUESTION_ASK, {"input": {"text": "Une pédiatre près du canal ?", "scope": "CITY"}}, "questionAsk"),
    ):
        wait_for(
            lambda d=document, v=variables, n=name: _refused(world, d, v, n),
            timeout=30,
            what=f"the suspension in {name}",
        )


def _refused(world: World, document: str, variables: dict, name: str) -> bool:
    payload = world.gql(document, variables, "suspended")[name]
    world.last_probe = f"{name}: {payload}"
    return [e["code"] for e in payload["userErrors"]] == ["SUSPENDED"]


OUTING_CREATE = "mutation($input: OutingCreateInput!) { outingCreate(input: $input) { userErrors { code } } }"
LISTING_CREATE = "mutation($input: ListingCreateInput!) { listingCreate(input: $input) { userErrors { code } } }"
QUESTION_ASK = """mutation($input: QuestionAskInput!) { questionAsk(input: $input) {
  question { id } userErrors { code } } }"""


def network_admin(http, stack) -> Person:
    """A network admin, named as ops do (``python -m members.admins grant EMAIL``)."""
    from support.graphql import REGISTER

    fields = {"email": ADMIN_EMAIL, "password": PASSWORD, "displayName": "Network admin", "city": "paris"}
    made = post(http, REGISTER, {"input": fields}).json()["data"]["memberRegister"]
    granted = subprocess.run(
        [sys.executable, "-m", "members.admins", "grant", ADMIN_EMAIL],
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert granted.returncode == 0, granted.stderr
    return Person(made["accessToken"], made["member"]["id"], ADMIN_EMAIL, made["refreshToken"])


@pytest.fixture(scope="module")
def world(http, stack, sign_up) -> World:
    return make_world(http, stack, sign_up)


BLOCK = "mutation($input: MemberBlockInput!) { memberBlock(input: $input) { userErrors { code } } }"
GROUP = """mutation($input: GroupCreateInput!) { groupCreate(input: $input) { group { id } userErrors { code } } }"""
JOIN = "mutation($g: ID!) { groupJoin(input: {groupId: $g}) { userErrors { code } } }"
ROLE = """mutation($g: ID!, $m: ID!, $r: GroupRole!) {
  groupRoleSet(input: {groupId: $g, memberId: $m, role: $r}) { userErrors { code } } }"""
APPROVE = """mutation($g: ID!, $m: ID!) {
  groupRequestApprove(input: {groupId: $g, memberId: $m}) { userErrors { code } } }"""


def new_group(world: World, policy: str = "OPEN", visibility: str = "PUBLIC") -> str:
    """A group of the owner's, where group_member is a member and group_admin an admin."""
    fields = {"name": f"Authz {uuid.uuid4().hex[:6]}", "city": "paris", "joinPolicy": policy, "visibility": visibility}
    made = world.gql(GROUP, {"input": fields})
    group = made["groupCreate"]["group"]["id"]
    for who in ("group_member", "group_admin"):
        assert world.gql(JOIN, {"g": group}, who)["groupJoin"]["userErrors"] == []
        if policy == "APPROVAL":
            world.gql(APPROVE, {"g": group, "m": world.people[who].id})
    world.gql(ROLE, {"g": group, "m": world.people["group_admin"].id, "r": "ADMIN"})
    return group


def outing(world: World) -> str:
    document = (
        "mutation($input: OutingCreateInput!) { outingCreate(input: $input) { outing { id } userErrors { code } } }"
    )
    fields = {
        "title": "Jardin des Plantes",
        "category": "PARK",
        "startsAt": START.isoformat(),
        "endsAt": (START + timedelta(hours=2)).isoformat(),
        "venueName": "Jardin des Plantes",
        "location": {"lat": 48.8440, "lon": 2.3596},
        "city": "paris",
        "groupId": world.group,
    }
    made = world.gql(document, {"input": fields})["outingCreate"]
    assert made["userErrors"] == [], made
    return made["outing"]["id"]


def listing(world: World, reserved_by: str | None = None) -> str:
    document = """mutation($input: ListingCreateInput!) { listingCreate(input: $input) {
      listing { id } userErrors { code } } }"""
    fields = {
        "kind": "GIVE",
        "category": "PRAM_STROLLER",
        "title": "Poussette",
        "city": "paris",
        "pickupAddress": "7 rue Saint-Maur, 75011 Paris",
        "pickupLocation": HERE,
    }
    made = world.gql(document, {"input": fields})["listingCreate"]
    assert made["userErrors"] == [], made
    listing_id = made["listing"]["id"]
    if reserved_by:
        reserve = "mutation($l: ID!) { listingReserve(input: {listingId: $l}) { userErrors { code } } }"
        assert world.gql(reserve, {"l": listing_id}, reserved_by)["listingReserve"]["userErrors"] == []
    return listing_id


def shift(world: World) -> str:
    document = """mutation($input: CoopShiftOfferInput!) { coopShiftOffer(input: $input) {
      shift { id } userErrors { code } } }"""
    fields = {
        "groupId": world.group,
        "city": "paris",
        "startsAt": START.isoformat(),
        "endsAt": (START + timedelta(hours=2)).isoformat(),
        "places": 3,
    }
    made = world.gql(document, {"input": fields})["coopShiftOffer"]
    assert made["userErrors"] == [], made
    return made["shift"]["id"]


def trip(world: World) -> tuple[str, list[str]]:
    document = """mutation($input: TripCreateInput!) { tripCreate(input: $input) {
      trip { id rota { date } } userErrors { code } } }"""
    fields = {
        "groupId": world.group,
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
    made = world.gql(document, {"input": fields})["tripCreate"]
    assert made["userErrors"] == [], made
    return made["trip"]["id"], [d["date"] for d in made["trip"]["rota"]]


def contact(world: World) -> str:
    document = """mutation { contactCreate(input: {kind: PAEDIATRICIAN, name: "Dr Authz", city: "paris",
      phone: "+33 1 48 00 00 00"}) { contact { id } userErrors { code } } }"""
    return world.gql(document)["contactCreate"]["contact"]["id"]


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


PICTURE_ADD = """mutation($input: PictureAddInput!) { pictureAdd(input: $input) {
  picture { id } userErrors { code } } }"""


def upload(world: World, who: str, subject_id: str) -> dict:
    """``pictureAdd`` as a multipart request (GraphQL multipart request spec)."""
    operations = {"query": PICTURE_ADD, "variables": {"input": {"subjectId": subject_id, "file": None}}}
    files = {
        "operations": (None, json.dumps(operations), "application/json"),
        "map": (None, json.dumps({"0": ["variables.input.file"]}), "application/json"),
        "0": ("photo.jpg", jpeg(), "image/jpeg"),
    }
    token = world.people[who].token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return world.http.post("/graphql", files=files, headers={**headers, "apollo-require-preflight": "true"}).json()


# -- each mutation's input, about something of the owner's, made fresh for the cell ----------
def _swap_ready(world: World) -> tuple[str, list[str]]:
    trip_id, days = trip(world)
    take = "mutation($t: ID!, $d: String!) { tripVolunteer(input: {tripId: $t, date: $d}) { userErrors { code } } }"
    assert world.gql(take, {"t": trip_id, "d": days[0]})["tripVolunteer"]["userErrors"] == []
    assert world.gql(take, {"t": trip_id, "d": days[1]}, "bystander_driver")["tripVolunteer"]["userErrors"] == []
    return trip_id, days


def _booking(world: World) -> str:
    document = """mutation($s: ID!) { coopShiftBook(input: {shiftId: $s, children: 1}) {
      booking { id } userErrors { code } } }"""
    booker = world.person("Booker")
    assert post(world.http, JOIN, {"g": world.group}, booker.token).json()["data"]["groupJoin"]["userErrors"] == []
    made = post(world.http, document, {"s": shift(world)}, booker.token).json()["data"]["coopShiftBook"]
    assert made["userErrors"] == [], made
    return made["booking"]["id"]


def _swap(world: World) -> tuple[str, str]:
    trip_id, days = _swap_ready(world)
    document = """mutation($t: ID!, $a: String!, $b: String!) {
      tripSwapPropose(input: {tripId: $t, myDate: $a, theirDate: $b}) { swap { id } userErrors { code } } }"""
    made = world.gql(document, {"t": trip_id, "a": days[0], "b": days[1]})["tripSwapPropose"]
    assert made["userErrors"] == [], made
    return made["swap"]["id"], trip_id


def _pending_request(world: World) -> dict:
    group = new_group(world, "APPROVAL")
    newcomer = world.person("Newcomer")
    body = post(world.http, JOIN, {"g": group}, newcomer.token).json()
    assert body["data"]["groupJoin"]["userErrors"] == [], body
    return {"groupId": group, "memberId": newcomer.id}


def _picture(world: World) -> str:
    added = upload(world, "owner", outing(world))["data"]["pictureAdd"]
    assert added["userErrors"] == [], added
    return added["picture"]["id"]


def _notification_of_the_owner(world: World) -> list[str]:
    items = world.gql("{ inbox { nodes { id } } }")["inbox"]["nodes"]
    return [n["id"] for n in items[:1]] or ["bm90aWZpY2F0aW9uOm5vbmU="]


def _fresh_session(world: World, role: str) -> str | None:
    """A new session of ``role`` (memberLogout ends it; the role's own token stays good)."""
    person = world.people[role]
    if person.email is None:
        return None
    login = "mutation($input: MemberLoginInput!) { memberLogin(input: $input) { accessToken } }"
    body = post(world.http, login, {"input": {"email": person.email, "password": PASSWORD}}).json()
    return body["data"]["memberLogin"]["accessToken"]


def thread(world: World, kind: str = "DISCUSSION", author: str = "owner") -> str:
    """A thread of the owner's (or the keeper's, their co-admin's) in their private group: two
    authors, as the matrix posts more threads than one member may in an hour."""
    document = """mutation($input: DiscussionThreadCreateInput!) { discussionThreadCreate(input: $input) {
      thread { id } userErrors { code } } }"""
    fields = {"groupId": world.private, "title": "Qui connaît une pédiatre ?", "body": "Près du canal", "kind": kind}
    made = world.gql(document, {"input": fields}, author)["discussionThreadCreate"]
    assert made["userErrors"] == [], made
    return made["thread"]["id"]


def question(world: World) -> str:
    """A question of an owner of its own to the city: a new asker each time (a member may ask
    only so many an hour) who, like the owner, blocked ``blocked``."""
    asker = world.person("Asker")
    assert post(world.http, BLOCK, {"input": {"memberId": world.people["blocked"].id}}, asker.token).json()["data"]
    world.people["asker"] = asker
    made = world.gql(QUESTION_ASK, {"input": {"text": "Une pédiatre près du canal ?", "scope": "CITY"}}, "asker")
    assert made["questionAsk"]["userErrors"] == [], made
    return made["questionAsk"]["question"]["id"]


def answer(world: World, question_id: str, author: str, contact: dict | None = None) -> str:
    document = """mutation($input: QuestionAnswerInput!) { questionAnswer(input: $input) {
      answer { id } userErrors { code } } }"""
    fields = {"questionId": question_id, "text": "La Dr Amrani, rue de Lancry", "contact": contact}
    made = world.gql(document, {"input": fields}, author)["questionAnswer"]
    assert made["userErrors"] == [], made
    return made["answer"]["id"]


def _recommending_answer(world: World) -> str:
    """A bystander's answer recommending a trusted contact, to the asker's question: only the
    asker (or the answer's author) saves it to the directory from the answer."""
    card = {
        "kind": "paediatrician",
        "name": f"Dr Amrani {uuid.uuid4().hex[:6]}",
        "phone": "+33 1 48 00 00 02",
        "city": "paris",
    }
    return answer(world, question(world), "bystander", card)


def _message_request(world: World) -> str:
    """A message request from a stranger (the bystander) to the owner: the owner's to decide."""
    document = """mutation($input: MessageSendInput!) { messageSend(input: $input) {
      conversation { id } userErrors { code } } }"""
    stranger = world.person("Stranger")
    fields = {"recipientId": world.people["owner"].id, "text": "Bonjour, la poussette est-elle libre ?"}
    made = post(world.http, document, {"input": fields}, stranger.token).json()["data"]["messageSend"]
    assert made["userErrors"] == [], made
    return made["conversation"]["id"]


def _report(world: World) -> str:
    """A bystander's report on an outing in the owner's group: in that group's queue."""
    made = world.gql(REPORT, {"input": {"subjectId": outing(world), "reason": "MISLEADING"}}, "bystander")
    assert made["contentReport"]["userErrors"] == [], made
    return made["contentReport"]["report"]["id"]


INPUTS: dict[str, Callable[[World, str], dict]] = {
    "cityOpen": lambda w, r: {"geonamesId": 1, "languages": ["fr"]},
    "networkAdminGrant": lambda w, r: {"memberId": w.person("Candidate").id},
    "pictureAdd": lambda w, r: {"subjectId": outing(w)},
    "pictureRemove": lambda w, r: {"pictureId": _picture(w)},
    "calendarFeedRotate": lambda w, r: {"groupId": w.group},
    "calendarFeedRevoke": lambda w, r: {},
    "notificationsMarkRead": lambda w, r: {"ids": _notification_of_the_owner(w)},
    "memberRegister": lambda w, r: {
        "email": f"authz-{uuid.uuid4().hex[:10]}@example.org",
        "password": PASSWORD,
        "displayName": "Newcomer",
        "city": "paris",
    },
    "memberLogin": lambda w, r: {"email": w.people["bystander"].email, "password": PASSWORD},
    "memberTokenRefresh": lambda w, r: {"refreshToken": w.person("Refresher").refresh},
    "memberLogout": lambda w, r: {},
    "memberUpdateProfile": lambda w, r: {"languages": ["fr", "en"]},
    "memberBlock": lambda w, r: {"memberId": w.person("Stranger").id},
    "memberUnblock": lambda w, r: {"memberId": w.people["bystander"].id},
    "groupCreate": lambda w, r: {"name": f"Authz {uuid.uuid4().hex[:6]}", "city": "paris"},
    "groupJoin": lambda w, r: {"groupId": new_group(w)},
    "groupLeave": lambda w, r: {"groupId": new_group(w)},
    "groupRequestApprove": lambda w, r: _pending_request(w),
    "groupRequestDecline": lambda w, r: _pending_request(w),
    "groupRoleSet": lambda w, r: {"groupId": w.group, "memberId": w.people["bystander_driver"].id, "role": "MEMBER"},
    "coopShiftOffer": lambda w, r: {
        "groupId": w.group,
        "city": "paris",
        "startsAt": START.isoformat(),
        "endsAt": (START + timedelta(hours=2)).isoformat(),
        "places": 2,
    },
    "coopShiftBook": lambda w, r: {"shiftId": shift(w), "children": 1},
    "coopBookingCancel": lambda w, r: {"bookingId": _booking(w)},
    "coopFloorSet": lambda w, r: {"groupId": w.group, "floorChildHours": -10},
    "tripCreate": lambda w, r: {
        "groupId": w.group,
        "title": "Pédibus",
        "mode": "WALK",
        "weekdays": [0, 2],
        "time": "08:15",
        "city": "paris",
        "meetingPoint": "Square du Temple",
        "meetingLocation": HERE,
        "destination": "École Vaucanson",
        "seats": 4,
    },
    "tripJoin": lambda w, r: {"tripId": trip(w)[0], "children": ["Lina"]},
    "tripVolunteer": lambda w, r: (lambda t: {"tripId": t[0], "date": t[1][2]})(trip(w)),
    "tripSwapPropose": lambda w, r: (lambda t: {"tripId": t[0], "myDate": t[1][0], "theirDate": t[1][1]})(
        _swap_ready(w)
    ),
    "tripSwapAccept": lambda w, r: (lambda s: {"swapId": s[0], "tripId": s[1]})(_swap(w)),
    "listingCreate": lambda w, r: {
        "kind": "GIVE",
        "category": "TOYS",
        "title": "Jouets",
        "city": "paris",
        "pickupLocation": HERE,
    },
    "listingRenew": lambda w, r: {"listingId": listing(w)},
    "listingReserve": lambda w, r: {"listingId": listing(w)},
    "listingReservationAccept": lambda w, r: {"listingId": listing(w, reserved_by="bystander")},
    "listingReservationDecline": lambda w, r: {"listingId": listing(w, reserved_by="bystander")},
    "listingComplete": lambda w, r: {"listingId": listing(w, reserved_by="bystander")},
    "listingWithdraw": lambda w, r: {"listingId": listing(w)},
    "contactCreate": lambda w, r: {
        "kind": "CHILDMINDER",
        "name": "Nounou",
        "city": "paris",
        "phone": "+33 1 48 00 00 01",
        "groupId": w.group,
    },
    "contactRecommend": lambda w, r: {"contactId": contact(w)},
    "outingCreate": lambda w, r: {
        "title": "Zoo",
        "category": "ZOO",
        "startsAt": START.isoformat(),
        "endsAt": (START + timedelta(hours=2)).isoformat(),
        "venueName": "Ménagerie",
        "location": {"lat": 48.8440, "lon": 2.3596},
        "city": "paris",
        "groupId": w.group,
    },
    "outingUpdate": lambda w, r: {"outingId": outing(w), "title": "Renamed"},
    "outingCancel": lambda w, r: {"outingId": outing(w)},
    "outingJoin": lambda w, r: {"outingId": outing(w)},
    "outingLeave": lambda w, r: {"outingId": outing(w)},
    "discussionThreadCreate": lambda w, r: {"groupId": w.private, "title": "Poussettes", "kind": "DISCUSSION"},
    "discussionThreadModerate": lambda w, r: {"threadId": thread(w), "pinned": True},
    "discussionReplyCreate": lambda w, r: {"threadId": thread(w), "text": "Moi aussi"},
    "discussionSuggestionSupport": lambda w, r: {"threadId": thread(w, "SUGGESTION", "keeper")},
    "discussionSuggestionAnswer": lambda w, r: {"threadId": thread(w, "SUGGESTION"), "text": "Bonne idée"},
    "questionAsk": lambda w, r: {"text": "Un square ombragé ?", "scope": "CITY"},
    "questionAnswer": lambda w, r: {"questionId": question(w), "text": "Le square du Temple"},
    "answerMarkHelpful": lambda w, r: {"answerId": answer(w, question(w), "bystander"), "helpful": True},
    "answerContactSave": lambda w, r: {"answerId": _recommending_answer(w)},
    "messageSend": lambda w, r: {"recipientId": w.people["owner"].id, "text": "Bonjour"},
    "messageRequestAccept": lambda w, r: {"conversationId": _message_request(w)},
    "messageRequestDecline": lambda w, r: {"conversationId": _message_request(w)},
    "conversationUpdate": lambda w, r: {"conversationId": _message_request(w), "muted": True},
    "contentReport": lambda w, r: {"subjectId": thread(w, author="keeper"), "reason": "SPAM"},
    "moderationAct": lambda w, r: {"reportId": _report(w), "action": "DISMISS", "reason": "Nothing wrong"},
    "networkModeratorGrant": lambda w, r: {"memberId": w.person("Candidate").id},
}


def outcome(body: dict, name: str) -> str:
    """``ok``, a userErrors code, or ``!CODE`` for a top-level error."""
    if body.get("errors"):
        return "!" + str(body["errors"][0].get("extensions", {}).get("code"))
    errors = (body["data"][name] or {}).get("userErrors") or []
    return errors[0]["code"] if errors else "ok"


def run_cell(world: World, name: str, role: str) -> str:
    if "bystander_driver" not in world.people:
        driver = world.person("Driver")
        world.people["bystander_driver"] = driver
        assert world.gql(JOIN, {"g": world.group}, "bystander_driver")["groupJoin"]["userErrors"] == []
    variables = INPUTS[name](world, role)
    if name == "pictureAdd":
        return outcome(upload(world, role, variables["subjectId"]), name)
    token = _fresh_session(world, role) if name == "memberLogout" else world.people[role].token
    input_type = schema_mutations()[name]
    document = f"mutation($input: {input_type}) {{ {name}(input: $input) {{ userErrors {{ code }} }} }}"
    return outcome(post(world.http, document, {"input": variables}, token).json(), name)


def cells():
    for name, row in MATRIX.items():
        for role in ROLES:
            bug = KNOWN_BUGS.get((name, role))
            marks = [pytest.mark.xfail(reason=bug, strict=True)] if bug else []
            yield pytest.param(name, role, row[role], id=f"{name}-{role}", marks=marks)


@pytest.mark.parametrize(("name", "role", "expected"), list(cells()))
def test_authorization_matrix(world, name, role, expected):
    assert run_cell(world, name, role) == expected


# -- the bus: a raw RPC, as any process could send -------------------------------------------
def test_a_raw_rpc_claiming_to_be_a_group_admin_or_with_a_forged_identity_is_refused(world, stack):
    """Sent straight to the events service over RabbitMQ, not through the gateway: a member of
    the group claiming ``actor_is_group_admin``, a token signed with another key, and a token
    for another service, each trying to change the owner's outing. All refused; it is unchanged."""
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ClusterRpcProxy

    from gateway.ids import from_global_id

    outing_id = from_global_id(outing(world))[1]
    member = from_global_id(world.people["group_member"].id)[1]
    admin = from_global_id(world.people["group_admin"].id)[1]
    config = {"AMQP_URI": stack.env["AMQP_URI"]}
    forger = identity.IdentitySigner(generate_key_pair()[0])
    private = Path(stack.run_dir / "keys" / "identity-private.pem").read_bytes()
    genuine = identity.IdentitySigner(private)

    def events(token: str | None):
        return ClusterRpcProxy(config, context_data={identity.HEADER: token} if token else {}, timeout=20)

    # A genuine token of a group member, claiming the admin role: the role is asked of members.
    with events(genuine.token(member, "events")) as cluster:
        claimed = cluster.events.update_outing(outing_id, member, {"title": "Hijacked"}, "occurrence", True)
        cancelled = cluster.events.cancel_outing(outing_id, member, "occurrence", True)
    assert [e["code"] for e in claimed["errors"]] == ["FORBIDDEN"]
    assert [e["code"] for e in cancelled["errors"]] == ["FORBIDDEN"]
    # The group admin's id with a forged token, a token for another service, or another member's.
    for token in (forger.token(admin, "events"), genuine.token(admin, "listings"), genuine.token(member, "events")):
        with events(token) as cluster, pytest.raises(RemoteError) as refused:
            cluster.events.cancel_outing(outing_id, admin, "occurrence", True)
        assert refused.value.exc_type == "Forbidden"
    # No token at all: services require one by default (config.yml, INTERNAL_IDENTITY_REQUIRED).
    with events(None) as cluster, pytest.raises(RemoteError) as refused:
        cluster.events.cancel_outing(outing_id, admin, "occurrence", True)
    assert refused.value.exc_type == "Forbidden"
    with events(None) as cluster:
        now = cluster.events.get_outing(outing_id)
    assert now["status"] == "published" and now["title"] == "Jardin des Plantes"


@pytest.mark.parametrize(
    ("service", "method", "args"),
    [
        ("members", "viewer", lambda m: (m,)),
        ("events", "mark_read", lambda m: (m, [])),
        ("listings", "renew_listing", lambda m: ("listing:none", m)),
        ("moderation", "mark_read", lambda m: (m, [])),
        ("conversations", "mark_read", lambda m: (m, [])),
    ],
)
def test_a_raw_rpc_acting_for_a_member_without_a_token_is_refused_by_default(world, stack, service, method, args):
    """Every service, as configured by default (its config.yml), refuses a call over RabbitMQ
    that names a member and carries no identity token: only the gateway may say who acts."""
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ClusterRpcProxy

    from gateway.ids import from_global_id

    member = from_global_id(world.people["group_member"].id)[1]
    with (
        ClusterRpcProxy({"AMQP_URI": stack.env["AMQP_URI"]}, timeout=20) as cluster,
        pytest.raises(RemoteError) as refused,
    ):
        getattr(getattr(cluster, service), method)(*args(member))
    assert refused.value.exc_type == "Forbidden", refused.value
