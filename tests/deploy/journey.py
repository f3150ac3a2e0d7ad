"""One parent's journey through the GraphQL API, broad enough to cross the main RPCs and events
between the gateway and the four services (members, groups and their admins, outings, places,
search, listings and matching, the inbox): the check that two versions still talk.

Each step says which hop it crosses, so a failure names the incompatible call or event
instead of a bare ``KeyError``: ``JourneyFailed: step 'join the outing' (gateway -> events
RPC join_outing) ...``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from support.graphql import post, register

from parentnet_kit.testing import wait_for

VIEWER = "{ viewer { id displayName city { slug } } }"
OUTING_CREATE = """mutation($input: OutingCreateInput!) {
  outingCreate(input: $input) {
    outing { id title startsAt venueName city { slug } attendance { families placesLeft } }
    userErrors { field message code }
  }
}"""
OUTING_JOIN = """mutation($id: ID!) {
  outingJoin(input: {outingId: $id, adults: 1, children: 2}) {
    place { status }
    outing { attendance { families adults children } }
    userErrors { field message code }
  }
}"""
OUTING_UPDATE = """mutation($id: ID!, $title: String!) {
  outingUpdate(input: {outingId: $id, title: $title}) {
    outing { id title }
    userErrors { field message code }
  }
}"""
OUTING = """query($id: ID!) { node(id: $id) { id ... on Outing {
  title viewerPlace { status } attendance { families } } } }"""
NEARBY_OUTINGS = """query($near: GeoPointInput!, $text: String!) {
  nearbyOutings(near: $near, radiusKm: 2, first: 20, filter: {text: $text}) {
    nodes { id title distanceKm }
    userErrors { field code }
  }
}"""
LISTING_CREATE = """mutation($input: ListingCreateInput!) {
  listingCreate(input: $input) {
    listing { id title status }
    userErrors { field message code }
  }
}"""
NEARBY_LISTINGS = """query($near: GeoPointInput!) {
  nearbyListings(near: $near, radiusKm: 5, first: 50) { nodes { id title } userErrors { code } }
}"""
INBOX = "{ inbox(first: 10) { unreadCount nodes { kind subject { id } } } }"
GROUP_CREATE = """mutation($input: GroupCreateInput!) {
  groupCreate(input: $input) {
    group { id name memberCount viewerMembership { role status } }
    userErrors { field message code }
  }
}"""
GROUP_JOIN = """mutation($id: ID!) {
  groupJoin(input: {groupId: $id}) {
    membership { role status }
    userErrors { field message code }
  }
}"""
GROUP = """query($id: ID!) { node(id: $id) { id ... on Group {
  memberCount viewerMembership { role status } outings(first: 10) { nodes { id title } } } } }"""


class JourneyFailed(AssertionError):
    """A step of the journey went wrong: its name, the hop it crosses and what came back."""


class Journey:
    """Walk the journey against a gateway (``http``: an ``httpx.Client`` on its URL)."""

    def __init__(self, http: httpx.Client, label: str) -> None:
        self.http = http
        self.label = label
        self.steps: list[str] = []

    def call(self, step: str, hop: str, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        """The ``data`` of one GraphQL request; ``JourneyFailed`` naming ``step`` and ``hop``
        on a non-200 answer or any entry in ``errors``."""
        try:
            response = post(self.http, query, variables, token)
        except httpx.HTTPError as exc:
            raise self.failed(step, hop, f"no answer: {exc!r}") from exc
        try:
            body = response.json()
        except ValueError:
            raise self.failed(step, hop, f"HTTP {response.status_code}, not JSON: {response.text[:500]}") from None
        if response.status_code != 200 or body.get("errors"):
            raise self.failed(step, hop, f"HTTP {response.status_code}: {json.dumps(body)[:1500]}")
        return body["data"]

    def check(self, ok: bool, step: str, hop: str, seen: Any) -> None:
        if not ok:
            raise self.failed(step, hop, f"unexpected answer: {json.dumps(seen)[:1500]}")

    def eventually(self, step: str, hop: str, probe: Callable[[], Any], timeout: float = 20) -> Any:
        """Wait (up to ``timeout`` seconds) for ``probe`` to return something truthy."""
        try:
            return wait_for(probe, timeout=timeout, what=step)
        except TimeoutError as exc:
            raise self.failed(step, hop, f"not seen within {timeout:g} s ({exc})") from None

    def failed(self, step: str, hop: str, detail: str) -> JourneyFailed:
        done = ", ".join(self.steps) or "none"
        return JourneyFailed(f"[{self.label}] step {step!r} ({hop}) failed: {detail}\n(steps passed: {done})")

    def passed(self, step: str) -> None:
        self.steps.append(step)

    def sign_up(self, name: str, step: str) -> dict:
        hop = "gateway -> members RPC register, then the token the gateway verifies"
        try:
            result = register(self.http, name, "paris")
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
            raise self.failed(step, hop, repr(exc)) from exc
        self.check(result.get("userErrors") == [] and bool(result.get("accessToken")), step, hop, result)
        viewer = self.call(f"{step}: viewer", "gateway -> members RPC (viewer)", VIEWER, token=result["accessToken"])
        self.check(viewer["viewer"]["id"] == result["member"]["id"], step, "members viewer", viewer)
        self.passed(step)
        return {"token": result["accessToken"], "id": result["member"]["id"]}

    def walk(self) -> None:
        """Every step in order; raises ``JourneyFailed`` at the first that fails."""
        tag = uuid.uuid4().hex[:8]
        organizer = self.sign_up("Organizer", "sign up the organizer")
        parent = self.sign_up("Parent", "sign up a parent")

        # An outing: events' create_outing, then outing_published to the search indexer.
        spot = {"lat": 48.8462, "lon": 2.3371}
        title = f"Marionnettes {tag}"
        proposal = {
            "title": title,
            "description": "Venez avec les enfants !",
            "category": "PARK",
            "startsAt": "2031-05-06T10:00",
            "endsAt": "2031-05-06T12:00",
            "venueName": "Jardin du Luxembourg",
            "location": spot,
            "city": "paris",
            "capacity": 10,
        }
        step, hop = "create an outing", "gateway -> events RPC create_outing"
        made = self.call(step, hop, OUTING_CREATE, {"input": proposal}, organizer["token"])["outingCreate"]
        self.check(made["userErrors"] == [] and made["outing"]["title"] == title, step, hop, made)
        self.check(made["outing"]["startsAt"] == "2031-05-06T10:00:00+02:00", step, hop, made)
        outing_id = made["outing"]["id"]
        self.passed(step)

        step, hop = "join the outing", "gateway -> events RPC join_outing"
        joined = self.call(step, hop, OUTING_JOIN, {"id": outing_id}, parent["token"])["outingJoin"]
        self.check(joined["userErrors"] == [] and joined["place"]["status"] == "CONFIRMED", step, hop, joined)
        self.check(joined["outing"]["attendance"]["families"] == 1, step, hop, joined)
        self.passed(step)

        step, hop = "read the outing back", "gateway -> events RPC (outing by id, viewer's place)"
        seen = self.call(step, hop, OUTING, {"id": outing_id}, parent["token"])["node"]
        self.check(seen and seen["viewerPlace"] == {"status": "CONFIRMED"}, step, hop, seen)
        self.passed(step)

        def found(text: str) -> list[dict]:
            answer = self.call(step, hop, NEARBY_OUTINGS, {"near": spot, "text": text}, parent["token"])
            page = answer["nearbyOutings"]
            self.check(page["userErrors"] == [], step, hop, page)
            return [n for n in page["nodes"] if n["id"] == outing_id]

        step = "search finds the new outing"
        hop = "events outing_published -> search indexer; gateway -> search RPC"
        [node] = self.eventually(step, hop, lambda: found(tag))
        self.check(node["title"] == title, step, hop, node)
        self.passed(step)

        step, hop = "rename the outing", "gateway -> events RPC update_outing"
        renamed = f"Guignol {tag}"
        updated = self.call(step, hop, OUTING_UPDATE, {"id": outing_id, "title": renamed}, organizer["token"])
        self.check(updated["outingUpdate"]["userErrors"] == [], step, hop, updated)
        self.check(updated["outingUpdate"]["outing"]["title"] == renamed, step, hop, updated)
        self.passed(step)

        step = "search sees the new title"
        hop = "events outing_updated -> search indexer; gateway -> search RPC"
        self.eventually(step, hop, lambda: [n for n in found("Guignol") if n["title"] == renamed])
        self.passed(step)

        # A group (members owns groups and roles), an outing in it by a member, edited by the
        # group's admin, refused to a stranger: the checks issue 21 moves into the services.
        step, hop = "create a group", "gateway -> members RPC create_group"
        group_input = {"name": f"Parents du 6e {tag}", "city": "paris", "description": "Sorties au jardin"}
        made_group = self.call(step, hop, GROUP_CREATE, {"input": group_input}, organizer["token"])["groupCreate"]
        self.check(made_group["userErrors"] == [], step, hop, made_group)
        self.check(made_group["group"]["viewerMembership"]["role"] == "ADMIN", step, hop, made_group)
        group_id = made_group["group"]["id"]
        self.passed(step)

        step, hop = "join the group", "gateway -> members RPC join_group"
        joined_group = self.call(step, hop, GROUP_JOIN, {"id": group_id}, parent["token"])["groupJoin"]
        self.check(joined_group["userErrors"] == [], step, hop, joined_group)
        self.check(joined_group["membership"]["status"] == "ACTIVE", step, hop, joined_group)
        self.passed(step)

        step, hop = "a group member posts a group outing", "gateway -> members (role), events RPC create_outing"
        group_outing = {**proposal, "title": f"Goûter du groupe {tag}", "groupId": group_id}
        made = self.call(step, hop, OUTING_CREATE, {"input": group_outing}, parent["token"])["outingCreate"]
        self.check(made["userErrors"] == [], step, hop, made)
        group_outing_id = made["outing"]["id"]
        self.passed(step)

        step, hop = "the group's admin edits it", "gateway -> events RPC update_outing (as the group's admin)"
        retitled = f"Goûter au jardin {tag}"
        edited = self.call(step, hop, OUTING_UPDATE, {"id": group_outing_id, "title": retitled}, organizer["token"])
        self.check(edited["outingUpdate"]["userErrors"] == [], step, hop, edited)
        self.check(edited["outingUpdate"]["outing"]["title"] == retitled, step, hop, edited)
        self.passed(step)

        step, hop = "someone outside the group may not post in it", "gateway -> members (role) -> NOT_MEMBER"
        stranger = self.sign_up("Stranger", "sign up someone outside the group")
        refused = self.call(step, hop, OUTING_CREATE, {"input": group_outing}, stranger["token"])["outingCreate"]
        codes = [e["code"] for e in refused["userErrors"]]
        self.check(refused["outing"] is None and codes == ["NOT_MEMBER"], step, hop, refused)
        self.passed(step)

        step, hop = "the group lists its outing", "gateway -> members and events RPC (group, its outings)"
        seen = self.call(step, hop, GROUP, {"id": group_id}, parent["token"])["node"]
        self.check(seen and seen["memberCount"] == 2, step, hop, seen)
        self.check(group_outing_id in {n["id"] for n in seen["outings"]["nodes"]}, step, hop, seen)
        self.passed(step)

        # Listings: an offer and a wanted post 2 km apart match (listings' matching over
        # search), the seeker's inbox hears of it, and search lists the offer.
        here = {"lat": 45.8890, "lon": 6.1100}  # Annecy
        two_km = {"lat": 45.8890 + 2.0 / 111.2, "lon": 6.1100}

        def listing(kind: str, where: dict, **extra: Any) -> dict:
            return {
                "kind": kind,
                "category": "PRAM_STROLLER",
                "title": f"Poussette double {tag}" if kind != "WANTED" else f"Cherche poussette {tag}",
                "city": "annecy",
                "pickupAddress": "3 rue Royale, 74000 Annecy",
                "pickupLocation": where,
                **extra,
            }

        step, hop = "post an offer", "gateway -> listings RPC create_listing"
        offer = self.call(step, hop, LISTING_CREATE, {"input": listing("GIVE", two_km)}, organizer["token"])
        offer = offer["listingCreate"]
        self.check(offer["userErrors"] == [] and offer["listing"]["status"] == "ACTIVE", step, hop, offer)
        offer_id = offer["listing"]["id"]
        self.passed(step)

        step = "search lists the offer"
        hop = "listings listing_posted -> search indexer; gateway -> search RPC nearby listings"

        def listed() -> bool:
            page = self.call(step, hop, NEARBY_LISTINGS, {"near": two_km}, parent["token"])["nearbyListings"]
            self.check(page["userErrors"] == [], step, hop, page)
            return offer_id in {n["id"] for n in page["nodes"]}

        self.eventually(step, hop, listed)
        self.passed(step)

        step, hop = "post a wanted request", "gateway -> listings RPC create_listing (matching)"
        wanted = listing("WANTED", here, matchRadiusKm=3)
        asked = self.call(step, hop, LISTING_CREATE, {"input": wanted}, parent["token"])["listingCreate"]
        self.check(asked["userErrors"] == [], step, hop, asked)
        self.passed(step)

        step = "the seeker hears of the match"
        hop = "listings listing_matched -> the seeker's inbox; gateway -> inbox RPC"

        def matched() -> bool:
            inbox = self.call(step, hop, INBOX, token=parent["token"])["inbox"]
            return any(
                n["kind"] == "listing_matched" and (n["subject"] or {}).get("id") == offer_id for n in inbox["nodes"]
            )

        self.eventually(step, hop, matched)
        self.passed(step)
