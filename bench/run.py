"""make bench (python -m bench.run): seed a multi-city dataset, then measure side by side in one run and write
bench/results.md and bench/latency.png.

Every ratio compares two paths measured in the same run, interleaved or back to back, so a
noisy shared machine slows both alike. The load comes from this process; the measured
processes are the stack's own (gateway, services), RabbitMQ and Elasticsearch.
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import psutil
import urllib3
from elasticsearch import Elasticsearch

from bench import cache, ingest, load, report, rpc_hop
from bench.amqp_client import BlockingRpc
from bench.dataset import mixed_events, percentile, query_points
from bench.stack import bench_stack
from devtools.search_fill import index_events
from gateway.ids import from_global_id
from parentnet_kit import config
from search import queries

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

NEARBY = """query($near: GeoPointInput!, $radiusKm: Float!, $first: Int) {
  nearbyOutings(near: $near, radiusKm: $radiusKm, first: $first) { totalCount edges { node { id } } }
}"""
# Production settings but for what a single load-generating address would trip over.
BENCH_SETTINGS: dict[str, str | None] = {"GATEWAY_TRACE_RPC": "false"}


def seed(es: Elasticsearch, prefix: str, total: int, rng: random.Random) -> dict[str, int]:
    """Straight into the indices (the indexer's own speed is measurement 4)."""
    return index_events(es, prefix, mixed_events(total, rng))


def measured_processes(stack, es: Elasticsearch) -> dict[str, psutil.Process]:  # noqa: ANN001
    found = {name: psutil.Process(p.pid) for name, p in stack.processes.items()}
    for node in es.nodes.info(node_id="_local", metric="process")["nodes"].values():
        found["elasticsearch"] = psutil.Process(node["process"]["id"])
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "beam.smp":
            found["rabbitmq"] = process
    return found


def tree(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def trees(processes: dict[str, psutil.Process]) -> dict[str, list[psutil.Process]]:
    """Each measured process with its children, found once (a scan of /proc is not free);
    the bench itself without its children, which are the stack's processes."""
    return {**{name: tree(process) for name, process in processes.items()}, "bench client": [psutil.Process()]}


def rss_mb(processes: dict[str, list[psutil.Process]]) -> dict[str, float]:
    found = {}
    for name, family in processes.items():
        try:
            found[name] = sum(p.memory_info().rss for p in family) / 2**20
        except psutil.NoSuchProcess:
            found[name] = float("nan")
    return found


def cpu_seconds(processes: dict[str, list[psutil.Process]]) -> dict[str, float]:
    found = {}
    for name, family in processes.items():
        total = 0.0
        for p in family:
            try:
                times = p.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        found[name] = total
    return found


def settle(es: Elasticsearch, prefix: str, timeout: float = 300) -> None:
    """Wait out the segment merges the seeding set off, so that they don't count against
    whichever path is measured first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = es.indices.stats(index=f"{prefix}*", metric="merge")
        if stats["_all"]["total"]["merges"]["current"] == 0:
            return
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--ingest", type=int, default=40_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--freshness", type=int, default=40)
    parser.add_argument("--echo", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5, help="rounds the latency samples are split into")
    parser.add_argument("--rounds-ingest", type=int, default=3, help="ingest measurements, side by side each")
    args = parser.parse_args()
    rng = random.Random(2026)
    results: dict[str, object] = {}
    run_dir = ROOT / ".run" / "bench"
    with bench_stack("bench", run_dir, BENCH_SETTINGS) as stack:
        es = Elasticsearch(config.elasticsearch_url(), request_timeout=60)
        prefix = stack.env["SEARCH_INDEX_PREFIX"]

        # 4. ingest first, into the empty indices, so both sides start from fresh ones
        results["ingest"] = ingest.ingest(stack, es, args.ingest, rounds=args.rounds_ingest)
        stack.wait_healthy(90)

        started = time.monotonic()
        counts = seed(es, prefix, args.docs, rng)
        results["seeded"] = (
            f"{counts['outings']:,} outings and {counts['listings']:,} listings in "
            f"{len(report.cities())} cities, seeded in {time.monotonic() - started:.0f} s"
        )
        settle(es, prefix)
        processes = trees(measured_processes(stack, es))
        idle = rss_mb(processes)
        # urllib3, the HTTP library the Elasticsearch client uses: the two paths pay alike.
        http = urllib3.HTTPConnectionPool("127.0.0.1", stack.gateway_port, maxsize=1, timeout=30)
        rpc = BlockingRpc(stack.env["AMQP_URI"])
        alias = f"{prefix}outings"

        def via_gateway(near: dict) -> list[str]:
            body = post(http, {"query": NEARBY, "variables": {"near": near, "radiusKm": 2.0, "first": 20}})
            return [from_global_id(e["node"]["id"])[1] for e in body["data"]["nearbyOutings"]["edges"]]

        def via_rpc(near: dict) -> list[str]:
            page = rpc.call("search", "nearby_outings", near=near, radius_km=2.0, first=20)
            return [e["node"]["id"] for e in page["edges"]]

        def direct(near: dict) -> list[str]:
            answer = es.search(index=alias, **queries.outings_body(near, 2.0, 20, None))
            page = queries.nearby_page(answer, "location", near, 20)
            return [e["node"]["id"] for e in page["edges"]]

        # 1. latency, interleaved, at each hop; the same hit ids every way
        paths = {"gateway": via_gateway, "search RPC": via_rpc, "direct": direct}
        points = query_points(rng, args.queries + 50)
        for near in points[:50]:
            for call in paths.values():
                call(near)
        timings: dict[str, list[float]] = {name: [] for name in paths}
        mismatched = 0
        for near in points[50:]:
            hits = {}
            for name, call in paths.items():
                t0 = time.perf_counter()
                hits[name] = call(near)
                timings[name].append((time.perf_counter() - t0) * 1000)
            mismatched += len({tuple(h) for h in hits.values()}) > 1
        results["latency"] = {
            name: {"p50": statistics.median(ms), "p99": percentile(ms, 99), "all": ms} for name, ms in timings.items()
        }
        # The same samples in consecutive rounds: how much the ratio moves within one run.
        size = len(timings["direct"]) // args.rounds
        results["latency rounds"] = [
            statistics.median(timings["gateway"][i * size : (i + 1) * size])
            / statistics.median(timings["direct"][i * size : (i + 1) * size])
            for i in range(args.rounds)
        ]
        results["mismatched"] = mismatched
        rpc.close()

        # 2. throughput with 8 concurrent clients, the CPU each process spends per request,
        #    and 6. memory under that load
        peak = dict(idle)
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                for name, value in rss_mb(processes).items():
                    peak[name] = max(peak[name], value)
                stop.wait(0.2)

        sampler = threading.Thread(target=sample)
        sampler.start()

        def throughput(run: Callable[[float], float], seconds: float) -> tuple[float, dict[str, float]]:
            before = cpu_seconds(processes)
            rps = run(seconds)
            after = cpu_seconds(processes)
            return rps, {name: after[name] - before[name] for name in processes}

        # Alternating rounds, so neither path gets the quieter moments of the machine.
        rounds = {"gateway": [], "direct": []}
        half = args.seconds / 2
        for _ in range(2):
            rounds["gateway"].append(throughput(lambda s: load.gateway_rps(stack.gateway_url, NEARBY, 8, s), half))
            rounds["direct"].append(
                throughput(lambda s: load.direct_rps(config.elasticsearch_url(), alias, 8, s), half)
            )
        rps = {path: statistics.mean(r for r, _ in runs) for path, runs in rounds.items()}
        cpu = {
            path: {name: sum(c[name] for _, c in runs) * 1000 / (rps[path] * args.seconds) for name in processes}
            for path, runs in rounds.items()
        }
        stop.set()
        sampler.join()
        results["throughput"] = rps
        results["cpu per request"] = cpu

        # 5. the parsed-and-validated document cache, on the docs/ queries
        results["cache"] = cache.measure(lambda payload, headers: post(http, payload, headers))
        results["memory"] = {name: (idle[name], peak[name]) for name in stack.processes}

        # 3. the RPC hop
        results["rpc hop"] = rpc_hop.measure(stack.env["AMQP_URI"], run_dir, args.echo)

        # 4. freshness, on the loaded index
        refresh = es.indices.get_settings(index=alias, name="index.refresh_interval", flat_settings=True)
        interval = next(iter(refresh.values()))["settings"]["index.refresh_interval"]
        results["freshness"] = ingest.summary(ingest.freshness(stack.gateway_url, args.freshness))
        results["refresh_interval"] = interval
    report.write(results)


def post(http: urllib3.HTTPConnectionPool, payload: dict, headers: dict | None = None) -> dict:
    response = http.request(
        "POST", "/graphql", body=orjson.dumps(payload), headers={"Content-Type": "application/json", **(headers or {})}
    )
    if response.status != 200:
        raise RuntimeError(f"gateway answered {response.status}: {response.data[:500]!r}")
    return orjson.loads(response.data)


if __name__ == "__main__":
    main()
