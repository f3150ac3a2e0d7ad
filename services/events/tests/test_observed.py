"""The services' observability hook (parentnet_kit.nameko_observe.Observed), in a real container."""

from __future__ import annotations

import json
import logging
import socket
import urllib.error
import urllib.request

import pytest
from nameko.testing.services import entrypoint_hook

from parentnet_kit import request_ids
from parentnet_kit.envelope import Event
from parentnet_kit.nameko_observe import Observed
from parentnet_kit.nameko_rpc import rpc


class Watched:
    name = "watched"
    observed = Observed()

    @rpc
    def request_id_seen(self):
        built = Event(type="thing_done", source="watched", aggregate_id="a1", version=1, city=None, data={})
        return {"bound": request_ids.current(), "event": built.request_id}

    @rpc
    def fail(self):
        raise ValueError("no")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def watched(container_factory, service_config):
    port = free_port()
    container = container_factory(Watched, {**service_config, "METRICS_PORT": port})
    container.start()
    return container, port


def test_a_worker_runs_with_its_callers_request_id_and_logs_one_line(watched, caplog):
    container, _ = watched
    with caplog.at_level(logging.INFO, logger="parentnet_kit.nameko_observe"):
        with entrypoint_hook(container, "request_id_seen", context_data={"x-request-id": "req-9"}) as call:
            assert call() == {"bound": "req-9", "event": "req-9"}
        with entrypoint_hook(container, "request_id_seen", context_data={"x-request-id": "bad id"}) as call:
            assert call() == {"bound": None, "event": None}  # malformed: not bound
    [line, _] = [r for r in caplog.records if r.getMessage() == "rpc handled"]
    assert line.fields["rpc"] == "watched.request_id_seen" and line.fields["outcome"] == "ok"
    assert line.fields["duration_ms"] >= 0


def test_alive_ready_and_metrics_answer_on_their_port(watched):
    container, port = watched
    with entrypoint_hook(container, "fail") as call, pytest.raises(ValueError):
        call()
    assert get(port, "/alive") == (200, b'{"status": "alive"}')
    status, body = get(port, "/ready")
    assert status == 200, body
    assert json.loads(body) == {"status": "ready", "parts": {"container": "up", "rabbitmq": "up", "mongo": "up"}}
    status, metrics = get(port, "/metrics")
    assert status == 200
    assert b'parentnet_rpc_handled_total{method="fail",outcome="error",service="watched"} 1.0' in metrics
    assert b'parentnet_rpc_handle_seconds_count{method="fail",service="watched"} 1.0' in metrics
    assert get(port, "/elsewhere")[0] == 404


def test_not_ready_when_its_store_does_not_answer(container_factory, service_config):
    port = free_port()
    unreachable = {**service_config, "MONGO_URI": f"mongodb://127.0.0.1:{free_port()}/", "METRICS_PORT": port}
    container_factory(Watched, unreachable).start()
    status, body = get(port, "/ready")
    assert status == 503
    assert json.loads(body)["parts"]["mongo"].startswith("down")
