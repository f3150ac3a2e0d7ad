"""The gateway's DataLoader over aiodataloader vs the hand-written loader it replaced (issue 21).

    .venv/bin/python -m bench.dataloader [--keys 10000] [--batch 100] [--rounds 7]

Each round loads ``--keys`` distinct keys (every 10th asked for twice, a cache hit), all in
one tick, with a batch function that answers at once (no RPC: only the loaders' own cost is
measured), then 1,000 further loads of keys already cached. Both loaders run interleaved round
by round in this one process; prints the median wall time of each and the ratio, and checks
both made the same batches and values.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from gateway.loaders import DataLoader


class HandWrittenDataLoader:
    """The loader gateway/loaders.py had before aiodataloader, as it was (for comparison only)."""

    def __init__(self, batch: Callable[[list[Any]], Awaitable[list[Any]]], max_batch: int = 100) -> None:
        self._batch = batch
        self._max_batch = max_batch
        self._cache: dict[Hashable, asyncio.Future[Any]] = {}
        self._queue: list[tuple[Hashable, asyncio.Future[Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

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

    def _dispatch(self) -> None:
        queue, self._queue = self._queue, []
        for start in range(0, len(queue), self._max_batch):
            task = asyncio.ensure_future(self._run(queue[start : start + self._max_batch]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, chunk: list[tuple[Hashable, asyncio.Future[Any]]]) -> None:
        try:
            values = await self._batch([key for key, _ in chunk])
        except Exception as exc:  # noqa: BLE001
            for _, future in chunk:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), value in zip(chunk, values, strict=True):
            if not future.done():
                future.set_result(value)


async def one_round(make: Callable[..., Any], keys: int, max_batch: int) -> tuple[float, list[int], list[Any]]:
    """Seconds for one round, the sizes of the batches made, and the values answered."""
    batches: list[int] = []

    async def batch(ids: list[Any]) -> list[Any]:
        batches.append(len(ids))
        return [{"id": i} for i in ids]

    loader = make(batch, max_batch=max_batch)
    asked = [f"k{i}" for i in range(keys)] + [f"k{i}" for i in range(0, keys, 10)]
    started = time.perf_counter()
    values = await asyncio.gather(*(loader.load(key) for key in asked))
    values += await asyncio.gather(*(loader.load(f"k{i}") for i in range(min(keys, 1_000))))
    return time.perf_counter() - started, sorted(batches), values


async def main(keys: int, max_batch: int, rounds: int) -> None:
    times: dict[str, list[float]] = {"hand-written": [], "aiodataloader": []}
    for _ in range(rounds):
        old_s, old_batches, old_values = await one_round(HandWrittenDataLoader, keys, max_batch)
        new_s, new_batches, new_values = await one_round(DataLoader, keys, max_batch)
        assert old_batches == new_batches, (old_batches, new_batches)
        assert old_values == new_values
        times["hand-written"].append(old_s)
        times["aiodataloader"].append(new_s)
    old, new = statistics.median(times["hand-written"]), statistics.median(times["aiodataloader"])
    loads = keys + keys // 10 + min(keys, 1_000)
    print(f"{loads} loads ({keys} keys, batches of {max_batch}), median of {rounds} rounds, interleaved:")
    print(f"  hand-written  {old * 1e3:8.2f} ms  ({old / loads * 1e6:.2f} µs a load)")
    print(f"  aiodataloader {new * 1e3:8.2f} ms  ({new / loads * 1e6:.2f} µs a load)")
    print(f"  aiodataloader / hand-written: {new / old:.2f}")
    print(f"  batches per round: {len(old_batches)} (same for both)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.keys, arguments.batch, arguments.rounds))
