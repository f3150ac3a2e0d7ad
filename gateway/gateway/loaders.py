"""A per-request DataLoader: keys asked for in one tick become one batched call.

Built on aiodataloader (the asyncio port of graphql/dataloader); this module only adapts it:

- ``batch`` may be any callable returning an awaitable (the typed RPC clients' lambdas);
  aiodataloader wants a coroutine function, so it is wrapped in one.
- ``max_batch`` (default 100) keys per call; a tick with more is split into several calls.
- The event loop is the one running at ``load``/``prime`` time, not the one at construction
  (a request's ``Context`` may be built before its loop runs, as tests do).

What aiodataloader does beyond the loader it replaced: a batch that fails is not cached (each
key asked for again is loaded again), and a batch returning a list of the wrong length fails
every waiting key instead of leaving some of them waiting forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import aiodataloader

# Passed to aiodataloader as its loop so that it does not ask for one at construction; the
# ``loop`` property below answers the running loop instead.
_RUNNING_LOOP: Any = object()


class DataLoader(aiodataloader.DataLoader[Hashable, Any]):
    """``load(key) -> Future`` of the value ``batch([keys])`` returns at that key's index; each
    key is loaded at most once per loader (one loader per request, see ``context.Loaders``).
    ``prime(key, value)`` seeds the cache without a call (kept if the key is already there)."""

    def __init__(self, batch: Callable[[list[Any]], Awaitable[list[Any]]], max_batch: int = 100) -> None:
        async def batch_load(keys: list[Any]) -> list[Any]:
            return await batch(keys)

        super().__init__(batch_load, max_batch_size=max_batch, loop=_RUNNING_LOOP)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    @loop.setter
    def loop(self, _: Any) -> None:
        pass  # aiodataloader's __init__ sets it; the running loop is read at each use instead
