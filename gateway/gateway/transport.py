"""GraphQL over HTTP as the spec (graphql.github.io/graphql-over-http) and browsers want it:
media types, bounded bodies, CORS.

- Response media type from ``Accept``: ``application/graphql-response+json`` when the client
  prefers it (then a request refused before execution is HTTP 400); otherwise, for
  ``application/json``, ``*/*`` or no Accept, the legacy ``application/json`` (then such a
  request is HTTP 200 with ``errors``, as the spec says for that type). Neither: 406.
- A body is read up to ``max_bytes`` whether or not it says its length (a chunked body with no
  Content-Length used to be buffered without limit).
- CORS: see ``cors``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from graphql import OperationType
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response

GRAPHQL_RESPONSE = "application/graphql-response+json"
LEGACY = "application/json"
QUERIES_ONLY = frozenset({OperationType.QUERY})
QUERIES_AND_MUTATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})

# Origins a browser page may call from when GATEWAY_CORS_ORIGINS is not set: this machine's
# (any port), so a front-end dev server (Vite's 5173, Next's 3000, ...) works with `make up`
# while no page elsewhere can read answers. Production sets the list of its apps' origins.
DEV_ORIGINS = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?"
# Headers browser apps send: the bearer token, JSON, the retry key docs/ asks for, and Apollo
# Client's (client awareness, and the header its CSRF prevention asks for).
CORS_HEADERS = (
    "authorization",
    "content-type",
    "accept",
    "idempotency-key",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
    "graphql-preflight",
    "x-apollo-operation-name",
    "x-request-id",
)


def response_media_type(request: Request) -> str | None:
    """The media type to answer with, from the request's Accept (None: nothing we can send)."""
    accept = request.headers.get("accept", "").strip()
    if not accept:
        return LEGACY
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *parameters = (p.strip() for p in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, media.lower()))
    for _, _, media in sorted(ranked):
        if media == GRAPHQL_RESPONSE:
            return GRAPHQL_RESPONSE
        if media in (LEGACY, "application/*", "*/*"):
            return LEGACY
    return None


def decode_json(raw: bytes | str) -> Any:
    """A request's JSON (UTF-8). Lone surrogates (``"\\ud800"``), which orjson refuses, are let
    through here so the request can be refused as the client's mistake naming what is wrong
    (``graphql_http.surrogate_free``). ValueError when it is not JSON or nested too deep."""
    try:
        return orjson.loads(raw)
    except ValueError:
        pass
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError("not JSON") from None


def json_answer(body: dict[str, Any], status: int, media: str, headers: dict[str, str] | None = None) -> Response:
    """A JSON body (written with orjson) with the negotiated media type, in UTF-8."""
    return Response(orjson.dumps(body), status, headers=headers, media_type=f"{media}; charset=utf-8")


async def read_body(request: Request, max_bytes: int) -> bytes | None:
    """The request body, or None once it passes ``max_bytes`` (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def cors(origins: tuple[str, ...]) -> Middleware:
    """CORS for ``origins`` (``GATEWAY_CORS_ORIGINS``): a list, ``*`` for any, or () for this
    machine's origins (DEV_ORIGINS). Bearer tokens, not cookies: no credentials mode needed.
    ``Retry-After`` is exposed so apps can wait as a 429 asks, ``X-Request-ID`` so they can
    quote it in a bug report."""
    allow_all = "*" in origins
    return Middleware(
        CORSMiddleware,
        allow_origins=["*"] if allow_all else list(origins),
        allow_origin_regex=None if origins else DEV_ORIGINS,
        allow_methods=["GET", "POST"],
        allow_headers=list(CORS_HEADERS),
        expose_headers=["Retry-After", "ETag", "X-Request-ID"],
        max_age=600,
    )
