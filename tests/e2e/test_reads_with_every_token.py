"""As an attacker (review 3, stop 28): raw RPCs on the bus for a private group's outing and contact with
every kind of token (none, forged, tampered, algorithm "none", expired, for another service,
an outsider's genuine one), with a group member's genuine token as the control that the secret
is there to find; and, through GraphQL, paging nearbyOutings and nearbyListings one item at a
time after blocks both ways, beside mapClusters' counts."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from conftest import post
from nameko.exceptions import RemoteError
from test_backfill_guard import _signer, bus
from test_listings_end_to_end import CREATE as LISTING_CREATE
from test_listings_end_to_end import stroller
from test_my_outings_end_to_end import GROUP
from test_outing_end_to_end import CREATE as OUTING_CREATE
from test_outing_end_to_end import proposal

from gateway.ids import from_global_id
from parentnet_kit import identity
from parentnet_kit.testing import wait_for
from parentnet_kit.tokens import generate_key_pair

CONTACT = """mutation($input: ContactCreateInput!) { contactCreate(input: $input) { contact { id }
  userErrors { field code } } }"""
JOIN_GROUP = "mutation($g: ID!) { groupJoin(input: {groupId: $g}) { userErrors { code } } }"
BLOCK = "mutation($id: ID!) { memberBlock(input: {memberId: $id}) { userErrors { code } } }"
PHONE = "+33 1 98 76 54 32"
# A Montréal corner no other test uses.
SPOT = {"lat": 45.5610, "lon": -73.6610}


def call(http, member, query: str, variables: dict | None = None) -> dict:
    """``query`` as ``member`` from their own phone; no top-level error allowed."""
    body = post(http, query, variables, member["token"], local_address=member._local_address).json()
    assert "errors" not in body, body
    return body["data"]


def local(global_id: str) -> str:
    return from_global_id(global_id)[1]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _subject_claim(token: str, member: str) -> str:
    """The claim that names the member in a genuine token."""
    (name,) = [k for k, v in _claims(token).items() if v == member]
    return name


@pytest.fixture(scope="module")
def secret(stack, gql, sign_up):
    alice, carol, bob = sign_up("Alice"), sign_up("Carol"), sign_up("Bob")
    tag = uuid.uuid4().hex[:8]
    group = gql(GROUP, {"name": f"Repaire {tag}", "visibility": "PRIVATE"}, token=alice["token"])
    group_id = group["groupCreate"]["group"]["id"]
    assert gql(JOIN_GROUP, {"g": group_id}, token=carol["token"])["groupJoin"]["userErrors"] == []
    inside = proposal(f"Goûter caché {tag}", SPOT["lat"], SPOT["lon"], groupId=group_id, city="montreal")
    outing = gql(OUTING_CREATE, {"input": inside}, token=alice["token"])["outingCreate"]["outing"]["id"]
    fields = {"kind": "PAEDIATRICIAN", "name": f"Dr Caché {tag}", "city": "paris", "groupId": group_id, "phone": PHONE}
    contact = gql(CONTACT, {"input": fields}, token=alice["token"])["contactCreate"]
    assert contact["userErrors"] == [], contact
    return {
        "tag": tag,
        "alice": local(alice["id"]),
        "carol": local(carol["id"]),
        "bob": local(bob["id"]),
        "outing": local(outing),
        "outing_global": outing,
        "group": local(group_id),
        "contact": local(contact["contact"]["id"]),
    }


def _ways_in(stack, s: dict, service: str) -> dict[str, str | None]:
    """Every token an attacker on the bus can put together, for ``service``."""
    signer = _signer(stack)
    other = "listings" if service != "listings" else "events"
    alices = signer.token(s["alice"], service)
    bobs = signer.token(s["bob"], service)
    _header, payload, _signature = alices.split(".")
    subject = _subject_claim(alices, s["alice"])
    # Bob's genuine token with its member swapped for Alice, signature kept.
    bob_header, _bob_payload, bob_signature = bobs.split(".")
    swapped = {**_claims(bobs), subject: s["alice"]}
    tampered = ".".join([bob_header, _b64(json.dumps(swapped).encode()), bob_signature])
    unsigned = ".".join([_b64(json.dumps({"alg": "none", "typ": "JWT"}).encode()), payload, ""])
    private_pem, _public = generate_key_pair()
    return {
        "none": None,
        "garbage": "not-a-token",
        "forged as Alice": identity.IdentitySigner(private_pem).token(s["alice"], service),
        "forged as Bob": identity.IdentitySigner(private_pem).token(s["bob"], service),
        "Bob's genuine (an outsider)": bobs,
        "Bob's, member swapped for Alice": tampered,
        "Alice's claims, alg none": unsigned,
        # A signer of its own: one signer hands back the token it made (fresh) while it is valid.
        "Alice's, expired an hour ago": _signer(stack).token(s["alice"], service, now=time.time() - 3600),
        "Alice's for another service": signer.token(s["alice"], other),
        "backfill operator for another service": signer.token(identity.operator_subject(identity.BACKFILL), other),
    }


def _ask(stack, service: str, method: str, token: str | None, **kwargs: Any) -> Any:
    try:
        return bus(stack, service, method, token, **kwargs)
    except RemoteError as error:  # a refusal other than Forbidden leaks nothing either; say what it was
        return f"raised {error.exc_type}"


def _reads(stack, s: dict, token_for) -> dict[str, str]:
    return {
        "events.get_outing": repr(_ask(stack, "events", "get_outing", token_for("events"), outing_id=s["outing"])),
        "events.get_outings": repr(_ask(stack, "events", "get_outings", token_for("events"), outing_ids=[s["outing"]])),
        "listings.get_contacts": repr(
            _ask(stack, "listings", "get_contacts", token_for("listings"), contact_ids=[s["contact"]])
        ),
    }


def test_a_member_of_the_private_group_reads_them_off_the_bus(stack, secret):
    """The control: with Carol's (a member's) genuine token each read holds the secret, so the
    checks below would see a leak."""
    signer = _signer(stack)
    answers = _reads(stack, secret, lambda service: signer.token(secret["carol"], service))
    assert {k: secret["tag"] in v for k, v in answers.items()} == dict.fromkeys(answers, True), answers


def test_no_other_token_reads_a_private_groups_outing_or_contact_off_the_bus(stack, secret):
    ways = {service: _ways_in(stack, secret, service) for service in ("events", "listings")}
    expired = _claims(ways["events"]["Alice's, expired an hour ago"])
    assert expired["exp"] < time.time() - 60, expired
    leaked = {}
    for name in ways["events"]:
        answers = _reads(stack, secret, lambda service, name=name: ways[service][name])
        print(name, {read: answer[:60] for read, answer in answers.items()})
        for read, answer in answers.items():
            if secret["tag"] in answer or PHONE in answer:
                leaked[f"{read} with {name}"] = answer
    assert leaked == {}


def test_no_token_lists_a_private_groups_outings_or_contacts_by_claiming_the_group(stack, secret):
    """The lists that take the group from the caller: events.group_outings and
    listings.list_contacts with ``viewer_groups`` naming Alice's private group. Carol's (a
    member's) genuine token is the control: it lists both."""
    ways = {service: _ways_in(stack, secret, service) for service in ("events", "listings")}
    signer = _signer(stack)
    for service in ways:
        ways[service]["Carol's genuine (the control)"] = signer.token(secret["carol"], service)
    leaked = {}
    for name in ways["events"]:
        answers = {
            "events.group_outings": repr(
                _ask(stack, "events", "group_outings", ways["events"][name], group_ids=[secret["group"]])
            ),
            "listings.list_contacts": repr(
                _ask(
                    stack,
                    "listings",
                    "list_contacts",
                    ways["listings"][name],
                    city="paris",
                    kind=None,
                    language=None,
                    viewer_groups=[secret["group"]],
                    first=100,
                    offset=0,
                )
            ),
        }
        print(name, {read: answer[:60] for read, answer in answers.items()})
        for read, answer in answers.items():
            if secret["tag"] in answer or PHONE in answer or secret["outing"] in answer:
                leaked[f"{read} with {name}"] = answer
    control = "Carol's genuine (the control)"
    assert sorted(leaked) == [f"events.group_outings with {control}", f"listings.list_contacts with {control}"], leaked


NEARBY_OUTINGS = """query($near: GeoPointInput!, $first: Int!, $after: String) {
  nearbyOutings(near: $near, radiusKm: 2, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } nodes { id } } }"""
NEARBY_LISTINGS = """query($near: GeoPointInput!, $first: Int!, $after: String) {
  nearbyListings(near: $near, radiusKm: 2, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } nodes { id } } }"""
CLUSTERS = """query($b: BoundsInput!, $k: [MapKind!]) { mapClusters(bounds: $b, zoom: 12, kinds: $k) {
  clusters { kind count } } }"""
BOUNDS = {
    "north": SPOT["lat"] + 0.03,
    "south": SPOT["lat"] - 0.03,
    "east": SPOT["lon"] + 0.04,
    "west": SPOT["lon"] - 0.04,
}


def test_pages_after_blocks_both_ways_hold_no_gap_no_lie_and_nothing_of_them(stack, secret, sign_up, http):
    """Dana blocks Eve; Gus blocks Dana; Fay is nobody's. Their outings and listings sit
    interleaved by distance around one spot (Eve's, Gus's, Fay's, Dana's, again and again). Each
    of them pages nearbyOutings and nearbyListings one item at a time following endCursor: no
    empty page saying hasNextPage, the same totalCount on every page and equal to the items
    shown, nothing twice, nothing of a member they are apart from (nor Alice's private group's
    outing at the same spot); mapClusters counts the same."""
    dana, eve, fay, gus = (sign_up(n) for n in ("Dana", "Eve", "Fay", "Gus"))
    who = {"dana": dana, "eve": eve, "fay": fay, "gus": gus}
    tag = uuid.uuid4().hex[:6]
    owners = ["eve", "gus", "fay", "dana"] * 3
    outings: dict[str, list[str]] = {n: [] for n in who}
    listings: dict[str, list[str]] = {n: [] for n in who}
    for k, name in enumerate(owners):
        where = {"lat": SPOT["lat"] + 0.0004 * k, "lon": SPOT["lon"]}
        made = call(
            http,
            who[name],
            OUTING_CREATE,
            {"input": proposal(f"Près {tag} {k}", where["lat"], where["lon"], city="montreal")},
        )["outingCreate"]
        assert made["userErrors"] == [], made
        outings[name].append(made["outing"]["id"])
        posted = call(
            http,
            who[name],
            LISTING_CREATE,
            {"input": stroller("GIVE", where, city="montreal", title=f"Poussette {tag} {k}")},
        )["listingCreate"]
        assert posted["userErrors"] == [], posted
        listings[name].append(posted["listing"]["id"])

    def page_through(query: str, field: str, viewer: str) -> dict:
        """Every page of ``first: 1``: ids in order, totals seen, pages that were empty."""
        ids, totals, empty_but_more, after = [], set(), 0, None
        for _ in range(40):
            page = call(http, who[viewer], query, {"near": SPOT, "first": 1, "after": after})[field]
            totals.add(page["totalCount"])
            ids += [n["id"] for n in page["nodes"]]
            more = page["pageInfo"]["hasNextPage"]
            if more and not page["nodes"]:
                empty_but_more += 1
            if not more:
                break
            after = page["pageInfo"]["endCursor"]
        return {"ids": ids, "totals": totals, "empty_but_more": empty_but_more}

    def clustered(viewer: str, kind: str) -> int:
        clusters = call(http, who[viewer], CLUSTERS, {"b": BOUNDS, "k": [kind]})["mapClusters"]["clusters"]
        return sum(c["count"] for c in clusters)

    everything = {n for ids in outings.values() for n in ids}
    every_listing = {n for ids in listings.values() for n in ids}
    wait_for(
        lambda: (
            set(page_through(NEARBY_OUTINGS, "nearbyOutings", "fay")["ids"]) == everything
            and set(page_through(NEARBY_LISTINGS, "nearbyListings", "fay")["ids"])
            >= every_listing - set(listings["fay"])
        ),
        30,
        what="all twelve outings and listings indexed",
    )
    assert call(http, dana, BLOCK, {"id": eve["id"]})["memberBlock"]["userErrors"] == []
    assert call(http, gus, BLOCK, {"id": dana["id"]})["memberBlock"]["userErrors"] == []

    apart = {"dana": {"eve", "gus"}, "eve": {"dana"}, "gus": {"dana"}, "fay": set()}
    problems = {}
    for viewer, away in apart.items():
        for query, field, made, kind in (
            (NEARBY_OUTINGS, "nearbyOutings", outings, "OUTINGS"),
            (NEARBY_LISTINGS, "nearbyListings", listings, "LISTINGS"),
        ):
            seen = page_through(query, field, viewer)
            hidden = {i for name in away for i in made[name]} | {secret["outing_global"]}
            shown = set(seen["ids"])
            found = {
                "of a member apart": sorted(shown & hidden),
                "twice": len(seen["ids"]) - len(shown),
                "empty pages saying more": seen["empty_but_more"],
                "totals": sorted(seen["totals"]),
                "items shown": len(seen["ids"]),
                "map count": clustered(viewer, kind),
                "missing of the others": sorted(
                    {i for name, ids in made.items() if name not in away for i in ids} - shown - set(made[viewer])
                ),
            }
            print(viewer, field, found)
            bad = (
                found["of a member apart"]
                or found["twice"]
                or found["empty pages saying more"]
                or found["totals"] != [found["items shown"]]
                or found["map count"] != found["items shown"]
                or found["missing of the others"]
            )
            if bad:
                problems[f"{viewer} {field}"] = found
    assert problems == {}
