"""Gateway settings, from the environment only."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from parentnet_kit import config, tokens
from parentnet_kit.pictures import Limits as PictureLimits

from .limits import Limits


@dataclass(frozen=True)
class Settings:
    amqp_uri: str
    rpc_timeout: float
    health_timeout: float
    max_body_bytes: int
    introspection: bool
    explorer: bool
    auth_public_key: bytes | None = None
    # Signs the internal identity tokens services verify (parentnet_kit.identity); None: none sent.
    identity_private_key: bytes | None = None
    trust_forwarded: bool = False
    session_check_seconds: float = 10.0
    limits: Limits = field(default_factory=Limits)
    cors_origins: tuple[str, ...] = ()
    trace_rpc: bool = False
    mutation_rpc_timeout: float = 30.0
    # Open websockets per client address (a household or an office behind one NAT shares it).
    max_sockets_per_address: int = 50
    services: tuple[str, ...] = ("members", "events", "listings", "search", "moderation", "conversations")
    # Uploads (multipart requests, pictures): what a file and its pixels may weigh.
    picture_limits: PictureLimits = field(default_factory=PictureLimits)
    # Signs picture URLs; the same on every gateway of a deployment. None: a key per process.
    picture_url_key: bytes | None = None
    # The origin picture URLs start with (behind a proxy); None: the request's own.
    public_url: str | None = None
    # Multipart requests (uploads) read or processed at once by one process; more get 503.
    max_uploads_in_flight: int = 8
    # Of those, at most this many from one address: one address cannot take every slot.
    max_uploads_per_address: int = 2
    # Seconds a multipart body has to arrive whole; a slower one is answered 408 and its slot freed.
    upload_body_seconds: float = 60.0
    # Prometheus' /metrics on a port of its own (0: off), not the API's.
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            amqp_uri=config.amqp_uri(),
            rpc_timeout=float(os.environ.get("GATEWAY_RPC_TIMEOUT", "5")),
            health_timeout=float(os.environ.get("GATEWAY_HEALTH_TIMEOUT", "2")),
            max_body_bytes=int(os.environ.get("GATEWAY_MAX_BODY_BYTES", str(64 * 1024))),
            introspection=config.flag("GATEWAY_INTROSPECTION", True),
            explorer=config.flag("GATEWAY_EXPLORER", True),
            auth_public_key=_public_key(),
            identity_private_key=_identity_key(),
            trust_forwarded=config.flag("GATEWAY_TRUST_FORWARDED", False),
            max_sockets_per_address=int(os.environ.get("GATEWAY_MAX_SOCKETS_PER_ADDRESS", "50")),
            session_check_seconds=float(os.environ.get("GATEWAY_SESSION_CHECK_SECONDS", "10")),
            limits=Limits(
                max_depth=_int("GATEWAY_MAX_DEPTH", Limits.max_depth),
                max_aliases=_int("GATEWAY_MAX_ALIASES", Limits.max_aliases),
                max_operations=_int("GATEWAY_MAX_OPERATIONS", Limits.max_operations),
                max_cost=_int("GATEWAY_MAX_COST", Limits.max_cost),
                rate_points_per_minute=_int("GATEWAY_RATE_POINTS_PER_MINUTE", Limits.rate_points_per_minute),
                max_tokens=_int("GATEWAY_MAX_TOKENS", Limits.max_tokens),
                max_fields=_int("GATEWAY_MAX_FIELDS", Limits.max_fields),
            ),
            # Web apps' origins allowed to call the API from a browser, comma-separated; "*" any;
            # "none" no CORS at all; unset: this machine's origins, any port (transport.DEV_ORIGINS).
            cors_origins=tuple(o.strip() for o in os.environ.get("GATEWAY_CORS_ORIGINS", "").split(",") if o.strip()),
            trace_rpc=config.flag("GATEWAY_TRACE_RPC", False),
            # A mutation's calls (a 52-week series is one call) get longer than a read's.
            mutation_rpc_timeout=float(os.environ.get("GATEWAY_MUTATION_RPC_TIMEOUT", "30")),
            picture_limits=PictureLimits(
                max_bytes=_int("GATEWAY_MAX_PICTURE_BYTES", PictureLimits.max_bytes),
                max_pixels=_int("GATEWAY_MAX_PICTURE_PIXELS", PictureLimits.max_pixels),
            ),
            picture_url_key=os.environ.get("GATEWAY_PICTURE_URL_KEY", "").encode() or None,
            public_url=os.environ.get("GATEWAY_PUBLIC_URL") or None,
            max_uploads_in_flight=_int("GATEWAY_MAX_UPLOADS_IN_FLIGHT", 8),
            max_uploads_per_address=_int("GATEWAY_MAX_UPLOADS_PER_ADDRESS", 2),
            upload_body_seconds=float(os.environ.get("GATEWAY_UPLOAD_BODY_SECONDS") or 60),
            metrics_port=_int("METRICS_PORT", 0),
            metrics_host=os.environ.get("METRICS_HOST") or "127.0.0.1",
        )


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _public_key() -> bytes | None:
    """The members service's token public key; without one, nobody can sign in here."""
    inline, path = os.environ.get("AUTH_PUBLIC_KEY"), os.environ.get("AUTH_PUBLIC_KEY_FILE")
    if not (inline or path):
        return None
    return tokens.load_pem(inline, path, "public key")


def _identity_key() -> bytes | None:
    """The deployment's internal identity private key (INTERNAL_IDENTITY_PRIVATE_KEY or _FILE)."""
    inline, path = os.environ.get("INTERNAL_IDENTITY_PRIVATE_KEY"), os.environ.get("INTERNAL_IDENTITY_PRIVATE_KEY_FILE")
    if not (inline or path):
        return None
    return tokens.load_pem(inline, path, "internal identity private key")
