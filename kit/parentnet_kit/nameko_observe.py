"""What ops see of a nameko service: ``observed = Observed()`` on the service class.

- Every worker runs with the request id its caller sent (the ``x-request-id`` RPC header,
  which nameko hands the worker as context data) bound, so its log lines and the events it
  builds carry it (``request_ids``).
- One log line per RPC handled: ``{"msg": "rpc handled", "rpc": "events.create_outing",
  "duration_ms": 12.3, "outcome": "ok"}`` (``"error"`` and the exception's type when it
  raised; never its arguments or result), and the ``parentnet_rpc_*`` metrics.
- With ``METRICS_PORT`` set (config, from the environment; 0 or unset: off), a small HTTP
  server on ``METRICS_HOST`` (default 127.0.0.1) answers, outside the worker pool:
  ``GET /metrics`` Prometheus' text format; ``GET /alive`` 200 while the process's event loop
  runs; ``GET /ready`` 200 when the container is running and its broker and store answer
  (``MONGO_URI``, or ``ELASTICSEARCH_URL``'s cluster health, from its config, within 2 s), else 503 with which
  part is down, as ``{"status": "ready"|"not ready", "parts": {"rabbitmq": "up", ...}}``.

Imports nameko and eventlet: services only.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

import eventlet
import eventlet.wsgi
from kombu import Connection
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo import MongoClient

from . import metrics, request_ids

log = logging.getLogger(__name__)
CHECK_TIMEOUT = 2.0  # seconds a readiness check waits for a server
CHECK_EVERY = 1.0  # a readiness answer is reused this long: probes stay cheap

Answer = tuple[str, list[tuple[str, str]], bytes]


class Observed(DependencyProvider):
    """Request ids, a log line and metrics per RPC handled, and the process's health endpoints."""

    def setup(self) -> None:
        config = self.container.config
        self.service = self.container.service_name
        self.amqp_uri = config.get("AMQP_URI")
        self.mongo_uri = config.get("MONGO_URI")
        self.elasticsearch_url = config.get("ELASTICSEARCH_URL")
        self.port = int(config.get("METRICS_PORT") or 0)
        self.host = str(config.get("METRICS_HOST") or "127.0.0.1")
        self._running: dict[int, tuple[Any, float]] = {}
        self._ready: tuple[float, int, dict[str, str]] | None = None
        self._mongo: MongoClient | None = None
        self._socket: Any = None
        self._server: Any = None
        if self.port:
            # Bound here, so a port already taken stops the service at start, not later.
            self._socket = eventlet.listen((self.host, self.port))

    def start(self) -> None:
        if self._socket is not None:
            self._server = self.container.spawn_managed_thread(self._serve, identifier="observed.http")
            log.info("metrics and health on http://%s:%d (/metrics, /alive, /ready)", self.host, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.kill()
            self._server = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._mongo is not None:
            self._mongo.close()
            self._mongo = None

    # -- per worker -------------------------------------------------------------------------
    def worker_setup(self, worker_ctx: Any) -> None:
        sent = worker_ctx.data.get(request_ids.HEADER)
        well_formed = isinstance(sent, str) and request_ids.WELL_FORMED.fullmatch(sent)
        token = request_ids.bind(sent if well_formed else None)
        self._running[id(worker_ctx)] = (token, time.perf_counter())

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        running = self._running.get(id(worker_ctx))
        if running is None or not isinstance(worker_ctx.entrypoint, Rpc):
            return
        took = time.perf_counter() - running[1]
        method = worker_ctx.entrypoint.method_name
        outcome = "ok" if exc_info is None else "error"
        metrics.RPC_HANDLED.labels(self.service, method, outcome).inc()
        metrics.RPC_SECONDS.labels(self.service, method).observe(took)
        fields: dict[str, Any] = {
            "rpc": f"{self.service}.{method}",
            "duration_ms": round(took * 1000, 1),
            "outcome": outcome,
        }
        if exc_info is not None:
            fields["error"] = exc_info[0].__name__
        log.info("rpc handled", extra={"fields": fields})

    def worker_teardown(self, worker_ctx: Any) -> None:
        running = self._running.pop(id(worker_ctx), None)
        if running is not None:
            request_ids.unbind(running[0])

    # -- HTTP: /metrics, /alive, /ready -----------------------------------------------------
    def _serve(self) -> None:
        eventlet.wsgi.server(self._socket, self._app, log_output=False, debug=False)

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        status, headers, body = self.answer(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
        start_response(status, headers)
        return [body]

    def answer(self, method: str, path: str) -> Answer:
        """The HTTP answer to ``method path``: (status line, headers, body)."""
        if method not in ("GET", "HEAD"):
            return _json("405 Method Not Allowed", {"error": "GET only"})
        if path == "/metrics":
            return "200 OK", [("Content-Type", CONTENT_TYPE_LATEST)], generate_latest()
        if path == "/alive":
            return _json("200 OK", {"status": "alive"})
        if path == "/ready":
            status, parts = self.readiness()
            ready = status == 200
            return _json(
                "200 OK" if ready else "503 Service Unavailable",
                {
                    "status": "ready" if ready else "not ready",
                    "parts": parts,
                },
            )
        return _json("404 Not Found", {"error": "try /metrics, /alive or /ready"})

    def readiness(self) -> tuple[int, dict[str, str]]:
        """(200 or 503, each part's state); checked at most once a second."""
        now = time.monotonic()
        if self._ready is not None and now - self._ready[0] < CHECK_EVERY:
            return self._ready[1], self._ready[2]
        parts = {"container": "up" if self.container.started else "down: not started"}
        parts["rabbitmq"] = _check(self._check_broker)
        if self.mongo_uri:
            parts["mongo"] = _check(self._check_mongo)
        if self.elasticsearch_url:
            parts["elasticsearch"] = _check(self._check_elasticsearch)
        status = 200 if all(state == "up" for state in parts.values()) else 503
        self._ready = (now, status, parts)
        return status, parts

    def _check_broker(self) -> None:
        with Connection(self.amqp_uri, connect_timeout=CHECK_TIMEOUT) as connection:
            connection.connect()

    def _check_mongo(self) -> None:
        if self._mongo is None:
            self._mongo = MongoClient(self.mongo_uri, serverSelectionTimeoutMS=int(CHECK_TIMEOUT * 1000), connect=False)
        self._mongo.admin.command("ping")

    def _check_elasticsearch(self) -> None:
        url = f"{self.elasticsearch_url.rstrip('/')}/_cluster/health"
        with urllib.request.urlopen(url, timeout=CHECK_TIMEOUT) as response:
            response.read()


def _check(probe: Callable[[], None]) -> str:
    try:
        with eventlet.Timeout(CHECK_TIMEOUT + 0.5):
            probe()
    except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - any failure is "down"
        return f"down: {type(exc).__name__}"
    return "up"


def _json(status: str, body: dict[str, Any]) -> Answer:
    return status, [("Content-Type", "application/json")], json.dumps(body).encode()
