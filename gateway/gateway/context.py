"""What each GraphQL request's resolvers share: the RPC client, the viewer, loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from .loaders import DataLoader
from .rpc import RpcClient


class Loaders:
    """Per-request DataLoaders, so a page costs one RPC per kind of object, not one per row."""

    def __init__(self, rpc: RpcClient) -> None:
        self.outing = DataLoader(lambda keys: rpc.call("events", "get_outings", keys))


@dataclass
class Context:
    request: Request | None
    rpc: RpcClient
    viewer_id: str | None = None
    loaders: Loaders = field(init=False)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.rpc)
