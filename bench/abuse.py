"""Issue 18 point 6: one client's costly documents must not stall the others.

``python -m bench.abuse`` starts an isolated stack, then measures a normal client's latency
(one request at a time, alternating a query the gateway answers alone and one that calls
search) in rounds, alternately quiet and while an abusive client, in another process, sends
documents that were expensive to parse, validate or walk, as fast as the gateway answers, on
POST, GET and the websocket, each one new (so no cache helps):

- fragments that each spread the one before twice (18 and 24 levels, under 1 KB);
- 1,000 fields of the same name (13 KB); 2,000 aliases (30 KB);
- a 300 KB document over the websocket, and a 10 MB websocket message;
- a chunked POST body with no Content-Length, 1 MB;
- the full introspection query, a new text each time (its result is kept per text).

It prints p50 and p99 of each condition and their ratio (target: p99 under abuse at most 3x
the quiet p99), and appends them to ``bench/results-abuse.md``.
Options: ``--rounds 6 --samples 150 --abusers 4``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from graphql import get_introspection_query

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devtools.isolated import isolated_stack  # noqa: E402

CITIES = "{ cities { slug name timeZone } }"
INTROSPECTION = get_introspection_query(descriptions=True, input_value_deprecation=True)
NEARBY = (
    "{ nearbyOutings(near: {lat: 48.8584, lon: 2.2945}, radiusKm: 3, first: 10) { totalCount nodes { id title } } }"
)


def explosion(levels: int, salt: int) -> str:
    fragments = ["fragment F0 on Query { cities { slug } }"]
    fragments += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return f"# {salt}\n{{ ...F{levels} }} " + " ".join(fragments)


def same_name(salt: int) -> str:
    return f"# {salt}\n{{" + " cities { slug }" * 1_000 + " }"


def aliases(salt: int) -> str:
    return f"# {salt}\n{{" + "".join(f" a{i}: __typename" for i in range(2_000)) + " }"


def huge(salt: int, size: int) -> str:
    return f"# {salt}\n{{" + " __typename" * (size // 11) + " }"


async def abuse(url: str, stop: multiprocessing.synchronize.Event, workers: int, answered: Any) -> None:
    """Send costly documents until ``stop`` is set, ``workers`` at a time; counts the answers
    (refusals included) in ``answered``."""
    from websockets.asyncio.client import connect  # only the abusive process needs it

    ws_url = url.replace("http://", "ws://") + "/graphql"
    sent = 0

    async def over_http(client: httpx.AsyncClient, salt: int) -> None:
        kind = salt % 6
        if kind == 0:
            await client.post("/graphql", json={"query": explosion(18 + salt % 7, salt)})
        elif kind == 1:
            await client.get("/graphql", params={"query": explosion(20, salt)})
        elif kind == 2:
            await client.post("/graphql", json={"query": same_name(salt)})
        elif kind == 3:
            await client.post("/graphql", json={"query": aliases(salt)})
        elif kind == 4:  # a new text each time: never the kept result
            await client.post("/graphql", json={"query": f"# {salt}\n{INTROSPECTION}"})
        else:

            async def chunks():  # noqa: ANN202 - no Content-Length: sent chunked
                yield b'{"query": "{ __typename }", "x": "'
                for _ in range(64):
                    yield b"x" * 16_384
                yield b'"}'

            await client.post("/graphql", content=chunks(), headers={"content-type": "application/json"})

    async def over_ws(salt: int) -> None:
        try:
            async with connect(ws_url, subprotocols=["graphql-transport-ws"], max_size=None) as socket:
                await socket.send(orjson.dumps({"type": "connection_init"}).decode())
                await socket.recv()
                size = 300_000 if salt % 2 else 10_000_000
                await socket.send(
                    orjson.dumps({"type": "subscribe", "id": "1", "payload": {"query": huge(salt, size)}}).decode()
                )
                await asyncio.wait_for(socket.recv(), 10)
        except Exception:  # noqa: BLE001 - refused or closed is what should happen
            pass

    async def worker(index: int) -> None:
        nonlocal sent
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            salt = index * 1_000_000
            while not stop.is_set():
                salt += 1
                with contextlib.suppress(httpx.HTTPError):
                    await (over_ws(salt) if salt % 7 == 0 else over_http(client, salt))
                sent += 1
                with answered.get_lock():
                    answered.value += 1

    await asyncio.gather(*(worker(i) for i in range(workers)))


def abuser(url: str, stop: multiprocessing.synchronize.Event, workers: int, answered: Any) -> None:
    asyncio.run(abuse(url, stop, workers, answered))


def sample(client: httpx.Client, count: int) -> list[float]:
    """Milliseconds of ``count`` normal requests, one at a time, alternating two queries."""
    times = []
    for i in range(count):
        started = time.perf_counter()
        response = client.post("/graphql", json={"query": NEARBY if i % 2 else CITIES})
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and "errors" not in response.json(), response.text
    return times


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6, help="rounds of each condition, alternated")
    parser.add_argument("--samples", type=int, default=150, help="normal requests per round")
    parser.add_argument("--abusers", type=int, default=4, help="concurrent abusive connections")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as run_dir, isolated_stack("abuse", Path(run_dir)) as stack:
        quiet: list[float] = []
        abused: list[float] = []
        answered = multiprocessing.Value("i", 0)
        abused_seconds = 0.0
        with httpx.Client(base_url=stack.gateway_url, timeout=60) as client:
            sample(client, 40)  # warm-up: caches, connections
            for _ in range(args.rounds):
                quiet += sample(client, args.samples)
                stop = multiprocessing.Event()
                process = multiprocessing.Process(target=abuser, args=(stack.gateway_url, stop, args.abusers, answered))
                process.start()
                time.sleep(1.0)  # let the abuse reach its pace before sampling
                before, started = answered.value, time.monotonic()
                abused += sample(client, args.samples)
                abused_seconds += time.monotonic() - started
                counted = answered.value - before
                stop.set()
                process.join(30)
                assert counted > 0, "the abusive client got no answer"
        ratio_p99 = p99(abused) / p99(quiet)
        lines = [
            "| condition | samples | p50 ms | p99 ms |",
            "|---|---|---|---|",
            f"| quiet | {len(quiet)} | {statistics.median(quiet):.1f} | {p99(quiet):.1f} |",
            f"| under abuse ({args.abusers} connections) | {len(abused)} | {statistics.median(abused):.1f} "
            f"| {p99(abused):.1f} |",
            "",
            f"p99 ratio, abused / quiet: **{ratio_p99:.2f}x** (target at most 3x); "
            f"p50 ratio {statistics.median(abused) / statistics.median(quiet):.2f}x; "
            f"the abusive client had {answered.value / max(abused_seconds, 0.001):.0f} answers a second "
            "while the normal one was sampled (refusals, and new introspection texts answered)",
        ]
        report = "\n".join(lines)
        print(report)
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        with (ROOT / "bench" / "results-abuse.md").open("a") as out:
            out.write(f"\n## {stamp}: {args.rounds} rounds x {args.samples} samples per condition\n\n{report}\n")


if __name__ == "__main__":
    main()
