"""Measurement 2's load: closed-loop asyncio clients, so the load generator (one process, one
thread, aiohttp) costs little next to what it measures and never contends for a GIL."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import aiohttp
from elasticsearch import AsyncElasticsearch

from bench.dataset import query_points
from search import queries

Call = Callable[[dict], Awaitable[object]]


async def _closed_loop(clients: int, seconds: float, call: Call) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds

    async def client(seed: int) -> int:
        points = query_points(random.Random(seed), 200)
        done = 0
        while loop.time() < deadline:
            await call(points[done % len(points)])
            done += 1
        return done

    return sum(await asyncio.gather(*(client(i) for i in range(clients))))


def gateway_rps(gateway_url: str, query: str, clients: int, seconds: float) -> float:
    async def run() -> int:
        async with aiohttp.ClientSession(gateway_url, connector=aiohttp.TCPConnector(limit=clients)) as session:

            async def call(near: dict) -> None:
                body = {"query": query, "variables": {"near": near, "radiusKm": 2.0, "first": 20}}
                async with session.post("/graphql", json=body) as response:
                    answer = await response.json()
                    if response.status != 200 or "errors" in answer:
                        raise RuntimeError(f"gateway answered {response.status}: {answer}")

            return await _closed_loop(clients, seconds, call)

    return asyncio.run(run()) / seconds


def direct_rps(es_url: str, alias: str, clients: int, seconds: float) -> float:
    async def run() -> int:
        es = AsyncElasticsearch(es_url, connections_per_node=clients)
        try:

            async def call(near: dict) -> None:
                response = await es.search(index=alias, **queries.outings_body(near, 2.0, 20, None))
                queries.nearby_page(response, "location", near, 20)

            return await _closed_loop(clients, seconds, call)
        finally:
            await es.close()

    return asyncio.run(run()) / seconds
