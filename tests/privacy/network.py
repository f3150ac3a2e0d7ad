"""Members talking to the isolated gateway as real clients do: each account from its own
loopback source address (so the gateway's per-address limits apply as deployed), every
response kept for the leak scan, and attackers that move on to a fresh account when a limit
stops them."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from support.graphql import PASSWORD, REGISTER, post

from parentnet_kit import testing

# 127.0.0.1 is left to the servers and other suites; victims talk from .2, attackers from .10 on.
VICTIM_ADDRESS = "127.0.0.2"
ATTACKER_ADDRESSES = (f"127.0.0.{n}" for n in range(10, 255))
LIMIT_CODES = {"RATE_LIMITED", "THROTTLED"}
UNAVAILABLE_ATTEMPTS = 3
REFRESH = """mutation($t: String!) {
  memberTokenRefresh(input: {refreshToken: $t}) { accessToken refreshToken userErrors { code } } }"""


class RateLimited(Exception):
    """The gateway or a service refused this account (or address) any more asks for now."""


class Refused(Exception):
    """A probe refused for another reason (userErrors): the attacker cannot ask that question."""


@dataclass
class Response:
    who: str
    query: str
    text: str
    owner_view: bool  # the owner's own view of their listing, or the accepted reserver's


@dataclass
class Recorder:
    responses: list[Response] = field(default_factory=list)

    def add(self, who: str, query: str, text: str, owner_view: bool) -> None:
        self.responses.append(Response(who, query, text, owner_view))


def limit_codes(value: Any) -> set[str]:
    """Every limit code in a response's data (userErrors anywhere)."""
    if isinstance(value, dict):
        found = {value["code"]} if value.get("code") in LIMIT_CODES else set()
        for inner in value.values():
            found |= limit_codes(inner)
        return found
    if isinstance(value, list):
        return set().union(*(limit_codes(v) for v in value)) if value else set()
    return set()


@dataclass
class Account:
    name: str
    address: str
    client: httpx.Client
    token: str
    refresh: str
    id: str
    recorder: Recorder

    def _refresh(self) -> None:
        """Access tokens last 15 minutes and the suite runs longer: trade the refresh token."""
        response = post(self.client, REFRESH, {"t": self.refresh})
        self.recorder.add(self.name, REFRESH, response.text, False)
        fresh = response.json()["data"]["memberTokenRefresh"]
        assert fresh["userErrors"] == [], fresh
        self.token, self.refresh = fresh["accessToken"], fresh["refreshToken"]

    def gql(self, query: str, variables: dict | None = None, *, owner_view: bool = False) -> dict:
        """Data of a signed-in request. RateLimited on a limit (HTTP 429, or a RATE_LIMITED /
        THROTTLED code), AssertionError on any other top-level error.

        A service too slow to answer (SERVICE_UNAVAILABLE: the machine is shared) is asked again,
        as an app would, under the same Idempotency-Key, so a creation is never made twice."""
        headers = {"Idempotency-Key": uuid.uuid4().hex} if query.lstrip().startswith("mutation") else {}
        for attempt in range(UNAVAILABLE_ATTEMPTS):
            response = post(self.client, query, variables, self.token, headers)
            self.recorder.add(self.name, query, response.text, owner_view)
            if response.status_code == 401:
                self._refresh()
                response = post(self.client, query, variables, self.token, headers)
                self.recorder.add(self.name, query, response.text, owner_view)
            if response.status_code == 429:
                raise RateLimited(response.text)
            body = response.json()
            codes = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
            if codes & LIMIT_CODES:
                raise RateLimited(response.text)
            if codes != {"SERVICE_UNAVAILABLE"} or attempt == UNAVAILABLE_ATTEMPTS - 1:
                break
        assert "errors" not in body, body
        if limit_codes(body["data"]):
            raise RateLimited(response.text)
        return body["data"]


class Network:
    """Sign-ups from loopback addresses, each address used until the gateway throttles it."""

    def __init__(self, gateway_url: str, recorder: Recorder) -> None:
        self.gateway_url = gateway_url
        self.recorder = recorder
        self.clients: dict[str, httpx.Client] = {}
        self.addresses: Iterator[str] = iter(ATTACKER_ADDRESSES)
        self.address = next(self.addresses)
        self.counter = itertools.count(1)

    def client(self, address: str) -> httpx.Client:
        if address not in self.clients:
            transport = httpx.HTTPTransport(local_address=address)
            self.clients[address] = httpx.Client(base_url=self.gateway_url, timeout=30, transport=transport)
        return self.clients[address]

    def sign_up(self, name: str, address: str | None = None) -> Account:
        """A new member; an attacker (no ``address``) moves to the next address when throttled.
        A sign-up the members service was too slow for (argon2 on a shared machine) is made
        again with another email."""
        for _ in range(20):
            where = address or self.address
            http = self.client(where)
            email = f"{testing.unique_name('-'.join(name.lower().split()))}@example.org"
            fields = {"email": email, "password": PASSWORD, "displayName": name, "city": "paris"}
            response = post(http, REGISTER, {"input": fields})
            self.recorder.add(name, REGISTER, response.text, False)
            body = response.json() if response.status_code in (200, 429) else {}
            codes = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
            result = (body.get("data") or {}).get("memberRegister") or {"userErrors": []}
            codes |= {e["code"] for e in result["userErrors"]}
            if not codes and result.get("accessToken"):
                token, refresh, member = result["accessToken"], result["refreshToken"], result["member"]["id"]
                return Account(name, where, http, token, refresh, member, self.recorder)
            if codes & LIMIT_CODES or response.status_code == 429:
                assert address is None, body
                self.address = next(self.addresses)
            else:
                assert codes == {"SERVICE_UNAVAILABLE"}, (response.status_code, body)
        raise AssertionError(f"no sign-up for {name} in 20 tries")

    def close(self) -> None:
        for http in self.clients.values():
            http.close()


class Attackers:
    """The accounts one attack uses: when a limit stops one, the next (new) account carries on.

    ``prepare(account)`` readies a fresh account (join a group, say) before its first probe.
    ``ask(probe)`` returns ``probe(account)`` or None once ``max_accounts`` are all used up."""

    def __init__(
        self,
        network: Network,
        label: str,
        prepare: Callable[[Account], None] | None = None,
        max_accounts: int = 40,
    ) -> None:
        self.network = network
        self.label = label
        self.prepare = prepare
        self.max_accounts = max_accounts
        self.accounts: list[Account] = []
        self.probes = 0

    def _fresh(self) -> Account | None:
        if len(self.accounts) >= self.max_accounts:
            return None
        account = self.network.sign_up(f"{self.label} {len(self.accounts) + 1}")
        if self.prepare:
            self.prepare(account)
        self.accounts.append(account)
        return account

    @property
    def current(self) -> Account | None:
        return self.accounts[-1] if self.accounts else self._fresh()

    def ask(self, probe: Callable[[Account], Any]) -> Any:
        account = self.current
        while account is not None:
            try:
                answer = probe(account)
            except RateLimited:
                account = self._fresh()
                continue
            except Refused:
                return None
            self.probes += 1
            return answer
        return None
