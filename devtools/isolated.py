"""A Parentnet of its own on the shared servers, for the end-to-end and reliability suites:
its own RabbitMQ virtual host, database names, index prefix and gateway port; removed after."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pymongo import MongoClient

from parentnet_kit import config, testing

from .stack import ROOT, SERVICES, Stack

# What the test suites need from the processes; each line says why. No limit is raised: every
# suite's simulated phones talk from loopback addresses of their own (tests/support/phones.py),
# as many clients do, so the per-address limits are tested as deployed everywhere.
TEST_SETTINGS = {
    # Expiry is checked every second here (30 s in production) so a test can watch it.
    "EXPIRY_SWEEP_SECONDS": "1",
    # Responses say how many RPC calls they cost (extensions.rpcCalls): what the tests count.
    "GATEWAY_TRACE_RPC": "true",
    # A stopping gateway skips its readiness drain (no load balancer here to notice it); the
    # rolling-restart test (tests/deploy) sets its own.
    "GATEWAY_DRAIN_SECONDS": "0",
}

# The privacy suite's settings: the same (it once had to drop the raised limits from these).
LIMITS_AS_DEPLOYED = dict(TEST_SETTINGS)


# Ports this process handed out: the kernel may give a just-released port to the next bind(0),
# and a stack asks for a dozen at once (gateways, /metrics of each process, HAProxy), so two of
# them got the same one (stop 25's CI: the gateway's port was also its /metrics port).
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback TCP port free now and never before returned by this process."""
    for _ in range(100):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("100 binds in a row gave ports already handed out")


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
        "MODERATION_DB": f"{tag}_moderation",
        "CONVERSATIONS_DB": f"{tag}_conversations",
        "SEARCH_INDEX_PREFIX": f"{tag}-",
        **(TEST_SETTINGS if settings is None else settings),
    }


def cleanup(vhost: str, env: dict[str, str]) -> None:
    client = MongoClient(config.mongo_uri())
    for name in ("MEMBERS_DB", "EVENTS_DB", "LISTINGS_DB", "CONVERSATIONS_DB"):
        testing.drop_database(client, env[name])
    testing.drop_database(client, env["MODERATION_DB"])
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


@dataclass
class MixedStack(Stack):
    """A stack whose processes may run from other source trees, and may run twice.

    A process is named ``<kind>`` or ``<kind>@<instance>`` (``events@2``, ``gateway@b``): the
    kind says what runs, the whole name its log, pid file and metrics port. ``trees`` maps a kind
    to the root of a checkout (an extracted release): that kind then runs the tree's code with
    the tree's ``kit`` first on its import path (``PYTHONPATH``), on this checkout's .venv.
    ``gateway_ports`` gives a gateway instance its own port (the first one uses ``gateway_port``).
    """

    trees: dict[str, Path] = field(default_factory=dict)
    gateway_ports: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def kind(name: str) -> str:
        """``events@2`` -> ``events``."""
        return name.split("@", 1)[0]

    def command(self, name: str) -> tuple[list[str], Path]:
        kind = self.kind(name)
        argv, cwd = super().command(kind)
        tree = self.trees.get(kind)
        return argv, (tree / cwd.relative_to(ROOT) if tree else cwd)

    def port_of(self, name: str) -> int:
        """The API port of gateway instance ``name``."""
        return self.gateway_ports.get(name, self.gateway_port)

    def start(self, name: str) -> subprocess.Popen:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        argv, cwd = self.command(name)
        env = {**os.environ, **self.env, "GATEWAY_PORT": str(self.port_of(name)), "PYTHONUNBUFFERED": "1"}
        tree = self.trees.get(self.kind(name))
        if tree is not None:
            # The tree's kit (and, for the gateway, its package) before this checkout's
            # editable installs, which .venv finds only after PYTHONPATH.
            env["PYTHONPATH"] = os.pathsep.join(str(tree / part) for part in ("kit", "gateway"))
        if name in self.metrics_ports:
            env["METRICS_PORT"] = str(self.metrics_ports[name])
        env.update(self.auth_keys(env))
        # As deployed: the gateway signs identity tokens, the services verify (and require) them.
        env.update(self.identity_keys(self.kind(name), env))
        log = open(self.run_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        (self.run_dir / f"{name}.pid").write_text(str(process.pid))
        self.processes[name] = process
        return process


@contextlib.contextmanager
def mixed_stack(
    label: str,
    run_dir: Path,
    trees: dict[str, Path] | None = None,
    settings: dict[str, str] | None = None,
    start: bool = True,
) -> Iterator[MixedStack]:
    """``isolated_stack`` with processes from other source trees (``MixedStack``); removed after."""
    vhost, env = isolated_env(label, settings)
    running = MixedStack(env=env, run_dir=run_dir, gateway_port=free_port(), trees=dict(trees or {}))
    running.metrics_ports = {name: free_port() for name in ("gateway", *SERVICES)}
    try:
        if start:
            running.start_all()
            running.wait_healthy(90)
        yield running
    finally:
        for name in list(running.processes):
            running.stop(name)
        cleanup(vhost, env)
