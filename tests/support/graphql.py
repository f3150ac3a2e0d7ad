"""GraphQL over HTTP to the gateway, and signing up: shared by tests/e2e and tests/privacy."""

from __future__ import annotations

import time

import httpx
import jwt

from parentnet_kit import testing

REGISTER = """mutation($input: MemberRegisterInput!) {
  memberRegister(input: $input) { accessToken refreshToken member { id } userErrors { field message code } }
}"""
PASSWORD = "a long test password"


def post(
    http: httpx.Client,
    query: str,
    variables: dict | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    local_address: str | None = None,
) -> httpx.Response:
    """POST a GraphQL request; ``local_address``: the phone address to send it from, for a
    client whose transport is a ``support.phones.PhoneTransport`` (ignored by others)."""
    sent = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    extensions = {"local_address": local_address} if local_address else None
    return http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=sent, extensions=extensions
    )


def register(http: httpx.Client, name: str = "Parent", city: str = "paris", local_address: str | None = None) -> dict:
    """The ``memberRegister`` payload for a new member with a unique email (``email`` added),
    signed up from ``local_address`` when the client routes by address (a new phone each)."""
    email = f"{testing.unique_name('-'.join(name.lower().split()))}@example.org"
    fields = {"email": email, "password": PASSWORD, "displayName": name, "city": city}
    result = post(http, REGISTER, {"input": fields}, local_address=local_address).json()["data"]["memberRegister"]
    return {**result, "email": email}


REFRESH = """mutation($input: MemberTokenRefreshInput!) {
  memberTokenRefresh(input: $input) { accessToken refreshToken userErrors { field message code } }
}"""
# An app refreshes its access token this long before it expires.
REFRESH_MARGIN_SECONDS = 60


class SignedIn(dict):
    """A signed-up member as an app keeps one: ``{"token", "refresh", "id", "email"}``, whose
    ``["token"]`` is renewed with ``memberTokenRefresh`` (from ``local_address``) once it has less
    than ``REFRESH_MARGIN_SECONDS`` left, so a fixture that lives for a whole suite outlives the
    access token's lifetime (members' ``ACCESS_TOKEN_TTL_SECONDS``, 900 s), as a slow run needs."""

    def __init__(self, http: httpx.Client, local_address: str | None, **member: str) -> None:
        super().__init__(**member)
        self._http = http
        self._local_address = local_address

    def __getitem__(self, key: str) -> str:
        if key == "token":
            expires = jwt.decode(super().__getitem__("token"), options={"verify_signature": False})["exp"]
            if expires - time.time() < REFRESH_MARGIN_SECONDS:
                self._refresh()
        return super().__getitem__(key)

    def _refresh(self) -> None:
        answer = post(
            self._http,
            REFRESH,
            {"input": {"refreshToken": super().__getitem__("refresh")}},
            local_address=self._local_address,
        ).json()
        renewed = answer["data"]["memberTokenRefresh"]
        assert renewed["userErrors"] == [], answer
        self.update(token=renewed["accessToken"], refresh=renewed["refreshToken"])
