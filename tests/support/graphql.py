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
) -> httpx.Response:
    sent = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    return http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=sent)


def register(http: httpx.Client, name: str = "Parent", city: str = "paris") -> dict:
    """The ``memberRegister`` payload for a new member with a unique email (``email`` added)."""
    email = f"{testing.unique_name('-'.join(name.lower().split()))}@example.org"
    fields = {"email": email, "password": PASSWORD, "displayName": name, "city": city}
    result = post(http, REGISTER, {"input": fields}).json()["data"]["memberRegister"]
    return {**result, "email": email}
