"""GraphQL over HTTP to the gateway, and signing up: shared by tests/e2e and tests/privacy."""

from __future__ import annotations

import httpx

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
