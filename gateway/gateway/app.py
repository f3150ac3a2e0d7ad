"""The gateway's ASGI app: /graphql, /alive, /health, and the explorer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

import orjson
from graphql import OperationType, get_operation_ast
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.responses import JSONResponse as StarletteJSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from parentnet_kit.tokens import TokenVerifier

from .auth import Authenticator, BadToken, client_address
from .context import Context
from .feed import EventFeed
from .graphql_http import DocumentCache, client_error, run
from .limits import RateLimiter
from .persisted import PersistedQueries
from .rpc import CountingRpc, RemoteError, RpcClient, ServiceUnavailable
from .schema import schema
from .settings import Settings
from .ws import Connection

log = logging.getLogger(__name__)


class JSONResponse(StarletteJSONResponse):
    """Written with orjson: several times faster than the standard library on a page of results."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


# A client's key for a request it may retry (as in the IETF draft "The Idempotency-Key HTTP
# Header Field"): a retried creation then returns what the first try made.
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")
EXPLORER_ASSETS = {"explorer.js": "text/javascript", "explorer.css": "text/css"}


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    rpc = RpcClient(settings.amqp_uri, default_timeout=settings.rpc_timeout)
    graphql_schema = schema.graphql_schema
    cache = DocumentCache(graphql_schema, introspection=settings.introspection, limits=settings.limits)
    persisted = PersistedQueries()
    rate_limiter = RateLimiter(settings.limits.rate_points_per_minute)
    verifier = TokenVerifier(settings.auth_public_key) if settings.auth_public_key else None
    if verifier is None:
        log.warning("no AUTH_PUBLIC_KEY(_FILE): bearer tokens are refused and nobody can act signed in")
    authenticator = Authenticator(verifier, rpc, settings.session_check_seconds)

    feed = EventFeed(settings.amqp_uri)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            await rpc.connect()
            await feed.connect()
        except Exception as exc:  # noqa: BLE001 - /health reports it; calls fail fast
            log.error("gateway could not reach RabbitMQ at start: %s", exc)
        yield
        await feed.close()
        await rpc.close()

    async def answer(request: Request, payload: dict[str, Any], queries_only: bool) -> Response:
        """Authenticate, resolve a persisted query, check limits, execute: one GraphQL request."""
        query, refusal = persisted.resolve(payload.get("query"), payload.get("extensions"))
        if refusal is not None:
            return JSONResponse({"errors": [refusal[1]]}, refusal[0])
        try:
            viewer = await authenticator.viewer(request)
        except BadToken as exc:
            body = {"errors": [client_error(str(exc), "UNAUTHENTICATED")]}
            return JSONResponse(body, 401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        except ServiceUnavailable as exc:
            message = f"The {exc.service} service is unavailable; try again shortly."
            return JSONResponse({"errors": [client_error(message, "SERVICE_UNAVAILABLE")]}, 503)
        key = request.headers.get("idempotency-key")
        if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
            message = "The Idempotency-Key header must be 1 to 200 visible ASCII characters."
            return JSONResponse({"errors": [client_error(message, "BAD_REQUEST")]}, 400)
        counting = CountingRpc(rpc)
        context = Context(
            request=request,
            rpc=counting,
            viewer_id=viewer.member_id if viewer else None,
            session_id=viewer.session_id if viewer else None,
            client=client_address(request, settings.trust_forwarded),
            authenticator=authenticator,
            feed=feed,
            idempotency_key=key,
        )
        if queries_only and isinstance(query, str):
            document, _ = cache.get(query)
            operation = get_operation_ast(document, payload.get("operationName")) if document else None
            if operation is not None and operation.operation != OperationType.QUERY:
                message = "Only queries may be sent with GET; send mutations with POST."
                return JSONResponse({"errors": [client_error(message, "METHOD_NOT_ALLOWED")]}, 405)
        status, body = await run(
            graphql_schema,
            cache,
            query,
            payload.get("variables"),
            payload.get("operationName"),
            context,
            rate_limiter,
        )
        if settings.trace_rpc:
            body.setdefault("extensions", {})["rpcCalls"] = counting.calls
        headers = {}
        if status == 429:
            headers["Retry-After"] = str(body["errors"][0]["extensions"]["retryAfterSeconds"])
        return JSONResponse(body, status, headers=headers)

    async def graphql_post(request: Request) -> Response:
        length = int(request.headers.get("content-length") or 0)
        if length > settings.max_body_bytes:
            return JSONResponse({"errors": [client_error("The request body is too large.", "PAYLOAD_TOO_LARGE")]}, 413)
        raw = await request.body()
        if len(raw) > settings.max_body_bytes:
            return JSONResponse({"errors": [client_error("The request body is too large.", "PAYLOAD_TOO_LARGE")]}, 413)
        try:
            payload = orjson.loads(raw)
        except ValueError:
            return JSONResponse({"errors": [client_error("The body is not JSON.", "BAD_REQUEST")]}, 400)
        if not isinstance(payload, dict):
            return JSONResponse({"errors": [client_error("Send one operation as a JSON object.", "BAD_REQUEST")]}, 400)
        return await answer(request, payload, queries_only=False)

    async def graphql_get(request: Request) -> Response:
        params = request.query_params
        if "query" in params or "extensions" in params:
            # GET for queries (Apollo's persisted queries use it, so CDNs can cache them).
            payload: dict[str, Any] = {"query": params.get("query"), "operationName": params.get("operationName")}
            for name in ("variables", "extensions"):
                if params.get(name):
                    try:
                        payload[name] = json.loads(params[name])
                    except ValueError:
                        return JSONResponse({"errors": [client_error(f"{name} is not JSON.", "BAD_REQUEST")]}, 400)
            return await answer(request, payload, queries_only=True)
        if not settings.explorer:
            return JSONResponse({"errors": [client_error("Send queries with POST.", "METHOD_NOT_ALLOWED")]}, 405)
        page = resources.files("gateway").joinpath("static/explorer.html").read_text(encoding="utf-8")
        return HTMLResponse(page)

    async def explorer_asset(request: Request) -> Response:
        """The explorer's bundle (clients/explorer, built from npm packages by provisioning)."""
        asset = request.path_params["asset"]
        if not settings.explorer or asset not in EXPLORER_ASSETS:
            return Response(status_code=404)
        path = resources.files("gateway").joinpath(f"static/explorer/{asset}")
        if not path.is_file():
            return Response("The explorer is not built: run make up (or npm run build in clients/explorer).", 404)
        return Response(path.read_bytes(), media_type=EXPLORER_ASSETS[asset], headers={"Cache-Control": "max-age=3600"})

    async def graphql_ws(socket: WebSocket) -> None:
        await Connection(socket, graphql_schema, cache, rpc, authenticator, feed).serve()

    async def alive(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def health(request: Request) -> Response:
        async def ping(service: str) -> str:
            try:
                answer = await rpc.call(service, "ping", timeout=settings.health_timeout)
            except (ServiceUnavailable, RemoteError) as exc:
                return f"down: {exc}"
            return "up" if answer == "pong" else f"down: answered {answer!r}"

        parts = {"rabbitmq": "up" if rpc.connected else "down: not connected"}
        answers = await asyncio.gather(*(ping(s) for s in settings.services))
        parts.update(zip(settings.services, answers, strict=True))
        healthy = all(state == "up" for state in parts.values())
        return JSONResponse({"status": "ok" if healthy else "degraded", "parts": parts}, 200 if healthy else 503)

    middleware = []
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
                max_age=600,
            )
        )
    app = Starlette(
        middleware=middleware,
        routes=[
            Route("/graphql", graphql_post, methods=["POST"]),
            Route("/graphql", graphql_get, methods=["GET"]),
            WebSocketRoute("/graphql", graphql_ws),
            Route("/explorer/{asset}", explorer_asset),
            Route("/alive", alive),
            Route("/health", health),
        ],
        lifespan=lifespan,
    )
    app.state.rpc = rpc
    app.state.cache = cache
    app.state.authenticator = authenticator
    app.state.feed = feed
    return app
