"""A rolling restart under steady load ends with 0 failed requests (issue 21).

Two gateways behind HAProxy (Debian's, installed by provisioning; health checks on ``/ready``,
as a production load balancer would), the four services, and simulated phones each talking from
its own loopback address (the gateway trusts HAProxy's ``X-Forwarded-For``, so the limits as
deployed apply per phone). While they send a steady mix of queries and mutations, each service
is restarted the way docs/operations.md tells ops to: a new instance started and ready, then
the old one sent SIGTERM (it drains its running RPCs and event handlers, then exits); then each
gateway in turn: SIGTERM (``/ready`` goes 503, HAProxy takes it out, in-flight requests finish,
websockets are closed with 1012), a new one started on its port. Every request any phone sent
must have succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import httpx
import pytest
from load import Phone, Tally
from support.phones import next_address
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from devtools.isolated import LIMITS_AS_DEPLOYED, free_port, mixed_stack
from devtools.stack import SERVICES
from parentnet_kit.testing import wait_for

PHONES = 6
HAPROXY_CONFIG = """global
    maxconn 2000
defaults
    mode http
    timeout connect 2s
    timeout client 90s
    timeout server 90s
    timeout tunnel 1h
    option forwardfor
    # A connection refused (the old gateway has closed its socket) is tried on the other one.
    retries 3
    option redispatch 1
frontend api
    bind 127.0.0.1:{port}
    default_backend gateways
backend gateways
    balance roundrobin
    option httpchk GET /ready
    http-check expect status 200
    default-server inter 300ms fall 1 rise 2
    server a 127.0.0.1:{a} check
    server b 127.0.0.1:{b} check
listen stats
    bind 127.0.0.1:{stats}
    stats enable
    stats uri /stats
"""


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if found is None:
        pytest.fail("haproxy is not installed: run `bash scripts/provision.sh up` (it installs Debian's haproxy)")
    return found


@contextlib.contextmanager
def haproxy(run_dir: Path, port: int, a: int, b: int, stats: int):
    config = run_dir / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(port=port, a=a, b=b, stats=stats))
    log = open(run_dir / "haproxy.log", "ab")  # noqa: SIM115 - closed below
    process = subprocess.Popen([haproxy_binary(), "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def backend_states(stats: int) -> dict[str, str]:
    """HAProxy's view of each gateway: ``{"a": "UP", "b": "DOWN"}``."""
    try:
        text = httpx.get(f"http://127.0.0.1:{stats}/stats;csv", timeout=5).text
    except httpx.HTTPError:
        return {}
    rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
    return {row["svname"]: row["status"] for row in rows if row["pxname"] == "gateways" and row["svname"] in ("a", "b")}


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ready", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


class SocketWatcher(threading.Thread):
    """A graphql-transport-ws connection (acknowledged), kept open until the server closes it;
    ``code`` is then the close code it sent."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.code, self.acked = url, None, threading.Event()

    def run(self) -> None:
        asyncio.run(self._watch())

    async def _watch(self) -> None:
        async with connect(self.url, subprotocols=["graphql-transport-ws"], open_timeout=10) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await socket.recv())["type"] == "connection_ack"
            self.acked.set()
            try:
                while True:
                    await socket.recv()
            except ConnectionClosed as closed:
                self.code = closed.rcvd.code if closed.rcvd else None


def test_each_process_restarted_one_at_a_time_under_load_fails_no_request(tmp_path):
    run_dir = tmp_path / "run"
    # Limits as deployed; the gateways trust HAProxy's X-Forwarded-For, as behind a real one.
    settings = {**LIMITS_AS_DEPLOYED, "GATEWAY_TRUST_FORWARDED": "true", "GATEWAY_DRAIN_SECONDS": "2"}
    with mixed_stack("rolling", run_dir, settings=settings, start=False) as stack:
        port_b, lb_port, stats = free_port(), free_port(), free_port()
        stack.gateway_ports = {"gateway@b": port_b}
        for service in SERVICES:
            stack.metrics_ports[f"{service}@2"] = free_port()
        stack.start_all()
        stack.start("gateway@b")
        stack.wait_healthy(90)
        url = {"gateway": stack.gateway_url, "gateway@b": f"http://127.0.0.1:{port_b}"}
        wait_for(lambda: ready(url["gateway@b"]), timeout=60, what="the second gateway ready")

        with haproxy(run_dir, lb_port, stack.gateway_port, port_b, stats):
            wait_for(lambda: backend_states(stats) == {"a": "UP", "b": "UP"}, 20, what="both gateways up in HAProxy")
            tally, outings, stop = Tally(), [], threading.Event()
            phones = [Phone(f"http://127.0.0.1:{lb_port}", next_address(), tally, outings, stop) for _ in range(PHONES)]
            for phone in phones:
                phone.start()
            for phone in phones:
                assert phone.signed_up.wait(60), f"{phone.name} could not sign up: see {run_dir}"
            restarts: list[str] = []

            def load_goes_on(more: int = 30) -> None:
                target = tally.sent + more
                wait_for(lambda: tally.sent >= target, timeout=60, what=f"{more} more requests answered")

            try:
                load_goes_on()
                # Services: the new instance first, ready, then SIGTERM to the old one.
                for service in SERVICES:
                    new = f"{service}@2"
                    stack.start(new)
                    wait_for(lambda new=new: ready(stack.metrics_url(new)), 60, what=f"{new} ready")
                    old = stack.processes[service]
                    stack.stop(service, timeout=40)
                    assert old.poll() is not None, f"{service} did not stop within 40 s of SIGTERM"
                    restarts.append(f"{service} (exit {old.returncode})")
                    load_goes_on()
                # Gateways: one at a time, each drained and replaced on its own port.
                for name, server in (("gateway", "a"), ("gateway@b", "b")):
                    watcher = SocketWatcher(url[name].replace("http://", "ws://") + "/graphql")
                    watcher.start()
                    assert watcher.acked.wait(10), "no websocket to watch the close code on"
                    old = stack.processes[name]
                    stack.stop(name, timeout=45)
                    assert old.poll() is not None, f"{name} did not stop within 45 s of SIGTERM"
                    watcher.join(10)
                    assert watcher.code == 1012, f"{name} closed its websocket with {watcher.code}, not 1012"
                    restarts.append(f"{name} (exit {old.returncode}, websocket closed {watcher.code})")
                    stack.start(name)
                    wait_for(lambda name=name: ready(url[name]), 60, what=f"{name} ready again")
                    wait_for(lambda server=server: backend_states(stats).get(server) == "UP", 20, what=f"{server} UP")
                    load_goes_on()
            finally:
                stop.set()
                for phone in phones:
                    phone.join(90)

        report = (
            f"{tally.sent} requests from {PHONES} phones, {tally.failed} failed; "
            f"restarted: {', '.join(restarts)}; by operation: {tally.by_operation}"
        )
        print(report)
        (run_dir / "rolling.txt").write_text(report + "\n" + "\n".join(tally.failures))
        assert tally.failed == 0, f"{report}\nfirst failures:\n" + "\n".join(tally.failures)
        assert len(restarts) == len(SERVICES) + 2
