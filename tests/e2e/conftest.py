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


@pytest.fixture
def gql(stack):
    client = httpx.Client(base_url=stack.gateway_url, timeout=10)

    def run(query: str, variables: dict | None = None) -> dict:
        response = client.post("/graphql", json={"query": query, "variables": variables or {}})
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    yield run
    client.close()
