"""The members service's entrypoints."""

from __future__ import annotations

from nameko.rpc import rpc


class MembersService:
    name = "members"

    @rpc
    def ping(self) -> str:
        return "pong"
