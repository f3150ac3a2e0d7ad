"""Internal identity tried as an attacker on the RabbitMQ network: raw nameko RPCs, sent with
``ClusterRpcProxy`` as any process on the bus could, naming a victim member (Alice): with no
token, a forged one, an expired one, one for another service, another member's genuine one and
an empty one.

Every method that acts or reads as a member refuses them all (``CHECKED``). Reads about a member
(members' blocks and groups, moderation's record) accept her genuine token relayed by another
service (events asks members for her groups while it serves her request, carrying the token the
gateway signed for events), so "for another service" is not refused there; every other bad
token is, and a tokenless caller learns nothing private (the ``test_a_tokenless_caller_*``).
From the stop-26 review (its findings, then failing, now hold).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import post
from test_attendance_end_to_end import JOIN
from test_listings_end_to_end import ADDRESS, stroller
from test_listings_end_to_end import CREATE as LISTING_CREATE
from test_my_outings_end_to_end import GROUP
from test_outing_end_to_end import CREATE as OUTING_CREATE
from test_outing_end_to_end import proposal

from gateway.ids import from_global_id
from parentnet_kit import identity
from parentnet_kit.testing import wait_for
from parentnet_kit.tokens import generate_key_pair

BLOCK = "mutation($id: ID!) { memberBlock(input: {memberId: $id}) { userErrors { code } } }"
NEARBY = """query($near: GeoPointInput!) { nearbyOutings(near: $near, radiusKm: 2, first: 50) {
  nodes { id } } }"""
# Annecy's north-west, 5 km from what other e2e tests place there (the outing-sort and stroller
# tests count what lies within 2.5 and 3 km of the centre, 45.8992, 6.1294).
WHERE = {"lat": 45.9300, "lon": 6.0800}


def local(global_id: str) -> str:
    return from_global_id(global_id)[1]


@pytest.fixture(scope="module")
def scene(stack, gql, sign_up, http):
    """Alice (the victim) has a listing with her exact pickup address, a private group with an
    outing in it, a place at Bob's public outing, and a block of Carol."""
    alice, bob, carol = sign_up("Alice", "annecy"), sign_up("Bob", "annecy"), sign_up("Carol", "annecy")
    listing = gql(LISTING_CREATE, {"input": stroller("GIVE", WHERE, city="annecy")}, token=alice["token"])
    listing = listing["listingCreate"]["listing"]
    assert listing["pickupAddress"] == ADDRESS
    made = gql(GROUP, {"name": f"Refuge {uuid.uuid4().hex[:6]}", "visibility": "PRIVATE"}, token=alice["token"])
    group = made["groupCreate"]["group"]["id"]
    inside = proposal("Goûter caché", WHERE["lat"], WHERE["lon"], groupId=group, city="annecy")
    hidden = gql(OUTING_CREATE, {"input": inside}, token=alice["token"])["outingCreate"]["outing"]["id"]
    public = proposal("Parc public", WHERE["lat"], WHERE["lon"] + 0.001, city="annecy")
    public_id = gql(OUTING_CREATE, {"input": public}, token=bob["token"])["outingCreate"]["outing"]["id"]
    assert gql(JOIN, {"id": public_id}, token=alice["token"])["outingJoin"]["userErrors"] == []
    assert gql(BLOCK, {"id": carol["id"]}, token=alice["token"])["memberBlock"]["userErrors"] == []

    # The private outing is indexed (Alice finds it): what search answers below is not a lag.
    def indexed() -> bool:
        nodes = post(http, NEARBY, {"near": WHERE}, alice["token"]).json()["data"]["nearbyOutings"]["nodes"]
        return hidden in [n["id"] for n in nodes]

    wait_for(indexed, 15, what="the private group's outing indexed")
    return {
        "alice": local(alice["id"]),
        "alice_token": alice["token"],
        "bob": local(bob["id"]),
        "carol": local(carol["id"]),
        "listing": local(listing["id"]),
        "group": local(group),
        "hidden_outing": local(hidden),
        "public_outing": local(public_id),
    }


def bus(stack, token: str | None = None):
    from nameko.standalone.rpc import ClusterRpcProxy

    context = {identity.HEADER: token} if token is not None else {}
    return ClusterRpcProxy({"AMQP_URI": stack.env["AMQP_URI"]}, context_data=context, timeout=20)


def answer_or_refusal(stack, service: str, method: str, *args: Any, token: str | None = None) -> Any:
    """The RPC's answer, or the string "Forbidden" when it raised that remote error."""
    from nameko.exceptions import RemoteError

    with bus(stack, token) as cluster:
        try:
            return getattr(getattr(cluster, service), method)(*args)
        except RemoteError as error:
            if error.exc_type == "Forbidden":
                return "Forbidden"
            raise


# -- what held: every checked method refuses every bad token --------------------------------
# (service, method, args for victim m and another member o). Arguments are chosen so that the
# method would act or read as m; nothing is created when the refusal holds.
Row = tuple[str, str, Callable[[str, str], tuple]]
CHECKED: list[Row] = [
    ("members", "logout", lambda m, o: (m, "session:none", True)),
    ("members", "viewer", lambda m, o: (m,)),
    ("members", "update_profile", lambda m, o: (m, {"display_name": "Pwned"})),
    ("members", "get_members", lambda m, o: ([o], m)),
    ("members", "parents_nearby", lambda m, o: (m,)),
    ("members", "block", lambda m, o: (m, o)),
    ("members", "unblock", lambda m, o: (m, o)),
    ("members", "create_group", lambda m, o: (m, {"name": "Pwned", "city": "annecy"})),
    ("members", "join_group", lambda m, o: (m, "group:none")),
    ("members", "leave_group", lambda m, o: (m, "group:none")),
    ("members", "decide_request", lambda m, o: (m, "group:none", o, True)),
    ("members", "set_role", lambda m, o: (m, "group:none", o, "admin")),
    ("members", "get_groups", lambda m, o: (["group:none"], m)),
    ("members", "list_groups", lambda m, o: ("annecy", m)),
    ("members", "group_members", lambda m, o: ("group:none", m)),
    ("members", "open_city", lambda m, o: (m, {})),
    ("members", "grant_network_admin", lambda m, o: (m, o)),
    ("members", "picture_add", lambda m, o: ("member", m, m, [])),
    ("members", "picture_remove", lambda m, o: ("member", m, "picture:none", m)),
    ("events", "create_outing", lambda m, o: ({}, m)),
    ("events", "update_outing", lambda m, o: ("outing:none", m, {})),
    ("events", "cancel_outing", lambda m, o: ("outing:none", m)),
    ("events", "join_outing", lambda m, o: ("outing:none", m)),
    ("events", "leave_outing", lambda m, o: ("outing:none", m)),
    ("events", "calendar_feed_rotate", lambda m, o: (m,)),
    ("events", "calendar_feed_revoke", lambda m, o: (m,)),
    ("events", "inbox", lambda m, o: (m,)),
    ("events", "mark_read", lambda m, o: (m, [])),
    ("events", "coop_offer", lambda m, o: (m, "group:none", {})),
    ("events", "coop_book", lambda m, o: ("shift:none", m, 1)),
    ("events", "coop_cancel", lambda m, o: ("booking:none", m)),
    ("events", "coop_balance", lambda m, o: ("group:none", m)),
    ("events", "trip_create", lambda m, o: (m, "group:none", {})),
    ("events", "trip_join", lambda m, o: ("trip:none", m, [])),
    ("events", "trip_volunteer", lambda m, o: ("trip:none", m, "2031-01-06")),
    ("events", "trip_swap_propose", lambda m, o: ("trip:none", m, "2031-01-06", "2031-01-07")),
    ("events", "trip_swap_accept", lambda m, o: ("swap:none", m)),
    ("events", "picture_add", lambda m, o: ("outing", "outing:none", m, [])),
    ("events", "picture_remove", lambda m, o: ("outing", "outing:none", "picture:none", m)),
    ("listings", "create_listing", lambda m, o: ({}, m)),
    ("listings", "renew_listing", lambda m, o: ("listing:none", m)),
    ("listings", "reserve_listing", lambda m, o: ("listing:none", m)),
    ("listings", "decide_reservation", lambda m, o: ("listing:none", m, True)),
    ("listings", "complete_listing", lambda m, o: ("listing:none", m)),
    ("listings", "withdraw_listing", lambda m, o: ("listing:none", m)),
    ("listings", "place_owner", lambda m, o: (m, False)),
    ("listings", "add_contact", lambda m, o: ({}, m)),
    ("listings", "recommend_contact", lambda m, o: ("contact:none", m)),
    ("listings", "picture_add", lambda m, o: ("listing", "listing:none", m, [])),
    ("listings", "picture_remove", lambda m, o: ("listing", "listing:none", "picture:none", m)),
    ("conversations", "create_thread", lambda m, o: ("group:none", m, {})),
    ("conversations", "moderate_thread", lambda m, o: ("thread:none", m, True)),
    ("conversations", "support_thread", lambda m, o: ("thread:none", m)),
    ("conversations", "answer_suggestion", lambda m, o: ("thread:none", m, {})),
    ("conversations", "reply", lambda m, o: ("thread:none", m, {})),
    ("conversations", "ask", lambda m, o: (m, {}, "annecy", {})),
    ("conversations", "questions_nearby", lambda m, o: (m, "annecy", None)),
    ("conversations", "answer", lambda m, o: ("question:none", m, {}, None, None)),
    ("conversations", "mark_helpful", lambda m, o: ("answer:none", m)),
    ("conversations", "contact_card", lambda m, o: ("answer:none", m)),
    ("conversations", "link_contact", lambda m, o: ("answer:none", m, "contact:none")),
    ("conversations", "send_message", lambda m, o: (m, {"text": "hi", "recipient_id": o})),
    ("conversations", "get_conversations", lambda m, o: ([], m)),
    ("conversations", "conversations_of", lambda m, o: (m,)),
    ("conversations", "messages", lambda m, o: ("conversation:none", m)),
    ("conversations", "get_messages", lambda m, o: ([], m)),
    ("conversations", "decide_request", lambda m, o: ("conversation:none", m, True)),
    ("conversations", "set_participant", lambda m, o: ("conversation:none", m, {"muted": True})),
    ("conversations", "snapshot", lambda m, o: ("message", "message:none", m)),
    ("conversations", "inbox", lambda m, o: (m,)),
    ("conversations", "mark_read", lambda m, o: (m, [])),
    ("conversations", "get_threads", lambda m, o: ([], m)),
    ("conversations", "group_threads", lambda m, o: ("group:none", m)),
    ("conversations", "replies", lambda m, o: ("thread:none", m)),
    ("conversations", "get_replies", lambda m, o: ([], m)),
    ("conversations", "get_questions", lambda m, o: ([], m)),
    ("conversations", "answers", lambda m, o: ("question:none", m, None, None)),
    ("conversations", "get_answers", lambda m, o: ([], m)),
    ("moderation", "report", lambda m, o: (m, {})),
    ("moderation", "queue", lambda m, o: (m,)),
    ("moderation", "audit_log", lambda m, o: (m,)),
    ("moderation", "act", lambda m, o: (m, {})),
    ("moderation", "is_network_moderator", lambda m, o: (m,)),
    ("moderation", "grant_moderator", lambda m, o: (m, o)),
    ("moderation", "inbox", lambda m, o: (m,)),
    ("moderation", "mark_read", lambda m, o: (m, [])),
    # Checked since the review: where a member is going, her listings and notices.
    ("events", "member_outings", lambda m, o: (m,)),
    ("events", "places_of", lambda m, o: (m, ["outing:none"])),
    ("events", "coop_place_host", lambda m, o: (m,)),
    ("listings", "listings_of", lambda m, o: (m,)),
    ("listings", "inbox", lambda m, o: (m,)),
    ("listings", "mark_read", lambda m, o: (m, [])),
]
# Reads about a member: her token relayed by another service is hers (see the module's doc).
ABOUT: list[Row] = [
    ("members", "block_relations", lambda m, o: (m,)),
    ("members", "blocked_by", lambda m, o: (m,)),
    ("members", "member_groups", lambda m, o: (m,)),
    ("moderation", "member_status", lambda m, o: ([m],)),
]


def refused(answer: Any) -> bool:
    """A ``Forbidden`` remote error, or an answer whose only error is ``FORBIDDEN``."""
    if answer == "Forbidden":
        return True
    if isinstance(answer, dict):
        return [e.get("code") for e in answer.get("errors") or []] == ["FORBIDDEN"]
    return False


def tokens(stack, victim: str, other: str) -> dict[str, Callable[[str], str | None]]:
    private = Path(stack.run_dir / "keys" / "identity-private.pem").read_bytes()
    genuine = identity.IdentitySigner(private)
    forger = identity.IdentitySigner(generate_key_pair()[0])
    return {
        "none": lambda service: None,
        "forged": lambda service: forger.token(victim, service),
        "expired": lambda service: genuine.token(victim, service, now=time.time() - 600),
        "for another service": lambda service: genuine.token(victim, "events" if service != "events" else "listings"),
        "another member's": lambda service: genuine.token(other, service),
        "empty": lambda service: "",
    }


@pytest.mark.parametrize("kind", ["none", "forged", "expired", "for another service", "another member's", "empty"])
def test_every_checked_method_refuses_a_bad_token(stack, scene, kind):
    """Each of the 92 methods the services check, named for the victim, is refused with each
    bad token (collected, so one miss does not hide the others)."""
    make = tokens(stack, scene["alice"], scene["bob"])[kind]
    answered = {}
    for service, method, args in CHECKED:
        answer = answer_or_refusal(stack, service, method, *args(scene["alice"], scene["bob"]), token=make(service))
        if not refused(answer):
            answered[f"{service}.{method}"] = answer
    assert answered == {}


@pytest.mark.parametrize("kind", ["none", "forged", "expired", "another member's", "empty"])
def test_reads_about_a_member_refuse_a_bad_token(stack, scene, kind):
    """Whom she blocked, who blocked her, her groups and her moderation record; viewer_context
    gives another member's token only whether she is in protected mode."""
    make = tokens(stack, scene["alice"], scene["bob"])[kind]
    answered = {}
    for service, method, args in ABOUT:
        answer = answer_or_refusal(stack, service, method, *args(scene["alice"], scene["bob"]), token=make(service))
        if not refused(answer):
            answered[f"{service}.{method}"] = answer
    context = answer_or_refusal(stack, "members", "viewer_context", scene["alice"], token=make("members"))
    if context != "Forbidden" and (context["blocked"] or context["groups"]):
        answered["members.viewer_context"] = context
    assert answered == {}


def test_the_victims_own_token_is_still_accepted(stack, scene):
    """The control: the refusals above are the token's doing, not the arguments'."""
    private = Path(stack.run_dir / "keys" / "identity-private.pem").read_bytes()
    genuine = identity.IdentitySigner(private)
    alice = scene["alice"]
    viewer = answer_or_refusal(stack, "members", "viewer", alice, token=genuine.token(alice, "members"))
    assert viewer["id"] == alice
    inbox = answer_or_refusal(stack, "events", "inbox", alice, token=genuine.token(alice, "events"))
    assert "items" in inbox or "nodes" in inbox or isinstance(inbox, dict)
    (view,) = answer_or_refusal(
        stack, "listings", "get_listings", [scene["listing"]], alice, token=genuine.token(alice, "listings")
    )
    assert view["pickup_address"] == ADDRESS
    going = answer_or_refusal(stack, "events", "member_outings", alice, token=genuine.token(alice, "events"))
    assert scene["public_outing"] in [i["outing"]["id"] for i in going["items"]]
    # Her token, relayed by events (as MemberFacts asks while serving her): her blocks and groups.
    context = answer_or_refusal(stack, "members", "viewer_context", alice, token=genuine.token(alice, "events"))
    assert scene["carol"] in context["blocked"] and scene["group"] in context["groups"]
    # Bob's token about Alice (a sender asking about a recipient): protected mode only.
    seen = answer_or_refusal(stack, "members", "viewer_context", alice, token=genuine.token(scene["bob"], "members"))
    assert seen == {"blocked": [], "blocked_by": [], "groups": {}, "protected": False}


# -- the review's findings: member-naming methods that answered a caller with no token ---------
def test_a_tokenless_caller_gets_no_pickup_address(stack, scene):
    """listings.get_listings(ids, viewer_id) and listings.listings_of(owner_id) took the member
    they name on the caller's word: naming the owner returned her exact pickup address and point
    (often her home), which the gateway shows only to her and her accepted reserver."""
    alice = scene["alice"]
    (view,) = [
        v
        for v in [answer_or_refusal(stack, "listings", "get_listings", [scene["listing"]], alice)]
        if v == "Forbidden" or v[0] is not None
    ]
    leaked = {}
    if view != "Forbidden":
        leaked["get_listings"] = {k: view[0].get(k) for k in ("pickup_address", "pickup_location") if k in view[0]}
    mine = answer_or_refusal(stack, "listings", "listings_of", alice)
    if mine != "Forbidden":
        leaked["listings_of"] = [v.get("pickup_address") for v in mine["listings"] if "pickup_address" in v]
    assert {k: v for k, v in leaked.items() if v} == {}


def test_a_tokenless_caller_cannot_read_or_mark_listing_notices(stack, scene):
    """listings.inbox(member_id) and listings.mark_read(member_id, ids) checked no identity:
    anyone on the bus read a member's listing notices (matches, reservations) and marked them read."""
    alice = scene["alice"]
    answers = {
        "inbox": answer_or_refusal(stack, "listings", "inbox", alice),
        "mark_read": answer_or_refusal(stack, "listings", "mark_read", alice, []),
    }
    assert answers == {"inbox": "Forbidden", "mark_read": "Forbidden"}


def test_a_tokenless_caller_is_not_told_where_a_member_is_going(stack, scene):
    """events.member_outings(member_id) and events.places_of(member_id, ids) checked no identity,
    though the gateway answers Member.outings for the viewer only: any process on the bus learned
    which outings a member organizes and goes to, when and where. events.coop_place_host(host_id),
    a write, checked none either."""
    alice = scene["alice"]
    outings = answer_or_refusal(stack, "events", "member_outings", alice)
    places = answer_or_refusal(stack, "events", "places_of", alice, [scene["public_outing"]])
    placed = answer_or_refusal(stack, "events", "coop_place_host", alice)
    seen = {
        "member_outings": outings if outings == "Forbidden" else sorted(i["state"] for i in outings["items"]),
        "places_of": places if places == "Forbidden" else [p and p.get("status") for p in places],
        "coop_place_host": placed,
    }
    assert seen == {"member_outings": "Forbidden", "places_of": "Forbidden", "coop_place_host": "Forbidden"}


def test_a_tokenless_caller_is_not_told_whom_a_member_blocked_nor_her_groups(stack, scene):
    """members.viewer_context, block_relations, blocked_by and member_groups answered anyone on
    the bus ("the bus is still trusted for reads"). Whom a vulnerable member blocked and the
    private groups she is in are exactly what she would not tell."""
    alice = scene["alice"]
    told = {}
    context = answer_or_refusal(stack, "members", "viewer_context", alice)
    if context != "Forbidden" and scene["carol"] in context["blocked"]:
        told["viewer_context"] = "blocked Carol; groups " + ",".join(context["groups"])
    relations = answer_or_refusal(stack, "members", "block_relations", alice)
    if relations != "Forbidden" and scene["carol"] in relations["blocked"]:
        told["block_relations"] = "blocked Carol"
    blocked_by = answer_or_refusal(stack, "members", "blocked_by", scene["carol"])
    if blocked_by != "Forbidden" and alice in blocked_by:
        told["blocked_by"] = "Carol is blocked by Alice"
    groups = answer_or_refusal(stack, "members", "member_groups", alice)
    if groups != "Forbidden" and any(g.get("visibility") == "private" or g["id"] == scene["group"] for g in groups):
        told["member_groups"] = "her private group"
    assert told == {}


def test_a_tokenless_caller_is_not_told_a_members_moderation_record(stack, scene):
    """moderation.member_status(member_ids) checked no identity: anyone on the bus read whether a
    member is suspended or held for review and how many warnings she has."""
    status = answer_or_refusal(stack, "moderation", "member_status", [scene["alice"]])
    assert status == "Forbidden", status
