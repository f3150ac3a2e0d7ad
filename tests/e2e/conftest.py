"""An isolated Parentnet for the end-to-end tests: the five real processes on the real servers,
with their own RabbitMQ virtual host, database names, index prefix and gateway port."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from devtools.stack import Stack  # noqa: E402
from parentnet_kit import config, testing  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    vhost, amqp_uri = testing.create_vhost("e2e")
    tag = testing.unique_name("e2e")
    env = {
        "AMQP_URI": amqp_uri,
        "MONGO_URI": config.mongo_uri(),
        "ELASTICSEARCH_URL": config.elasticsearch_url(),
        "MEMBERS_DB": f"{tag}_members",
        "EVENTS_DB": f"{tag}_events",
        "LISTINGS_DB": f"{tag}_listings",
        "SEARCH_INDEX_PREFIX": f"{tag}-",
        # Every test member signs up from 127.0.0.1; the per-address limit is tested on its own.
        "REGISTRATIONS_PER_CLIENT_HOUR": "100000",
        # Expiry is checked every second here (30 s in production) so a test can watch it.
        "EXPIRY_SWEEP_SECONDS": "1",
        # Responses say how many RPC calls they cost (extensions.rpcCalls): what the tests count.
        "GATEWAY_TRACE_RPC": "true",
        # Every test calls from 127.0.0.1; the per-client budget is tested on its own (gateway tests).
        "GATEWAY_RATE_POINTS_PER_MINUTE": "1000000000",
    }
    running = Stack(env=env, run_dir=tmp_path_factory.mktemp("run"), gateway_port=free_port())
    running.start_all()
    try:
        running.wait_healthy(90)
        yield running
    finally:
        running.stop_all()
        from pymongo import MongoClient

        client = MongoClient(config.mongo_uri())
        for name in ("MEMBERS_DB", "EVENTS_DB", "LISTINGS_DB"):
            client.drop_database(env[name])
        httpx.delete(f"{config.elasticsearch_url()}/{tag}-*")
        testing.delete_vhost(vhost)


REGISTER = """mutation($input: MemberRegisterInput!) {
  memberRegister(input: $input) { accessToken refreshToken member { id } userErrors { field message code } }
}"""


@pytest.fixture(scope="session")
def http(stack):
    client = httpx.Client(base_url=stack.gateway_url, timeout=10)
    yield client
    client.close()


def post(http: httpx.Client, query: str, variables: dict | None = None, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)


@pytest.fixture(scope="session")
def sign_up(http):
    """Register a new member; returns {"token", "refresh", "id"} (id is the global ID)."""

    def register(name: str = "Parent", city: str = "paris") -> dict:
        email = f"{testing.unique_name('-'.join(name.lower().split()))}@example.org"
        fields = {"email": email, "password": "a long test password", "displayName": name, "city": city}
        result = post(http, REGISTER, {"input": fields}).json()["data"]["memberRegister"]
        assert result["userErrors"] == [], result
        return {
            "token": result["accessToken"],
            "refresh": result["refreshToken"],
            "id": result["member"]["id"],
            "email": email,
        }

    return register


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
