"""What password hashing leaves resident in a members process, by how many threads hash.

members hashes with argon2id at 19 MiB per hash (``members.security.HASHER``) in eventlet's
thread pool (``tpool``), so the hub keeps serving meanwhile. glibc gives each thread that
allocates a block that large its own arena and keeps the block there once freed (its mmap
threshold rises past the first such block), so every pool thread that ever hashed holds 19 MiB.
Each reading here is a fresh process, as the service runs: ``tpool.set_num_threads(N)``, then
``--bursts`` bursts of ``--calls`` hashes started at once from green threads, then its resident
memory (``/proc/self/statm``) and the median time of a hash. The pool sizes are eventlet's
default (20) and ``members.dependencies.hash_threads`` with ``PASSWORD_HASH_THREADS`` unset (the
machine's cores), alternated ``--rounds`` times so that both see the same machine.

``python -m bench.hash_memory [--rounds 3] [--bursts 3] [--calls 20]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

EVENTLET_DEFAULT = 20


def one_process(threads: int, bursts: int, calls: int) -> dict[str, float]:
    """In this process: hash in ``threads`` pool threads, ``bursts`` x ``calls`` at once."""
    import time

    import eventlet
    from eventlet import tpool

    from members.security import HASHER

    tpool.set_num_threads(threads)
    took: list[float] = []

    def hash_one() -> None:
        began = time.perf_counter()
        tpool.execute(HASHER.hash, "a parent's passphrase")
        took.append(time.perf_counter() - began)

    for _ in range(bursts):
        pool = eventlet.GreenPool(calls)
        for _ in range(calls):
            pool.spawn(hash_one)
        pool.waitall()
    with open("/proc/self/statm") as statm:
        resident = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return {"threads": threads, "resident MiB": resident / 2**20, "median ms per hash": 1000 * statistics.median(took)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hash_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--calls", type=int, default=20, help="hashes started at once per burst")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_process(args.child, args.bursts, args.calls)))
        return
    from members.dependencies import hash_threads

    sizes = [EVENTLET_DEFAULT, hash_threads({})]
    found: dict[int, list[dict[str, float]]] = {size: [] for size in sizes}
    for _ in range(args.rounds):
        for size in sizes:
            command = [sys.executable, "-m", "bench.hash_memory", "--child", str(size)]
            command += ["--bursts", str(args.bursts), "--calls", str(args.calls)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            found[size].append(json.loads(out.splitlines()[-1]))
    print(f"{args.bursts} bursts of {args.calls} hashes at once, {args.rounds} processes per pool size")
    print("| pool threads | resident MiB after (median) | median ms per hash (median) |")
    print("|---:|---:|---:|")
    for size, runs in found.items():
        resident = statistics.median(r["resident MiB"] for r in runs)
        per_hash = statistics.median(r["median ms per hash"] for r in runs)
        print(f"| {size} | {resident:.0f} | {per_hash:.0f} |")


if __name__ == "__main__":
    main()
