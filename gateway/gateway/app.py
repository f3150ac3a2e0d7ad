"""The gateway's ASGI app: /graphql, /alive, /ready, /health, and the explorer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.responses import JSONResponse as StarletteJSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from parentnet_kit import gc_tuning, request_ids
from parentnet_kit.contract.rpc import CLIENTS
from parentnet_kit.identity import IdentitySigner
from parentnet_kit.tokens import TokenVerifier

from . import open_cities
from .auth import Authenticator, BadToken, client_address
from .context import Context
from .feed import EventFeed
from .graphql_http import DocumentCache, Runner, client_error
from .limits import RateLimiter
from .observe import WEBSOCKETS, RequestIds, log_operation, serve_metrics
from .persisted import PersistedQueries
from .rpc import CountingRpc, RemoteError, RpcClient, ServiceUnavailable
from .schema.assemble import schema
from .schema.calendar import calendar_endpoints
from .schema.pictures import UrlSigner, configure, serve
from .settings import Settings
from .transport import (
    GRAPHQL_RESPONSE,
    LEGACY,
    QUERIES_AND_MUTATIONS,
    QUERIES_ONLY,
    cors,
    decode_json,
    json_answer,
    read_body,
    response_media_type,
)
from .uploads import UploadRefused, needs_preflight, read_multipart
from .ws import PROTOCOL, Connection

log = logging.getLogger(__name__)


class JSONResponse(StarletteJSONResponse):
    """Written with orjson: several times faster than the standard library on a page of results."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


# A client's key for a request it may retry (as in the IETF draft "The Idempotency-Key HTTP
# Header Field"): a retried creation then returns what the first try made.
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")
# What fetching one picture costs an address's budget (200,000 points a minute by default).
PICTURE_COST = 20
EXPLORER_ASSETS = {"explorer.js": "text/javascript", "explorer.css": "text/css"}


class Drain:
    """Whether this process is draining before it stops (``python -m gateway`` begins it on
    SIGTERM): ``/ready`` then answers 503 so load balancers send new requests elsewhere, while
    every request that still arrives is served as usual."""

    def __init__(self) -> None:
        self.draining = False

    def begin(self) -> None:
        self.draining = True


DRAIN = Drain()


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    signer = IdentitySigner(settings.identity_private_key) if settings.identity_private_key else None
    if signer is None:
        log.warning("no INTERNAL_IDENTITY_PRIVATE_KEY(_FILE): services are not told who the viewer is")
    rpc = RpcClient(settings.amqp_uri, default_timeout=settings.rpc_timeout, signer=signer)
    graphql_schema = schema.graphql_schema
    cache = DocumentCache(graphql_schema, introspection=settings.introspection, limits=settings.limits)
    persisted = PersistedQueries()
    rate_limiter = RateLimiter(settings.limits.rate_points_per_minute)
    runner = Runner(graphql_schema, cache, rate_limiter, settings.mutation_rpc_timeout)
    verifier = TokenVerifier(settings.auth_public_key) if settings.auth_public_key else None
    if verifier is None:
        log.warning("no AUTH_PUBLIC_KEY(_FILE): bearer tokens are refused and nobody can act signed in")
    authenticator = Authenticator(verifier, rpc, settings.session_check_seconds)
    if settings.picture_url_key is None:
        log.warning("no GATEWAY_PICTURE_URL_KEY: picture URLs are signed with a key of this process only")
    configure(UrlSigner(settings.picture_url_key, settings.public_url), settings.picture_limits)

    feed = EventFeed(settings.amqp_uri)
    started = asyncio.Event()
    open_cities.DIRECTORY.bind(rpc)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop_metrics = serve_metrics(settings.metrics_port, settings.metrics_host)
        try:
            await rpc.connect()
            await feed.connect()
        except Exception as exc:  # noqa: BLE001 - /health reports it; calls fail fast
            log.error("gateway could not reach RabbitMQ at start: %s", exc)
        gc_tuning.freeze()  # the schema and the rest of start-up: out of the collector's full walks
        started.set()
        yield
        started.clear()  # shutting down: not ready any more
        await feed.close()
        await rpc.close()
        if stop_metrics is not None:
            stop_metrics()

    def refuse(
        request: Request, body: dict[str, Any], status: int, media: str, headers: dict[str, str] | None = None
    ) -> Response:
        """An answer before the request reached the runner, with extensions.cost like every
        other (nothing spent; the budget of the client's address)."""
        spender = f"addr:{client_address(request, settings.trust_forwarded)}"
        extensions = body.setdefault("extensions", {})
        extensions["cost"] = runner.budget(spender, 0)
        extensions["requestId"] = request_ids.current()
        return json_answer(body, status, media, headers)

    async def answer(request: Request, payload: dict[str, Any], method: str) -> Response:
        """Authenticate, resolve a persisted query, check limits, execute: one GraphQL request."""
        media = response_media_type(request)
        if media is None:
            message = "Accept must allow application/graphql-response+json or application/json."
            return refuse(request, {"errors": [client_error(message, "NOT_ACCEPTABLE")]}, 406, LEGACY)
        if payload.get("extensions") is not None and not isinstance(payload["extensions"], dict):
            message = "extensions must be a JSON object."
            return refuse(request, {"errors": [client_error(message, "BAD_REQUEST")]}, 400, media)
        query, refusal = persisted.resolve(payload.get("query"), payload.get("extensions"))
        if refusal is not None:
            return refuse(request, {"errors": [refusal[1]]}, refusal[0], media)
        try:
            viewer = await authenticator.viewer(request)
        except BadToken as exc:
            body = {"errors": [client_error(str(exc), "UNAUTHENTICATED")]}
            return refuse(request, body, 401, media, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        except ServiceUnavailable as exc:
            message = f"The {exc.service} service is unavailable; try again shortly."
            return refuse(request, {"errors": [client_error(message, "SERVICE_UNAVAILABLE")]}, 503, media)
        key = request.headers.get("idempotency-key")
        if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
            message = "The Idempotency-Key header must be 1 to 200 visible ASCII characters."
            return refuse(request, {"errors": [client_error(message, "BAD_REQUEST")]}, 400, media)
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
        allowed = QUERIES_ONLY if method == "GET" else QUERIES_AND_MUTATIONS
        began = time.perf_counter()
        result = await runner.run(query, payload.get("variables"), payload.get("operationName"), context, allowed)
        extensions = result.body.setdefault("extensions", {})
        if settings.trace_rpc:
            extensions["rpcCalls"] = counting.calls
        # The id to quote when reporting a problem: every log line of this request carries it.
        extensions["requestId"] = request_ids.current()
        if result.status is not None:
            status = result.status
        elif result.request_error:
            status = 400 if media == GRAPHQL_RESPONSE else 200
        else:
            status = 200
        took = time.perf_counter() - began
        log_operation(result.operation, payload.get("operationName"), result.body, status, took, counting.calls)
        return json_answer(result.body, status, media, result.headers)

    async def graphql_post(request: Request) -> Response:
        media = response_media_type(request) or LEGACY
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "multipart/form-data":
            return await graphql_multipart(request, media)
        if content_type not in ("application/json", GRAPHQL_RESPONSE):
            message = "Send the request as JSON (Content-Type: application/json), or as multipart/form-data with files."
            return refuse(request, {"errors": [client_error(message, "UNSUPPORTED_MEDIA_TYPE")]}, 415, media)
        raw = await read_body(request, settings.max_body_bytes)
        if raw is None:
            message = f"The request body is too large: at most {settings.max_body_bytes} bytes."
            return refuse(request, {"errors": [client_error(message, "PAYLOAD_TOO_LARGE")]}, 413, media)
        try:
            payload = decode_json(raw)
        except ValueError:
            message = "The body is not JSON (UTF-8, no lone surrogates, nested at most 1,024 deep)."
            return refuse(request, {"errors": [client_error(message, "BAD_REQUEST")]}, 400, media)
        if not isinstance(payload, dict):
            message = "Send one operation as a JSON object."
            return refuse(request, {"errors": [client_error(message, "BAD_REQUEST")]}, 400, media)
        return await answer(request, payload, "POST")

    uploads_in_flight = 0
    uploads_by_address: dict[str, int] = {}
    upload_limiter = RateLimiter(settings.limits.rate_points_per_minute)

    async def graphql_multipart(request: Request, media: str) -> Response:
        """A request with files (the GraphQL multipart request spec; ``uploads.py``). At most
        ``max_uploads_in_flight`` at once per process: each holds its file (up to 10 MB) in memory
        and its decoding (up to ~300 MB for a 50 MP picture, two at a time) may follow. Of those,
        at most ``max_uploads_per_address`` from one address (429 beyond), and each body must be
        in within ``upload_body_seconds`` (408 then): stalled bodies from one address cannot
        hold every slot."""
        nonlocal uploads_in_flight
        address = client_address(request, settings.trust_forwarded)
        if uploads_by_address.get(address, 0) >= settings.max_uploads_per_address:
            message = f"At most {settings.max_uploads_per_address} uploads at once from one address; try again soon."
            body = {"errors": [client_error(message, "RATE_LIMITED")]}
            return refuse(request, body, 429, media, {"Retry-After": "1"})
        if uploads_in_flight >= settings.max_uploads_in_flight:
            message = "Too many uploads at once on this server; try again in a second."
            body = {"errors": [client_error(message, "SERVICE_UNAVAILABLE")]}
            return refuse(request, body, 503, media, {"Retry-After": "1"})
        # pictureAdd's upload_cost is spent from the client's budget (a member's when signed in);
        # the same from the address's upload budget too, so many accounts at one address do not
        # decode more than one would.
        wait = upload_limiter.spend(address, settings.limits.upload_cost)
        if wait is not None:
            seconds = int(wait + 0.999)
            error = client_error(f"Too many requests; try again in {seconds} s.", "RATE_LIMITED")
            error["extensions"]["retryAfterSeconds"] = seconds
            return refuse(request, {"errors": [error]}, 429, media, {"Retry-After": str(seconds)})
        uploads_in_flight += 1
        uploads_by_address[address] = uploads_by_address.get(address, 0) + 1
        try:
            return await _multipart(request, media)
        finally:
            uploads_in_flight -= 1
            uploads_by_address[address] -= 1
            if not uploads_by_address[address]:
                del uploads_by_address[address]

    async def _multipart(request: Request, media: str) -> Response:
        if needs_preflight(request):
            message = (
                "A multipart request must carry an Apollo-Require-Preflight (or GraphQL-Preflight) header: "
                "it proves a script sent it, not a form on another site."
            )
            return refuse(request, {"errors": [client_error(message, "BAD_REQUEST")]}, 400, media)
        try:
            payload = await read_multipart(
                request,
                settings.max_body_bytes,
                settings.picture_limits.max_bytes,
                drain_bytes=64 << 20,
                body_seconds=settings.upload_body_seconds,
            )
        except UploadRefused as refused:
            error = client_error(refused.message, refused.code)
            if refused.field:
                error["extensions"]["field"] = refused.field
            return refuse(request, {"errors": [error]}, refused.status, media)
        return await answer(request, payload, "POST")

    async def picture(request: Request) -> Response:
        """A picture's bytes (``pictures.serve``): each fetch costs up to three calls, so it is
        paid from the address's budget like a small query (PICTURE_COST points)."""
        address = client_address(request, settings.trust_forwarded)
        wait = rate_limiter.spend(f"addr:{address}", PICTURE_COST)
        if wait is not None:
            seconds = str(int(wait + 0.999))
            return Response("Too many requests.\n", 429, media_type="text/plain", headers={"Retry-After": seconds})
        return await serve(request, rpc, authenticator, address)

    async def graphql_get(request: Request) -> Response:
        params = request.query_params
        if "query" in params or "extensions" in params:
            # GET for queries (Apollo's persisted queries use it, so CDNs can cache them).
            media = response_media_type(request) or LEGACY
            if not _utf8_query_string(request.scope.get("query_string", b"")):
                # Starlette decodes parameters replacing bad bytes: refuse them as POST does.
                message = "The query string is not UTF-8 once percent-decoded."
                return refuse(request, {"errors": [client_error(message, "BAD_REQUEST")]}, 400, media)
            payload: dict[str, Any] = {"query": params.get("query"), "operationName": params.get("operationName")}
            for name in ("variables", "extensions"):
                if params.get(name):
                    try:
                        payload[name] = decode_json(params[name])
                    except ValueError:
                        message = f"{name} is not JSON (UTF-8, no lone surrogates, nested at most 1,024 deep)."
                        code = "BAD_USER_INPUT" if name == "variables" else "BAD_REQUEST"
                        return refuse(request, {"errors": [client_error(message, code)]}, 400, media)
            return await answer(request, payload, "GET")
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

    # Open websockets per client address: each holds up to 25 operations and their tasks, so
    # without a bound one address held 300 sockets (7,500 live subscriptions) on one gateway.
    sockets: Counter[str] = Counter()

    async def graphql_ws(socket: WebSocket) -> None:
        address = client_address(socket, settings.trust_forwarded)
        if sockets[address] >= settings.max_sockets_per_address:
            # Accepted, then closed with 4429, so a client library sees why (a close before the
            # accept is an HTTP 403 to the handshake, which tells it nothing: the review's finding).
            offered = socket.scope.get("subprotocols", [])
            await socket.accept(subprotocol=PROTOCOL if PROTOCOL in offered else None)
            await socket.close(4429, "Too many open connections from this address")
            return
        sockets[address] += 1
        WEBSOCKETS.inc()
        try:
            await Connection(
                socket, runner, rpc, authenticator, feed, settings.max_body_bytes, settings.trust_forwarded
            ).serve()
        finally:
            WEBSOCKETS.dec()
            sockets[address] -= 1
            if not sockets[address]:
                del sockets[address]

    async def alive(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def ready(request: Request) -> Response:
        """Whether a load balancer should send this gateway requests: it has started, is
        connected to RabbitMQ and is not draining before a stop. Services are not asked: one that
        is down fails its own fields (SERVICE_UNAVAILABLE) on every gateway alike, and draining
        them all would fail the rest too."""
        parts = {
            "started": "up" if started.is_set() else "down: starting or stopping",
            "rabbitmq": "up" if rpc.connected else "down: not connected",
        }
        if DRAIN.draining:
            parts["draining"] = "down: stopping, finishing the requests in flight"
        ok = all(state == "up" for state in parts.values())
        return JSONResponse({"status": "ready" if ok else "not ready", "parts": parts}, 200 if ok else 503)

    async def health(request: Request) -> Response:
        """Every part's state, for humans and dashboards: 503 when any service is down. Not a
        readiness signal (``/ready`` is)."""

        async def ping(service: str) -> str:
            try:
                answer = await CLIENTS[service](rpc, timeout=settings.health_timeout).ping()
            except (ServiceUnavailable, RemoteError) as exc:
                return f"down: {exc}"
            return "up" if answer == "pong" else f"down: answered {answer!r}"

        parts = {"rabbitmq": "up" if rpc.connected else "down: not connected"}
        answers = await asyncio.gather(*(ping(s) for s in settings.services))
        parts.update(zip(settings.services, answers, strict=True))
        healthy = all(state == "up" for state in parts.values())
        return JSONResponse({"status": "ok" if healthy else "degraded", "parts": parts}, 200 if healthy else 503)

    # Outermost: the request id and the access log cover every answer, CORS refusals too.
    middleware = [Middleware(RequestIds)]
    if settings.cors_origins != ("none",):
        middleware.append(cors(settings.cors_origins))
    app = Starlette(
        middleware=middleware,
        routes=[
            Route("/graphql", graphql_post, methods=["POST"]),
            Route("/graphql", graphql_get, methods=["GET"]),
            WebSocketRoute("/graphql", graphql_ws),
            Route("/explorer/{asset}", explorer_asset),
            Route("/pictures/{kind}/{subject}/{picture}/{file}", picture, methods=["GET"]),
            Route("/alive", alive),
            Route("/ready", ready),
            Route("/health", health),
            *(Route(path, endpoint, methods=["GET"]) for path, endpoint in calendar_endpoints(rpc).items()),
        ],
        lifespan=lifespan,
    )
    app.state.rpc = rpc
    app.state.runner = runner
    app.state.cache = cache
    app.state.authenticator = authenticator
    app.state.feed = feed
    return app


def _utf8_query_string(raw: bytes) -> bool:
    """Every name and value of a query string is UTF-8 once percent-decoded (``+`` is a space)."""
    for pair in raw.split(b"&"):
        for part in pair.split(b"=", 1):
            try:
                unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                return False
    return True
