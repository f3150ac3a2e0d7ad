"""A Parentnet of its own on the shared servers, for the end-to-end and reliability suites:
its own RabbitMQ virtual host, database names, index prefix and gateway port; removed after."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
from pymongo import MongoClient

from parentnet_kit import config, testing

from .stack import SERVICES, Stack

# What the test suites need from the processes; each line says why.
TEST_SETTINGS = {
    # Every test member signs up from 127.0.0.1; the per-address limit is tested on its own.
    "REGISTRATIONS_PER_CLIENT_HOUR": "100000",
    # Expiry is checked every second here (30 s in production) so a test can watch it.
    "EXPIRY_SWEEP_SECONDS": "1",
    # Responses say how many RPC calls they cost (extensions.rpcCalls): what the tests count.
    "GATEWAY_TRACE_RPC": "true",
    # Every test calls from 127.0.0.1; the per-client budget is tested on its own (gateway tests).
    "GATEWAY_RATE_POINTS_PER_MINUTE": "1000000000",
}

# The privacy suite attacks the limits as deployed: only what is not a limit is kept.
LIMITS_AS_DEPLOYED = {
    key: value
    for key, value in TEST_SETTINGS.items()
    if key not in ("REGISTRATIONS_PER_CLIENT_HOUR", "GATEWAY_RATE_POINTS_PER_MINUTE")
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_env(label: str, settings: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """A new vhost and names; returns (vhost, env). ``settings``: TEST_SETTINGS unless given."""
    vhost, amqp_uri = testing.create_vhost(label)
    tag = testing.unique_name(label)
    return vhost, {
        "AMQP_URI": amqp_uri,
        "MONGO_URI": config.mongo_uri(),
        "ELASTICSEARCH_URL": config.elasticsearch_url(),
        "MEMBERS_DB": f"{tag}_members",
        "EVENTS_DB": f"{tag}_events",
        "LISTINGS_DB": f"{tag}_listings",
        "CONVERSATIONS_DB": f"{tag}_conversations",
        "SEARCH_INDEX_PREFIX": f"{tag}-",
        **(TEST_SETTINGS if settings is None else settings),
    }


def cleanup(vhost: str, env: dict[str, str]) -> None:
    client = MongoClient(config.mongo_uri())
    for name in ("MEMBERS_DB", "EVENTS_DB", "LISTINGS_DB", "CONVERSATIONS_DB"):
        client.drop_database(env[name])
    client.close()
    with contextlib.suppress(httpx.HTTPError):
        httpx.delete(f"{config.elasticsearch_url()}/{env['SEARCH_INDEX_PREFIX']}*", timeout=30)
    with contextlib.suppress(Exception):
        testing.delete_vhost(vhost)


@contextlib.contextmanager
def isolated_stack(
    label: str, run_dir: Path, start: bool = True, settings: dict[str, str] | None = None
) -> Iterator[Stack]:
    vhost, env = isolated_env(label, settings)
    running = Stack(env=env, run_dir=run_dir, gateway_port=free_port())
    running.metrics_ports = {name: free_port() for name in ("gateway", *SERVICES)}
    try:
        if start:
            running.start_all()
            running.wait_healthy(90)
        yield running
    finally:
        running.stop_all()
        cleanup(vhost, env)
