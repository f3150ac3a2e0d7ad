"""The per-request DataLoader (aiodataloader underneath): what the schema's resolvers rely on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.loaders import DataLoader


class Batches:
    """A batch function that records the keys of each call and answers ``{"id": key}``."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[Any]] = []
        self.fail = fail

    async def __call__(self, keys: list[Any]) -> list[Any]:
        self.calls.append(list(keys))
        if self.fail:
            raise RuntimeError("members is down")
        return [{"id": key} for key in keys]


def test_keys_asked_in_one_tick_are_one_call_and_each_key_is_loaded_once() -> None:
    batches = Batches()

    async def scenario() -> list[Any]:
        loader = DataLoader(batches)
        first = await asyncio.gather(loader.load("a"), loader.load("b"), loader.load("a"))
        again = await loader.load("b")  # cached for the rest of the request
        return [*first, again]

    assert asyncio.run(scenario()) == [{"id": "a"}, {"id": "b"}, {"id": "a"}, {"id": "b"}]
    assert batches.calls == [["a", "b"]]


def test_more_keys_than_max_batch_are_split_into_calls_of_at_most_max_batch() -> None:
    batches = Batches()

    async def scenario() -> list[Any]:
        loader = DataLoader(batches, max_batch=3)
        return await asyncio.gather(*(loader.load(i) for i in range(7)))

    assert asyncio.run(scenario()) == [{"id": i} for i in range(7)]
    assert batches.calls == [[0, 1, 2], [3, 4, 5], [6]]


def test_a_primed_key_is_not_asked_for_and_priming_does_not_replace_a_loaded_value() -> None:
    batches = Batches()

    async def scenario() -> list[Any]:
        loader = DataLoader(batches)
        loader.prime("a", {"id": "a", "primed": True})
        loaded = await asyncio.gather(loader.load("a"), loader.load("b"))
        loader.prime("b", {"id": "b", "primed": True})
        return [*loaded, await loader.load("b")]

    assert asyncio.run(scenario()) == [{"id": "a", "primed": True}, {"id": "b"}, {"id": "b"}]
    assert batches.calls == [["b"]]


def test_a_failed_call_fails_each_waiting_key_and_is_not_kept() -> None:
    batches = Batches(fail=True)

    async def scenario() -> None:
        loader = DataLoader(batches)
        results = await asyncio.gather(loader.load("a"), loader.load("b"), return_exceptions=True)
        assert [str(r) for r in results] == ["members is down", "members is down"]
        batches.fail = False
        assert await loader.load("a") == {"id": "a"}

    asyncio.run(scenario())
    assert batches.calls == [["a", "b"], ["a"]]


def test_a_loader_made_outside_an_event_loop_loads_in_the_loop_that_runs_it() -> None:
    batches = Batches()
    loader = DataLoader(batches)  # as a Context built before its request's loop runs

    async def scenario() -> Any:
        return await loader.load("a")

    assert asyncio.run(scenario()) == {"id": "a"}
    with pytest.raises(RuntimeError):
        loader.load("b")  # no loop running: nothing to batch in
