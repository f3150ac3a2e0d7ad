"""Simulated phones for the soak: each a parent with an account, its own loopback source
address (127.a.b.c, so the gateway's and the members service's per-address limits apply to it
alone, as they would to a real phone) and the API calls its app makes.

The screens' queries are the checked-in ones of docs/queries (what the apps send); the
mutations are the ones the API documents. Every call is timed from the request leaving to the
answer read, and classified: ``ok``, ``user:<code>`` (a refusal the app shows, e.g. a
listing already reserved), ``error:<code>`` (a top-level GraphQL error such as
SERVICE_UNAVAILABLE), ``http:<status or exception>`` or ``timeout`` (30 s).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from parentnet_kit import cities

DOCS = Path(__file__).resolve().parent.parent / "docs" / "queries"
LIST = (DOCS / "list.graphql").read_text()  # OutingList: the list under the map
OUTING = (DOCS / "outing.graphql").read_text()  # OutingPage, JoinOuting
INBOX = (DOCS / "inbox.graphql").read_text()  # Inbox
PASSWORD = "soak-parent-not-a-secret"

REGISTER = """mutation($input: MemberRegisterInput!) {
  memberRegister(input: $input) { accessToken member { id } userErrors { field code } }
}"""
LOGIN = """mutation($input: MemberLoginInput!) {
  memberLogin(input: $input) { accessToken userErrors { field code } }
}"""
LEAVE = """mutation($input: OutingRefInput!) {
  outingLeave(input: $input) { outing { id attendance { families placesLeft waitlist } } userErrors { field code } }
}"""
CREATE = """mutation($input: OutingCreateInput!) {
  outingCreate(input: $input) { outing { id attendance { placesLeft } } userErrors { field code } }
}"""
UPDATE = """mutation($input: OutingUpdateInput!) {
  outingUpdate(input: $input) { outing { id title } userErrors { field code } }
}"""
LISTING_CREATE = """mutation($input: ListingCreateInput!) {
  listingCreate(input: $input) { listing { id } userErrors { field code } }
}"""
LISTING_RESERVE = """mutation($input: ListingRefInput!) {
  listingReserve(input: $input) { listing { id } userErrors { field code } }
}"""

# The operations the soak reports, in the order of its table.
OPERATIONS = (
    "join",
    "leave",
    "outing create",
    "outing update",
    "listing create",
    "listing reserve",
    "sign-in",
    "nearbyOutings",
    "outing page",
    "inbox",
)


@dataclass(frozen=True)
class Sample:
    """One call: ``at`` seconds since the phase began, ``ms`` from send to answer read."""

    at: float
    operation: str
    ms: float
    outcome: str


@dataclass
class Pools:
    """What the phones of one stack have seen, to act on: outing and listing global IDs."""

    outings: deque[str] = field(default_factory=lambda: deque(maxlen=400))
    listings: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=400))  # (listing, owner phone)


def phone_address(n: int) -> str:
    """The n-th phone's loopback address: 127.77.0.1, ... (Linux routes all of 127/8 to lo)."""
    return f"127.77.{n // 250}.{n % 250 + 1}"


def _classify(status: int, body: dict[str, Any] | None, field_name: str | None) -> str:
    if isinstance(body, dict) and body.get("errors"):  # a 503 carries SERVICE_UNAVAILABLE here
        return "error:" + str((body["errors"][0].get("extensions") or {}).get("code", "UNKNOWN"))
    if status != 200 or not isinstance(body, dict):
        return f"http:{status}"
    payload = (body.get("data") or {}).get(field_name) if field_name else None
    if isinstance(payload, dict) and payload.get("userErrors"):
        return "user:" + str(payload["userErrors"][0].get("code"))
    return "ok"


class Phone:
    """One parent's app. ``samples`` collects every timed call; ``pools`` is shared by the
    phones of one stack."""

    def __init__(self, n: int, gateway_url: str, pools: Pools, samples: list[Sample], rng: random.Random) -> None:
        self.n, self.address = n, phone_address(n)
        self.gateway_url, self.pools, self.samples, self.rng = gateway_url, pools, samples, rng
        self.city = rng.choice(cities.founding())  # open from the first migration on every stack
        self.email = f"soak-{uuid.uuid4().hex[:12]}@example.org"
        self.token: str | None = None
        self.own_outings: list[str] = []
        self.joined: list[str] = []
        self.session: aiohttp.ClientSession | None = None
        self.started = time.monotonic()

    async def open(self, started: float) -> None:
        self.started = started
        connector = aiohttp.TCPConnector(limit=2, local_addr=(self.address, 0))
        self.session = aiohttp.ClientSession(
            self.gateway_url, connector=connector, timeout=aiohttp.ClientTimeout(total=30)
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def call(
        self, operation: str, query: str, variables: dict[str, Any], field_name: str, name: str | None = None
    ) -> dict[str, Any] | None:
        """POST one GraphQL request, time it, record a Sample; the answer's data (or None).

        An access token lives minutes: when the gateway answers UNAUTHENTICATED the phone signs
        in again (a "sign-in" sample) and sends the call once more, as an app refreshes its
        session; only that second try is the call's sample. (A soak run of 2026-11-30 without
        this measured mostly expired tokens on its slower volume side.)"""
        data = await self._send(operation, query, variables, field_name, name)
        if self.samples and self.samples[-1].outcome == "error:UNAUTHENTICATED" and operation != "sign-in":
            self.samples.pop()
            await self.sign_in()
            data = await self._send(operation, query, variables, field_name, name)
        return data

    async def _send(
        self, operation: str, query: str, variables: dict[str, Any], field_name: str, name: str | None
    ) -> dict[str, Any] | None:
        assert self.session is not None
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        payload: dict[str, Any] = {"query": query, "variables": variables}
        if name:
            payload["operationName"] = name
        t0 = time.monotonic()
        body: dict[str, Any] | None = None
        try:
            async with self.session.post("/graphql", json=payload, headers=headers) as response:
                status = response.status
                body = await response.json(content_type=None)
            outcome = _classify(status, body, field_name)
        except (TimeoutError, aiohttp.ClientError, ValueError) as error:
            outcome = "timeout" if isinstance(error, TimeoutError) else f"http:{type(error).__name__}"
        t1 = time.monotonic()
        self.samples.append(Sample(t0 - self.started, operation, (t1 - t0) * 1000, outcome))
        return (body or {}).get("data") if outcome == "ok" else None

    # --- the operations ------------------------------------------------------------------
    def _point(self, spread: float = 0.03) -> dict[str, float]:
        return {
            "lat": round(self.city.lat + self.rng.gauss(0, spread), 6),
            "lon": round(self.city.lon + self.rng.gauss(0, spread), 6),
        }

    async def register(self, tries: int = 3) -> bool:
        """Sign up (a try whose answer was lost may have signed up: then sign in); False when
        every try failed. Each try is a sample of its own ("register")."""
        fields = {"email": self.email, "password": PASSWORD, "displayName": f"Soak {self.n}", "city": self.city.slug}
        for _ in range(tries):
            data = await self.call("register", REGISTER, {"input": fields}, "memberRegister")
            if data and data["memberRegister"]["accessToken"]:
                self.token = data["memberRegister"]["accessToken"]
                return True
            if self.samples[-1].outcome == "user:EMAIL_TAKEN":
                await self.sign_in()
                return self.token is not None
        return False

    async def sign_in(self) -> None:
        kept, self.token = self.token, None  # an expired token would be refused before the login ran
        data = await self.call("sign-in", LOGIN, {"input": {"email": self.email, "password": PASSWORD}}, "memberLogin")
        self.token = data["memberLogin"]["accessToken"] if data and data["memberLogin"]["accessToken"] else kept

    async def nearby(self) -> None:
        variables = {"near": self._point(), "radiusKm": 5.0, "first": 20}
        data = await self.call("nearbyOutings", LIST, variables, "nearbyOutings", "OutingList")
        if data:
            for edge in data["nearbyOutings"]["edges"][:3]:
                self.pools.outings.append(edge["node"]["id"])

    async def outing_page(self) -> None:
        if self.pools.outings:
            await self.call("outing page", OUTING, {"id": self._some_outing()}, "node", "OutingPage")

    async def inbox(self) -> None:
        await self.call("inbox", INBOX, {"first": 20}, "inbox", "Inbox")

    def _some_outing(self) -> str:
        """Mostly a recent one: a few outings draw most joins, as popular ones do."""
        pool = self.pools.outings
        return pool[-1 - min(len(pool) - 1, int(self.rng.expovariate(1 / 15)))]

    async def join(self) -> None:
        if not self.pools.outings:
            return await self.create_outing()
        outing_id = self._some_outing()
        for _ in range(5):  # one this phone is not in yet, mostly
            if outing_id not in self.joined:
                break
            outing_id = self._some_outing()
        variables = {"id": outing_id, "adults": 1, "children": self.rng.randint(1, 2)}
        if await self.call("join", OUTING, variables, "outingJoin", "JoinOuting"):
            self.joined.append(outing_id)
        return None

    async def leave(self) -> None:
        if not self.joined:
            return await self.join()
        outing_id = self.joined.pop(self.rng.randrange(len(self.joined)))
        await self.call("leave", LEAVE, {"input": {"outingId": outing_id}}, "outingLeave")
        return None

    async def create_outing(self) -> None:
        local = datetime.now(UTC) + timedelta(days=self.rng.randint(2, 60), hours=self.rng.randint(0, 8))
        starts = local.replace(hour=10, minute=0, second=0, microsecond=0, tzinfo=None)
        fields = {
            "title": f"Soak outing {uuid.uuid4().hex[:6]}",
            "category": self.rng.choice(["PARK", "ZOO", "MUSEUM", "PLAYGROUP", "CAFE"]),
            "city": self.city.slug,
            "startsAt": starts.isoformat(timespec="minutes"),
            "endsAt": (starts + timedelta(hours=2)).isoformat(timespec="minutes"),
            "venueName": "Parc",
            "location": self._point(0.02),
            "capacity": self.rng.choice([6, 10, 20]),
        }
        data = await self.call("outing create", CREATE, {"input": fields}, "outingCreate")
        if data:
            outing_id = data["outingCreate"]["outing"]["id"]
            self.own_outings.append(outing_id)
            self.pools.outings.append(outing_id)

    async def update_outing(self) -> None:
        if not self.own_outings:
            return await self.create_outing()
        outing_id = self.rng.choice(self.own_outings[-10:])
        fields = {"outingId": outing_id, "title": f"Soak outing {uuid.uuid4().hex[:6]} (moved)"}
        await self.call("outing update", UPDATE, {"input": fields}, "outingUpdate")
        return None

    async def create_listing(self) -> None:
        fields = {
            "kind": "GIVE",
            "category": self.rng.choice(["TOYS", "CLOTHES", "BOOKS"]),
            "title": f"Soak things {uuid.uuid4().hex[:6]}",
            "city": self.city.slug,
            "condition": "GOOD",
            "size": "3-4 years",  # clothes need one (a 10-min run had 79 REQUIRED refusals without it)
            "pickupLocation": self._point(0.02),
        }
        data = await self.call("listing create", LISTING_CREATE, {"input": fields}, "listingCreate")
        if data:
            self.pools.listings.append((data["listingCreate"]["listing"]["id"], self.address))

    async def reserve_listing(self) -> None:
        others = [i for i, (_, owner) in enumerate(self.pools.listings) if owner != self.address]
        if not others:
            return await self.create_listing()
        listing_id, _ = self.pools.listings[others[-1]]
        del self.pools.listings[others[-1]]  # reserved (or refused): not offered again
        await self.call("listing reserve", LISTING_RESERVE, {"input": {"listingId": listing_id}}, "listingReserve")
        return None

    async def run(self, operation: str) -> None:
        await getattr(self, _METHODS[operation])()


_METHODS = {
    "join": "join",
    "leave": "leave",
    "outing create": "create_outing",
    "outing update": "update_outing",
    "listing create": "create_listing",
    "listing reserve": "reserve_listing",
    "sign-in": "sign_in",
    "nearbyOutings": "nearby",
    "outing page": "outing_page",
    "inbox": "inbox",
}

# How often each comes up in the mix (relative): reads dominate, as in any app.
MIX = {
    "nearbyOutings": 22,
    "outing page": 18,
    "inbox": 12,
    "join": 12,
    "leave": 6,
    "outing create": 6,
    "outing update": 4,
    "listing create": 6,
    "listing reserve": 5,
    "sign-in": 9,
}


def schedule(rng: random.Random, per_second: float, seconds: float, replay: float = 0.0) -> list[tuple[float, str]]:
    """One phone's calls in a mix of ``seconds``: ``[(seconds from the mix's start, operation)]``,
    at exponential intervals (``per_second`` on average), each operation drawn from MIX.

    ``replay`` (seconds; 0: none): when the mix holds two such stretches, its last ``replay``
    seconds repeat the calls of its first, shifted: the same operations at the same offsets
    (common random numbers). A p99 over ~150 calls is moved by where the arrivals' chance bursts
    fall (in the 2026-12-01 21:41 soak, 14-15 calls began within one second twice in the last
    3 minutes, 2.5x the mean, and every process of both sides waited on the 2 cores); with the
    same arrivals at both ends, the first and last stretches differ in what the run wrote between
    them, which is what a flatness target asks about."""
    names, weights = list(MIX), list(MIX.values())
    calls = []
    at = rng.expovariate(per_second)
    while at < seconds:
        calls.append((at, rng.choices(names, weights)[0]))
        at += rng.expovariate(per_second)
    if replay > 0 and 2 * replay <= seconds:
        shift = seconds - replay
        calls = [c for c in calls if c[0] < shift] + [(t + shift, op) for t, op in calls if t < replay]
    return calls


async def run_mix(phones: list[Phone], rate: float, seconds: float, rng: random.Random, replay: float = 0.0) -> None:
    """``rate`` calls per second in all, for ``seconds``: each phone makes the calls of its own
    ``schedule`` (rate / phones each; ``replay``: the last seconds repeat the first), open loop:
    a slow answer delays only that phone's next call, never the others'."""
    loop = asyncio.get_running_loop()
    begun = loop.time()
    end = begun + seconds

    async def drive(phone: Phone, seed: int) -> None:
        for offset, operation in schedule(random.Random(seed), rate / len(phones), seconds, replay):
            await asyncio.sleep(max(0.0, begun + offset - loop.time()))  # the phone's think time
            if loop.time() >= end:  # a phone behind schedule stops with the rest
                return
            await phone.run(operation)

    await asyncio.gather(*(drive(phone, rng.randrange(2**32)) for phone in phones))
