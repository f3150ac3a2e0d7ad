"""As an attacker on the RabbitMQ network (a second review's tests): raw nameko RPCs with no
token, a forged one, another member's genuine one, one for another service, and the backfill's
operator token for the wrong service. What a private group's outsider (Bob) can learn of Alice's
private group and of Alice herself.

Every case holds: school runs, riders and shifts are the group's members' only (events
``_sees_group``); reads by id (events' get_outing(s), listings' get_contacts) answer what the
verified viewer may see, as the API does (they answered anyone with the id until stop 28); an
email names its member to moderation.roles' token only."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from test_backfill_guard import _signer, bus
from test_community_end_to_end import TRIP_CREATE, TRIP_JOIN, school_run
from test_conversations_end_to_end import start_thread
from test_my_outings_end_to_end import GROUP
from test_outing_end_to_end import CREATE as OUTING_CREATE
from test_outing_end_to_end import proposal

from gateway.ids import from_global_id
from parentnet_kit import identity
from parentnet_kit.testing import wait_for
from parentnet_kit.tokens import generate_key_pair

CONTACT = """mutation($input: ContactCreateInput!) { contactCreate(input: $input) { contact { id }
  userErrors { field code } } }"""
# A corner of Montréal no other test places anything near.
PLACE = {"lat": 45.5900, "lon": -73.6800}


def local(global_id: str) -> str:
    return from_global_id(global_id)[1]


def forged(member: str, service: str) -> str:
    """A well-formed token signed with a key the deployment does not hold."""
    private_pem, _public = generate_key_pair()
    return identity.IdentitySigner(private_pem).token(member, service)


@pytest.fixture(scope="module")
def secret(stack, gql, sign_up):
    """Alice's private group with an outing and a school run (her child named), Bob outside."""
    alice, bob = sign_up("Alice"), sign_up("Bob")
    tag = uuid.uuid4().hex[:8]
    group = gql(GROUP, {"name": f"Cachette {tag}", "visibility": "PRIVATE"}, token=alice["token"])
    group_id = group["groupCreate"]["group"]["id"]
    inside = proposal(f"Goûter secret {tag}", PLACE["lat"], PLACE["lon"], groupId=group_id, city="montreal")
    outing = gql(OUTING_CREATE, {"input": inside}, token=alice["token"])["outingCreate"]["outing"]["id"]

    def trip() -> str | None:
        made = gql(TRIP_CREATE, {"input": school_run(group_id, title=f"Pédibus {tag}")}, token=alice["token"])
        made = made["tripCreate"]
        return made["trip"]["id"] if made["trip"] else None

    trip_id = wait_for(trip, 15, what="the private group's school run created")
    gql(TRIP_JOIN, {"t": trip_id, "c": [f"Lina-{tag}"]}, token=alice["token"])
    contact = gql(
        CONTACT,
        {
            "input": {
                "kind": "PAEDIATRICIAN",
                "name": f"Dr Secret {tag}",
                "city": "paris",
                "groupId": group_id,
                "phone": "+33 1 23 45 67 89",
            }
        },
        token=alice["token"],
    )["contactCreate"]
    assert contact["userErrors"] == [], contact
    thread = start_thread(gql, alice["token"], group_id, title=f"Entre nous {tag}")["id"]
    return {
        "global": {"contact": contact["contact"]["id"], "thread": thread, "trip": trip_id, "outing": outing},
        "bob_token": bob["token"],
        "contact": local(contact["contact"]["id"]),
        "thread": local(thread),
        "alice": local(alice["id"]),
        "alice_email": alice["email"],
        "bob": local(bob["id"]),
        "group": local(group_id),
        "outing": local(outing),
        "trip": local(trip_id),
        "child": f"Lina-{tag}",
        "tag": tag,
    }


def _tokens(stack, bob: str, service: str) -> dict[str, str | None]:
    """Bob's ways in for ``service``: none, forged, his own genuine one, his one for another
    service, and the backfill's operator token for another service."""
    signer = _signer(stack)
    other = "listings" if service != "listings" else "events"
    return {
        "none": None,
        "forged": forged(bob, service),
        "bob's": signer.token(bob, service),
        "bob's for another service": signer.token(bob, other),
        "backfill operator for another service": signer.token(identity.operator_subject(identity.BACKFILL), other),
    }


def _leaks(answer: Any, secret_text: str) -> bool:
    return answer != "Forbidden" and secret_text in repr(answer)


def test_the_private_groups_school_run_riders_are_not_read_off_the_bus(stack, secret):
    """events.trip_riders / trip_get / trip_rota / group_trips take no identity at all: any
    process on the bus, with no token, reads a private group's school run, its riders and their
    children's names (and the group's trips from its id)."""
    leaked = {}
    for name, token in _tokens(stack, secret["bob"], "events").items():
        leaked[name] = {
            "trip_riders": _leaks(bus(stack, "events", "trip_riders", token, trip_id=secret["trip"]), secret["child"]),
            "group_trips": _leaks(bus(stack, "events", "group_trips", token, group_id=secret["group"]), secret["tag"]),
            "trip_get": _leaks(bus(stack, "events", "trip_get", token, trip_id=secret["trip"]), secret["tag"]),
        }
    nothing = dict.fromkeys(("trip_riders", "group_trips", "trip_get"), False)
    assert leaked == dict.fromkeys(leaked, nothing)


def test_a_private_groups_outing_is_not_read_off_the_bus_by_id(stack, secret):
    """events.get_outing / get_outings, asked by Bob with each kind of token (or none): nothing
    of the private outing (they answered its title and place to anyone with its id until stop 28)."""
    leaked = {}
    for name, token in _tokens(stack, secret["bob"], "events").items():
        one = bus(stack, "events", "get_outing", token, outing_id=secret["outing"])
        many = bus(stack, "events", "get_outings", token, outing_ids=[secret["outing"]])
        leaked[name] = _leaks(one, secret["tag"]) or _leaks(many, secret["tag"])
    assert leaked == dict.fromkeys(leaked, False)


def test_an_email_does_not_name_its_member_to_anyone_on_the_bus(stack, secret):
    """members.member_id_by_email ("for ops' commands") answers with no token: an email ->
    member id oracle for anyone on the bus."""
    for name, token in _tokens(stack, secret["bob"], "members").items():
        answer = bus(stack, "members", "member_id_by_email", token, email=secret["alice_email"])
        assert answer in ("Forbidden", None), f"{name}: {answer}"


READS_ABOUT_ALICE = [
    ("members", "block_relations", lambda s: {"member_id": s["alice"]}),
    ("members", "blocked_by", lambda s: {"member_id": s["alice"]}),
    ("members", "member_groups", lambda s: {"member_id": s["alice"]}),
    ("members", "viewer", lambda s: {"member_id": s["alice"]}),
    ("events", "member_outings", lambda s: {"member_id": s["alice"]}),
    ("events", "places_of", lambda s: {"member_id": s["alice"], "outing_ids": [s["outing"]]}),
    ("events", "inbox", lambda s: {"member_id": s["alice"]}),
    ("listings", "listings_of", lambda s: {"owner_id": s["alice"]}),
    ("listings", "inbox", lambda s: {"member_id": s["alice"]}),
    ("conversations", "inbox", lambda s: {"member_id": s["alice"]}),
    ("moderation", "member_status", lambda s: {"member_ids": [s["alice"]]}),
]


@pytest.mark.parametrize(
    ("service", "method", "args"), READS_ABOUT_ALICE, ids=[f"{s}.{m}" for s, m, _ in READS_ABOUT_ALICE]
)
def test_reads_about_alice_are_refused_to_everyone_but_her(stack, secret, service, method, args):
    """What held: each read about Alice refuses every token of Bob's, none and a forged one."""
    for name, token in _tokens(stack, secret["bob"], service).items():
        assert bus(stack, service, method, token, **args(secret)) == "Forbidden", name


def test_viewer_context_of_alice_tells_bob_her_protected_flag_only(stack, secret):
    signer = _signer(stack)
    answer = bus(stack, "members", "viewer_context", signer.token(secret["bob"], "members"), member_id=secret["alice"])
    assert answer == {"blocked_by": [], "blocked": [], "groups": {}, "protected": False}
    operator = signer.token(identity.operator_subject(identity.BACKFILL), "members")
    answer = bus(stack, "members", "viewer_context", operator, member_id=secret["alice"])
    assert answer == {"blocked_by": [], "blocked": [], "groups": {}, "protected": False}


def test_search_finds_nothing_private_for_bob_with_any_token(stack, secret):
    """What held or not: every search RPC, Bob claiming Alice's group, with each of his tokens
    (and the backfill operator's token for search itself)."""
    signer = _signer(stack)
    tokens = {
        **_tokens(stack, secret["bob"], "search"),
        "backfill operator for search": signer.token(identity.operator_subject(identity.BACKFILL), "search"),
    }
    group = [secret["group"]]
    bounds = {
        "north": PLACE["lat"] + 0.01,
        "south": PLACE["lat"] - 0.01,
        "east": PLACE["lon"] + 0.01,
        "west": PLACE["lon"] - 0.01,
    }
    seen = {}
    for name, token in tokens.items():
        viewer = None if name.startswith("backfill") else secret["bob"]
        answers = {
            "nearby_outings": bus(
                stack,
                "search",
                "nearby_outings",
                token,
                near=PLACE,
                radius_km=2,
                first=50,
                viewer_id=viewer,
                viewer_groups=group,
            ),
            "nearby_activities": bus(
                stack,
                "search",
                "nearby_activities",
                token,
                near={"lat": 48.8645, "lon": 2.3605},
                radius_km=2,
                viewer_groups=group,
                first=50,
            ),
            "suggest": bus(
                stack,
                "search",
                "suggest",
                token,
                text=f"Goûter secret {secret['tag']}",
                near=PLACE,
                limit=20,
                viewer_id=viewer,
                viewer_groups=group,
            ),
            "discussions": bus(
                stack, "search", "discussions", token, text=secret["tag"], viewer_id=viewer, viewer_groups=group
            ),
        }
        clusters = bus(
            stack,
            "search",
            "map_clusters",
            token,
            bounds=bounds,
            zoom=14,
            kinds=["outings"],
            viewer_id=viewer,
            viewer_groups=group,
        )
        seen[name] = {k: _leaks(v, secret["outing"]) or _leaks(v, secret["trip"]) for k, v in answers.items()}
        seen[name]["map_clusters"] = clusters != "Forbidden" and sum(c["count"] for c in clusters["clusters"]) > 0
    assert seen == {name: dict.fromkeys(seen[name], False) for name in seen}


def test_the_private_groups_other_reads_off_the_bus(stack, secret):
    """What held: a private group's outings, co-op shifts, threads and members, read raw with no
    token (a read "for nobody"). (members.get_groups gives its name and description to anyone:
    as the API does, a private group is listed, its content is not.)"""
    group = secret["group"]
    answers = {
        "events.group_outings": bus(stack, "events", "group_outings", None, group_ids=[group]),
        "events.coop_shifts": bus(stack, "events", "coop_shifts", None, group_id=group),
        "conversations.group_threads": bus(
            stack, "conversations", "group_threads", None, group_id=group, viewer_id=None
        ),
        "members.group_members": bus(stack, "members", "group_members", None, group_id=group),
    }
    leaked = {
        name: _leaks(answer, secret["outing"]) or _leaks(answer, secret["tag"]) or _leaks(answer, secret["alice"])
        for name, answer in answers.items()
    }
    assert leaked == dict.fromkeys(answers, False), answers


def test_a_private_groups_contact_and_thread_are_not_read_off_the_bus_by_id(stack, secret):
    """listings.get_contacts (a private group's contact: name, phone; answered to anyone with its
    id until stop 28), conversations.get_threads / replies read "for nobody": nothing."""
    answers = {
        "listings.get_contacts": bus(stack, "listings", "get_contacts", None, contact_ids=[secret["contact"]]),
        "conversations.get_threads": bus(stack, "conversations", "get_threads", None, thread_ids=[secret["thread"]]),
        "conversations.replies": bus(
            stack, "conversations", "replies", None, thread_id=secret["thread"], viewer_id=None
        ),
    }
    leaked = {name: _leaks(answer, secret["tag"]) for name, answer in answers.items()}
    assert leaked == dict.fromkeys(answers, False), answers


def test_through_the_api_bob_gets_none_of_the_private_groups_nodes(stack, secret, http):
    """What held (or not): the gateway, asked by Bob for each node by its global id, answers null."""
    from conftest import post

    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    ids = list(secret["global"].values())
    body = post(http, query, {"ids": ids}, secret["bob_token"]).json()
    shown = [n["id"] for n in (body.get("data") or {}).get("nodes") or [] if n]
    assert shown == [], body


def test_no_id_needed_private_groups_children_from_the_bus(stack, secret):
    """The chain, knowing nothing: members.list_groups (no token) lists every Paris group,
    private ones included (by design: a private group is discoverable); events.group_trips of each
    (no token) gives its school runs; events.trip_riders (no token) their riders and children."""
    children: set[str] = set()
    after = None
    for _ in range(200):
        page = bus(stack, "members", "list_groups", None, city="paris", first=100, after=after)
        for edge in page["edges"]:
            if edge["node"].get("visibility") != "private":
                continue
            for trip in bus(stack, "events", "group_trips", None, group_id=edge["node"]["id"]) or []:
                if trip == "Forbidden":
                    continue
                for rider in bus(stack, "events", "trip_riders", None, trip_id=trip["id"]) or []:
                    if rider != "Forbidden":
                        children.update(rider["children"])
        if not page["has_next_page"]:
            break
        after = page["edges"][-1]["cursor"]
    assert secret["child"] not in children


def test_bob_claiming_network_admin_sees_no_reports_or_audit(stack, secret):
    """What held: moderation's queue and audit_log with Bob's genuine token and network_admin
    True (a role boolean, not believed) answer nothing."""
    token = _signer(stack).token(secret["bob"], "moderation")
    queue = bus(stack, "moderation", "queue", token, member_id=secret["bob"], network_admin=True)
    audit = bus(stack, "moderation", "audit_log", token, member_id=secret["bob"], network_admin=True)
    assert (queue["allowed"], queue["total"], audit["allowed"], audit["actions"]) == (False, 0, False, [])
