"""What ops see of the gateway: a request id per request, an access log, Prometheus metrics.

- ``RequestIds`` (the outermost ASGI middleware) takes a client's ``X-Request-ID`` when it is
  well-formed (``parentnet_kit.request_ids``), else makes one; binds it for the request (every
  log line, every RPC's ``x-request-id`` header, so every event the services build); echoes it
  in the response's ``X-Request-ID`` header (and the websocket handshake's); and writes one
  access log line per HTTP request: ``{"msg": "http request", "method": "POST", "route":
  "/graphql", "status": 200, "duration_ms": 8.1}``. Never the query string, a header's value,
  the client's address or a body.
- ``log_operation`` writes one line per GraphQL operation: its type, name (a valid GraphQL name
  or nothing), root fields, HTTP status, outcome and error codes, duration, cost in points and
  RPC calls. Never variables, tokens, message bodies or positions.
- Metrics (prometheus-client's default registry), served on ``METRICS_PORT`` by
  ``serve_metrics``, apart from the API's port. Labels take values from closed sets only: route
  templates, HTTP methods and statuses, the schema's root field names (of validated operations;
  ``-`` for a refused one), service and method names from the code; never an operation's name,
  which the client chooses.

No I/O here but the metrics server.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from graphql import FieldNode, OperationDefinitionNode
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from parentnet_kit import request_ids
from parentnet_kit.metrics import LATENCY_BUCKETS

log = logging.getLogger("gateway.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ROUTES = ("/graphql", "/alive", "/ready", "/health")
METHODS = frozenset({"GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")

HTTP_REQUESTS = Counter(
    "parentnet_gateway_http_requests",
    "HTTP requests the gateway answered, by method, route and status.",
    ("method", "route", "status"),
)
HTTP_SECONDS = Histogram(
    "parentnet_gateway_http_request_duration_seconds",
    "Time from an HTTP request's arrival to the end of its answer, in seconds.",
    ("method", "route"),
    buckets=LATENCY_BUCKETS,
)
OPERATIONS = Counter(
    "parentnet_gateway_graphql_operations",
    "GraphQL operations, by type, root field (one count per distinct root field) and outcome "
    "(ok, errors: some field failed, refused: not executed).",
    ("operation_type", "root_field", "outcome"),
)
OPERATION_SECONDS = Histogram(
    "parentnet_gateway_graphql_operation_duration_seconds",
    "Time to answer a GraphQL operation (limits, execution and its RPC calls), by type and root "
    "field (an operation with two root fields is observed under both), in seconds.",
    ("operation_type", "root_field"),
    buckets=LATENCY_BUCKETS,
)
RPC_CALLS = Counter(
    "parentnet_gateway_rpc_calls",
    "RPC calls the gateway made, by service, method and outcome "
    "(ok, error: the service raised, unavailable: refused before sending, timeout).",
    ("service", "method", "outcome"),
)
RPC_SECONDS = Histogram(
    "parentnet_gateway_rpc_call_duration_seconds",
    "Time from sending an RPC request to its answer (or the gateway giving up), in seconds.",
    ("service", "method"),
    buckets=LATENCY_BUCKETS,
)
WEBSOCKETS = Gauge("parentnet_gateway_websocket_connections", "Open GraphQL websockets (graphql-transport-ws).")


def route_of(path: str) -> str:
    """A path's route template, from a closed set (``other`` for anything else)."""
    if path in ROUTES:
        return path
    if path.startswith("/explorer/"):
        return "/explorer/{asset}"
    return "other"


class RequestIds:
    """ASGI middleware: the request id, its response header, the access log line and the HTTP
    metrics (see the module's docstring). The app reads the id with ``request_ids.current()``."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        sent = next((v for k, v in scope.get("headers", ()) if k == request_ids.HEADER.encode()), None)
        request_id = request_ids.accept(sent.decode("latin-1") if sent is not None else None)
        echo = (request_ids.HEADER.encode(), request_id.encode())
        with request_ids.bound(request_id):
            if scope["type"] == "websocket":
                await self.app(scope, receive, _echoing(send, "websocket.accept", echo))
                return
            await self._http(scope, receive, send, echo)

    async def _http(self, scope: Scope, receive: Receive, send: Send, echo: tuple[bytes, bytes]) -> None:
        started = time.perf_counter()
        status = 500  # if the app raises before answering
        echoing = _echoing(send, "http.response.start", echo)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await echoing(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            took = time.perf_counter() - started
            method = scope.get("method", "GET") if scope.get("method") in METHODS else "other"
            route = route_of(scope.get("path", ""))
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_SECONDS.labels(method, route).observe(took)
            fields = {"method": method, "route": route, "status": status, "duration_ms": round(took * 1000, 1)}
            log.info("http request", extra={"fields": fields})


def _echoing(send: Send, start: str, header: tuple[bytes, bytes]) -> Send:
    """``send``, adding ``header`` to the message of type ``start``."""

    async def sending(message: Message) -> None:
        if message["type"] == start:
            message = {**message, "headers": [*message.get("headers", ()), header]}
        await send(message)

    return sending


def root_fields(operation: OperationDefinitionNode | None) -> list[str]:
    """The schema's names of an operation's root fields, sorted, each once (fragments spread
    at the root count as ``...``)."""
    if operation is None:
        return []
    names = {s.name.value if isinstance(s, FieldNode) else "..." for s in operation.selection_set.selections}
    return sorted(names)


def log_operation(
    operation: OperationDefinitionNode | None,
    operation_name: Any,
    body: dict[str, Any],
    status: int,
    took: float,
    rpc_calls: int,
    transport: str = "http",
) -> None:
    """Count, time and log one GraphQL operation (``operation`` None: refused before it was
    known). ``body`` is the answer sent (its errors' codes and ``extensions.cost`` are read),
    ``took`` in seconds."""
    errors = body.get("errors") or []
    codes = sorted({str((e.get("extensions") or {}).get("code", "")) for e in errors if isinstance(e, dict)} - {""})
    executed = operation is not None and "data" in body
    outcome = ("errors" if errors else "ok") if executed else "refused"
    kind = operation.operation.value if operation is not None else "-"
    fields = root_fields(operation) if operation is not None and outcome != "refused" else []
    for field in fields or ["-"]:
        OPERATIONS.labels(kind, field, outcome).inc()
        OPERATION_SECONDS.labels(kind, field).observe(took)
    cost = (body.get("extensions") or {}).get("cost") or {}
    entry: dict[str, Any] = {
        "transport": transport,
        "operation_type": kind,
        "root_fields": fields,
        "status": status,
        "outcome": outcome,
        "duration_ms": round(took * 1000, 1),
        "cost": cost.get("requested", 0),
        "rpc_calls": rpc_calls,
    }
    if isinstance(operation_name, str) and GRAPHQL_NAME.fullmatch(operation_name):
        entry["operation_name"] = operation_name
    elif operation is not None and operation.name is not None:
        entry["operation_name"] = operation.name.value
    if codes:
        entry["error_codes"] = codes
    log.info("graphql operation", extra={"fields": entry})


def observe_rpc(service: str, method: str, outcome: str, took: float) -> None:
    """Count and time one RPC call the gateway made (``took`` in seconds)."""
    RPC_CALLS.labels(service, method, outcome).inc()
    RPC_SECONDS.labels(service, method).observe(took)


def serve_metrics(port: int, host: str = "127.0.0.1") -> Callable[[], None] | None:
    """Serve ``/metrics`` on ``host:port`` from a thread (0: not at all); returns a stop function."""
    if not port:
        return None
    server, thread = start_http_server(port, host)
    log.info("metrics on http://%s:%d/metrics", host, port)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return stop
