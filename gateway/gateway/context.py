"""What each GraphQL request's resolvers share: the RPC client, the viewer, loaders."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from .loaders import DataLoader
from .rpc import RpcClient


class Loaders:
    """Per-request DataLoaders, so a page costs one RPC per kind of object, not one per row."""

    def __init__(self, rpc: RpcClient, viewer_id: str | None) -> None:
        self.outing = DataLoader(lambda keys: rpc.call("events", "get_outings", keys))
        self.member = DataLoader(lambda keys: rpc.call("members", "get_members", keys, viewer_id=viewer_id))
        self.group = DataLoader(lambda keys: rpc.call("members", "get_groups", keys, viewer_id=viewer_id))


@dataclass
class Context:
    request: Request | None
    rpc: RpcClient
    viewer_id: str | None = None
    session_id: str | None = None
    client: str = "unknown"
    authenticator: Any = None
    loaders: Loaders = field(init=False)
    _blocked_by: asyncio.Future[frozenset[str]] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.rpc, self.viewer_id)

    async def blocked_by(self) -> frozenset[str]:
        """Members who blocked the viewer: none of theirs may show. One RPC per request at most."""
        if self.viewer_id is None:
            return frozenset()
        if self._blocked_by is None:
            self._blocked_by = asyncio.ensure_future(self._load_blocked_by())
        return await self._blocked_by

    async def _load_blocked_by(self) -> frozenset[str]:
        return frozenset(await self.rpc.call("members", "blocked_by", self.viewer_id))
