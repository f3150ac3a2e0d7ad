"""What the collections beside it cost a point lookup on FerretDB 1.24 (issue 17, docs/store.md
"Round 6"): the same ``find_one({"_id": ...})`` in databases that differ only in how many other
(small) collections they hold, interleaved round by round on one FerretDB of its own, its CPU read
from ``/proc`` around each turn.

FerretDB answers each ``find`` by first listing its database's collections (``msg_find.go``:
``ListCollections`` copies and sorts the metadata of every one, then looks the name up), so the
cost of a read grows with the collections beside it. A year of expiry markers by day was ~370
collections in the inbox owners' databases (``parentnet_kit.expiry`` now keeps them in a
database of their own).

    python -m bench.collections_cost [--beside 0,50,180,370] [--rounds 10] [--per-round 300]

Prints the CPU per lookup for each count and its ratio to the first. Measured on a shared
machine: compare rows of one run.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

from pymongo import MongoClient

from bench.store import ferretdb_on

DOCUMENTS = 2_000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beside", default="0,50,180,370", help="other collections in each database")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=300)
    parser.add_argument("--work", type=Path, default=Path(".run/collections-cost"))
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.beside.split(",")]
    data = args.work.resolve() / "data"
    shutil.rmtree(args.work, ignore_errors=True)
    data.mkdir(parents=True)
    rng = random.Random(17)
    ids = [f"doc{i}" for i in range(DOCUMENTS)]
    spent = dict.fromkeys(counts, 0.0)
    asked = dict.fromkeys(counts, 0)
    with ferretdb_on(data, "") as store, MongoClient(store.uri) as client:
        for count in counts:
            db = client[f"beside{count}"]
            db.things.insert_many([{"_id": i, "text": "x" * 300, "n": n} for n, i in enumerate(ids)])
            for k in range(count):
                db[f"markers_{20250101 + k}"].insert_one({"_id": "m"})
        for n in range(args.rounds + 1):  # round 0 warms up and is not counted
            order = counts if n % 2 else counts[::-1]
            for count in order:
                things = client[f"beside{count}"].things
                chosen = rng.sample(ids, args.per_round)
                before = store.cpu_seconds()
                for i in chosen:
                    things.find_one({"_id": i})
                if n:
                    spent[count] += store.cpu_seconds() - before
                    asked[count] += len(chosen)
    shutil.rmtree(args.work, ignore_errors=True)
    base = spent[counts[0]] / asked[counts[0]]
    print(f"{args.rounds} rounds of {args.per_round} lookups per database, interleaved; {DOCUMENTS:,} documents each\n")
    print("| collections beside | store CPU per lookup (ms) | ÷ the first |")
    print("|---:|---:|---:|")
    for count in counts:
        per = spent[count] / asked[count]
        print(f"| {count} | {per * 1000:.3f} | {per / base:.2f}× |")


if __name__ == "__main__":
    main()
