"""A small per-request DataLoader: keys asked for in one tick become one batched call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any


class DataLoader:
    def __init__(self, batch: Callable[[list[Any]], Awaitable[list[Any]]], max_batch: int = 100) -> None:
        self._batch = batch
        self._max_batch = max_batch
        self._cache: dict[Hashable, asyncio.Future[Any]] = {}
        self._queue: list[tuple[Hashable, asyncio.Future[Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()  # held so they are not collected mid-flight

    def load(self, key: Hashable) -> asyncio.Future[Any]:
        if key in self._cache:
            return self._cache[key]
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._cache[key] = future
        if not self._queue:
            loop.call_soon(self._dispatch)
        self._queue.append((key, future))
        return future

    def prime(self, key: Hashable, value: Any) -> None:
        if key not in self._cache:
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            future.set_result(value)
            self._cache[key] = future

    def _dispatch(self) -> None:
        queue, self._queue = self._queue, []
        for start in range(0, len(queue), self._max_batch):
            task = asyncio.ensure_future(self._run(queue[start : start + self._max_batch]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, chunk: list[tuple[Hashable, asyncio.Future[Any]]]) -> None:
        try:
            values = await self._batch([key for key, _ in chunk])
        except Exception as exc:  # noqa: BLE001 - handed to every waiting resolver
            for _, future in chunk:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), value in zip(chunk, values, strict=True):
            if not future.done():
                future.set_result(value)
