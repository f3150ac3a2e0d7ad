"""An isolated Parentnet for the end-to-end tests: the five real processes on the real servers,
with their own RabbitMQ virtual host, database names, index prefix and gateway port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support.graphql import SignedIn, post, register  # noqa: E402 - e2e tests import post from here
from support.phones import PhoneTransport, next_address  # noqa: E402

from devtools.isolated import isolated_stack  # noqa: E402
from parentnet_kit.contract.events import OFF_CONTRACT  # noqa: E402


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    with isolated_stack("e2e", tmp_path_factory.mktemp("run")) as running:
        yield running
        # Every event published or consumed in the run was on the event catalogue
        # (parentnet_kit.contract.events logs one that was not, in the process's JSON log).
        off = [
            f"{log.stem}: {line}"
            for log in sorted(running.run_dir.glob("*.log"))
            for line in log.read_text(errors="replace").splitlines()
            if OFF_CONTRACT in line
        ]
        assert not off, "events off the contract:\n" + "\n".join(off[:20])


@pytest.fixture(scope="session")
def phones():
    """The session client's transport: each test talks from a loopback address of its own, and
    each member signs up from another (the stack keeps the per-address limits as deployed)."""
    transport = PhoneTransport()
    yield transport
    transport.close()


@pytest.fixture(autouse=True)
def _a_phone_per_test(phones):
    phones.address = next_address()


@pytest.fixture(scope="session")
def http(stack, phones):
    # As a client of the GraphQL-over-HTTP spec: a request refused before execution is HTTP 400
    # (with legacy application/json it would be 200, as the spec says for that type). It waits
    # longer than the gateway's deadline for a mutation's calls (GATEWAY_MUTATION_RPC_TIMEOUT, 30 s).
    client = httpx.Client(
        base_url=stack.gateway_url,
        timeout=45,
        headers={"accept": "application/graphql-response+json"},
        transport=phones,
    )
    yield client
    client.close()


@pytest.fixture(scope="session")
def sign_up(http):
    """Register a new member, from a phone of its own; returns {"token", "refresh", "id"} (id is
    the global ID)."""

    def sign(name: str = "Parent", city: str = "paris") -> dict:
        phone = next_address()
        result = register(http, name, city, local_address=phone)
        assert result["userErrors"] == [], result
        # SignedIn: its token is refreshed as an app's is, so the session's organizer outlives
        # the 15-minute access token in a slow run (a CI run on a busy machine took 17 minutes).
        return SignedIn(
            http,
            phone,
            token=result["accessToken"],
            refresh=result["refreshToken"],
            id=result["member"]["id"],
            email=result["email"],
        )

    return sign


@pytest.fixture(scope="session")
def organizer(sign_up):
    return sign_up("Organizer")


@pytest.fixture(scope="session")
def gql(http, organizer):
    """Run a query signed in (as the session's organizer unless ``token`` says otherwise); no errors allowed."""

    def run(query: str, variables: dict | None = None, token: str | None = None) -> dict:
        body = post(http, query, variables, token or organizer["token"]).json()
        assert "errors" not in body, body
        return body["data"]

    return run


def run_backfill(stack, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m search.backfill *args`` as an operator runs it, from the checkout, for
    ``stack``; ``env``: the whole environment (default: this process's with the stack's and its
    operator key, ``stack.operator_env()``). Its output captured as text; 120 s at most."""
    return subprocess.run(
        [sys.executable, "-m", "search.backfill", *args],
        cwd=ROOT,
        env=env if env is not None else {**os.environ, **stack.operator_env()},
        capture_output=True,
        text=True,
        timeout=120,
    )
