"""How much of a core the MongoDB-protocol store uses while the whole stack sits idle, at volume.

Starts an isolated stack (the five processes, their own vhost, databases and index prefix) on
the servers of the environment, fills its databases with ``devtools.volume`` first, waits until
it is healthy and ``--settle`` seconds more (start-up work is not idling), then reads the store
process's CPU time from ``/proc/<pid>/stat`` over ``--seconds`` and the store's command counters
from its debug port (FerretDB's Prometheus metrics) over the same window. Only meaningful on a
store no one else uses meanwhile:

    MONGO_URI=mongodb://127.0.0.1:27018/ python -m bench.store_idle --store-pid 1234 \\
        --metrics http://127.0.0.1:8089/debug/metrics [--outings 1000] [--seconds 30]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import httpx

from bench.store_queries import store_cpu_seconds
from devtools import volume
from devtools.isolated import isolated_stack
from parentnet_kit import config

COUNTER = re.compile(r'^ferretdb_client_requests_total\{command="(\w+)",opcode="OP_MSG"\} (\d+)$', re.M)


def commands(metrics_url: str | None) -> dict[str, int]:
    if not metrics_url:
        return {}
    return {name: int(n) for name, n in COUNTER.findall(httpx.get(metrics_url, timeout=10).text)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outings", type=int, default=1_000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--settle", type=float, default=15)
    parser.add_argument("--store-pid", type=int, required=True)
    parser.add_argument("--metrics", help="the store's Prometheus metrics URL (FerretDB's debug port)")
    parser.add_argument(
        "--outbox-history",
        action="store_true",
        help="fill the outboxes with every version, as code before issue 17 left them",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as run, isolated_stack("idle", Path(run), start=False) as stack:
        env = stack.env
        filled = volume.fill(
            config.mongo_uri(),
            args.outings,
            events_db=env["EVENTS_DB"],
            members_db=env["MEMBERS_DB"],
            listings_db=env["LISTINGS_DB"],
            outbox_history=args.outbox_history,
        )
        stack.start_all()
        stack.wait_healthy(120)
        time.sleep(args.settle)  # start-up work (indexes, marker adoption) is not idling
        before_cpu, before_cmds, started = store_cpu_seconds(args.store_pid), commands(args.metrics), time.monotonic()
        time.sleep(args.seconds)
        cpu = store_cpu_seconds(args.store_pid) - before_cpu
        elapsed = time.monotonic() - started
        after_cmds = commands(args.metrics)
    print(f"volume: {filled.total:,} documents; idle for {elapsed:.0f} s")
    print(f"store CPU: {cpu:.2f} s = {100 * cpu / elapsed:.1f} % of a core")
    for name in sorted(after_cmds):
        n = after_cmds[name] - before_cmds.get(name, 0)
        if n:
            print(f"  {name}: {n} ({n / elapsed:.1f}/s)")


if __name__ == "__main__":
    main()
