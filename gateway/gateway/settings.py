"""Gateway settings, from the environment only."""

from __future__ import annotations

import os
from dataclasses import dataclass

from parentnet_kit import config


@dataclass(frozen=True)
class Settings:
    amqp_uri: str
    rpc_timeout: float
    health_timeout: float
    max_body_bytes: int
    introspection: bool
    explorer: bool
    services: tuple[str, ...] = ("members", "events", "listings", "search")

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            amqp_uri=config.amqp_uri(),
            rpc_timeout=float(os.environ.get("GATEWAY_RPC_TIMEOUT", "5")),
            health_timeout=float(os.environ.get("GATEWAY_HEALTH_TIMEOUT", "2")),
            max_body_bytes=int(os.environ.get("GATEWAY_MAX_BODY_BYTES", str(64 * 1024))),
            introspection=config.flag("GATEWAY_INTROSPECTION", True),
            explorer=config.flag("GATEWAY_EXPLORER", True),
        )
