"""Simulated phones: each signs up and then sends a steady mix of GraphQL queries and
mutations from its own loopback address (``support.phones.next_address``), counting every
request that fails."""

from __future__ import annotations

import itertools
import json
import random
import threading
import uuid
from dataclasses import dataclass, field

import httpx
from support.graphql import post, register

OUTING_CREATE = """mutation($input: OutingCreateInput!) {
  outingCreate(input: $input) { outing { id } userErrors { field message code } } }"""
OUTING_JOIN = """mutation($id: ID!) {
  outingJoin(input: {outingId: $id}) { place { status } userErrors { field message code } } }"""
LISTING_CREATE = """mutation($input: ListingCreateInput!) {
  listingCreate(input: $input) { listing { id } userErrors { field message code } } }"""
VIEWER = "{ viewer { id displayName } }"
NEARBY = """query($near: GeoPointInput!) {
  nearbyOutings(near: $near, radiusKm: 3, first: 10) { nodes { id title } userErrors { code } } }"""
OUTING = "query($id: ID!) { node(id: $id) { id ... on Outing { title attendance { families } } } }"
INBOX = "{ inbox(first: 5) { unreadCount } }"
CENTRE = {"lat": 48.8566, "lon": 2.3522}


@dataclass
class Tally:
    """Requests sent and failed, shared by the phones (``failures``: the first 50, described)."""

    sent: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    by_operation: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, operation: str, problem: str | None) -> None:
        with self.lock:
            self.sent += 1
            self.by_operation[operation] = self.by_operation.get(operation, 0) + 1
            if problem is not None:
                self.failed += 1
                if len(self.failures) < 50:
                    self.failures.append(f"{operation}: {problem}")


class Phone(threading.Thread):
    """One member's phone: signs up from ``address``, then loops over queries and mutations
    until ``stop`` is set. Any transport error, non-200 answer, GraphQL error or userError is a
    failure (a phone does not retry: what a user would see is counted)."""

    def __init__(self, url: str, address: str, tally: Tally, outings: list[str], stop: threading.Event) -> None:
        super().__init__(daemon=True, name=f"phone {address}")
        self.url, self.address, self.tally, self.outings, self.stop = url, address, tally, outings, stop
        self.token: str | None = None
        self.joined: set[str] = set()
        self.signed_up = threading.Event()

    def ask(self, http: httpx.Client, operation: str, query: str, variables: dict | None = None) -> dict | None:
        try:
            response = post(http, query, variables, self.token)
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            self.tally.record(operation, f"{type(exc).__name__}: {exc}")
            return None
        problem = None
        if response.status_code != 200 or body.get("errors") or not body.get("data"):
            problem = f"HTTP {response.status_code} {json.dumps(body)[:400]}"
        else:
            payload = next(iter(body["data"].values()))
            if isinstance(payload, dict) and payload.get("userErrors"):
                problem = f"userErrors {payload['userErrors']}"
        self.tally.record(operation, problem)
        return None if problem else body["data"]

    def run(self) -> None:
        transport = httpx.HTTPTransport(local_address=self.address)
        headers = {"accept": "application/graphql-response+json"}
        with httpx.Client(base_url=self.url, transport=transport, timeout=60, headers=headers) as http:
            signed = register(http, f"Phone {self.address}", "paris")
            assert signed["userErrors"] == [], signed
            self.token = signed["accessToken"]
            self.signed_up.set()
            rng = random.Random(self.address)
            for turn in itertools.count():
                if self.stop.is_set():
                    return
                self.one_round(http, rng, turn)

    def one_round(self, http: httpx.Client, rng: random.Random, turn: int) -> None:
        self.ask(http, "viewer", VIEWER)
        self.ask(http, "nearbyOutings", NEARBY, {"near": CENTRE})
        if turn % 3 == 0:
            spot = {"lat": CENTRE["lat"] + rng.uniform(-0.01, 0.01), "lon": CENTRE["lon"] + rng.uniform(-0.01, 0.01)}
            made = self.ask(http, "outingCreate", OUTING_CREATE, {"input": outing(spot)})
            if made:
                self.outings.append(made["outingCreate"]["outing"]["id"])
        candidates = [o for o in self.outings[-20:] if o not in self.joined]
        if candidates:
            chosen = rng.choice(candidates)
            self.joined.add(chosen)
            self.ask(http, "outingJoin", OUTING_JOIN, {"id": chosen})
            self.ask(http, "node", OUTING, {"id": chosen})
        if turn % 4 == 1:
            spot = {"lat": CENTRE["lat"] + rng.uniform(-0.01, 0.01), "lon": CENTRE["lon"] + rng.uniform(-0.01, 0.01)}
            self.ask(http, "listingCreate", LISTING_CREATE, {"input": listing(spot)})
        self.ask(http, "inbox", INBOX)


def outing(spot: dict) -> dict:
    return {
        "title": f"Square {uuid.uuid4().hex[:6]}",
        "description": "Toboggans et bac à sable",
        "category": "PARK",
        "startsAt": "2031-06-06T10:00",
        "endsAt": "2031-06-06T12:00",
        "venueName": "Square du Temple",
        "location": spot,
        "city": "paris",
        "capacity": 50,
    }


def listing(spot: dict) -> dict:
    return {
        "kind": "GIVE",
        "category": "TOYS",
        "title": f"Puzzle 24 pièces {uuid.uuid4().hex[:6]}",
        "city": "paris",
        "pickupAddress": "12 rue de Bretagne, 75003 Paris",
        "pickupLocation": spot,
    }
