"""The listings service's entrypoints."""

from __future__ import annotations

from nameko.rpc import rpc


class ListingsService:
    name = "listings"

    @rpc
    def ping(self) -> str:
        return "pong"
