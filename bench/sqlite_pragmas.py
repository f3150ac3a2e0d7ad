"""What a point lookup costs the store at a year's volume, under two sets of SQLite settings,
side by side on the very same files (issue 17: "another configuration of the store").

FerretDB 1.x on SQLite passes the query of its ``--sqlite-url`` to every connection it opens,
so ``_pragma=cache_size(...)`` and ``_pragma=mmap_size(...)`` there are SQLite's own settings
(sqlite.org/pragma.html): the page cache of each connection (2,000 KiB by default) and how
much of a database file is read through a memory map instead of ``read`` calls (none by
default). At volume the soak's files are 12 GB (events alone 8.7 GB), so a lookup's B-tree
pages mostly miss a 2 MB cache.

Both FerretDBs serve one copy of the soak's kept fill (``~/.cache/parentnet/soak-fill/<key>``,
copied to ``--work`` first, so the fill itself is not touched), at once: SQLite in WAL mode
allows several processes, and the files' pages in the kernel's cache are then the same for
both. Each round looks up ``--per-round`` random ``_id``s of every hot collection (the soak's
querylog table: the shapes with the largest share of the volume side's store time), on each
store in turn (which goes first alternates), by ``find_one({"_id": ...})``, and reads each
store's CPU from ``/proc`` around its turn. The ids are drawn from the files' own rows before
the stores start (random rowids), so every lookup finds its document.

    python -m bench.sqlite_pragmas [--fill DIR] [--rounds 12] [--per-round 150]

Prints, per collection: CPU per lookup (ms) under each setting and their ratio, and the wall
time per lookup. Measured on a shared machine: compare rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import time
from contextlib import ExitStack, closing
from pathlib import Path

from pymongo import MongoClient

from bench.store import Store, ferretdb_on

DEFAULT = ""
TUNED = "_pragma=cache_size(-65536)&_pragma=mmap_size(4294967296)"
# (database, collection): the shapes with the largest share of the volume side's store time in
# the 2026-12-01 23:33 soak (bench/results.md), all {_id} lookups.
HOT = (
    ("members", "members"),
    ("members", "member_block_snapshots"),
    ("members", "member_group_snapshots"),
    ("events", "attendance_claims"),
    ("events", "outings"),
    ("events", "tickets"),
    ("events", "outbox"),
    ("listings", "listings"),
    ("listings", "inbox_by_recipient"),
)


def kept_fill() -> Path:
    """The newest kept soak fill (a directory of ``<database>.sqlite`` files)."""
    root = Path(os.environ.get("PARENTNET_CACHE", Path.home() / ".cache" / "parentnet")) / "soak-fill"
    fills = [d for d in root.glob("*") if (d / "events.sqlite").exists()]
    if not fills:
        raise SystemExit(f"no kept fill under {root}: run python -m bench.soak once")
    return max(fills, key=lambda d: d.stat().st_mtime)


def sample_ids(path: Path, collection: str, n: int, rng: random.Random) -> list[str]:
    """Up to ``n`` ``_id``s of ``collection`` in a FerretDB SQLite file, at random rowids."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        row = db.execute("SELECT table_name FROM _ferretdb_collections WHERE name = ?", (collection,)).fetchone()
        if row is None:
            return []
        table = row[0]
        (top,) = db.execute(f'SELECT max(rowid) FROM "{table}"').fetchone()
        ids: list[str] = []
        for rowid in rng.sample(range(1, (top or 0) + 1), min(n * 2, top or 0)):
            found = db.execute(
                f"SELECT _ferretdb_sjson->>'$._id' FROM \"{table}\" WHERE rowid = ?", (rowid,)
            ).fetchone()
            if found and isinstance(found[0], str):
                ids.append(found[0])
            if len(ids) == n:
                break
        return ids


def _cpu(store: Store) -> float:
    return store.cpu_seconds()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fill", type=Path, help="a kept soak fill (default: the newest)")
    parser.add_argument("--work", type=Path, default=Path(".run/sqlite-pragmas"))
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--per-round", type=int, default=150, help="lookups per collection per store per round")
    parser.add_argument("--tuned", default=TUNED, help="the second store's --sqlite-url query")
    args = parser.parse_args(argv)
    rng = random.Random(17)
    fill = args.fill or kept_fill()
    data = args.work.resolve() / "data"
    shutil.rmtree(args.work, ignore_errors=True)
    data.mkdir(parents=True)
    started = time.monotonic()
    for name in sorted({d for d, _ in HOT}):
        shutil.copyfile(fill / f"{name}.sqlite", data / f"{name}.sqlite")
    print(f"copied {fill} in {time.monotonic() - started:.0f} s")
    wanted = args.rounds * args.per_round
    ids = {(d, c): sample_ids(data / f"{d}.sqlite", c, wanted, rng) for d, c in HOT}
    ids = {k: v for k, v in ids.items() if v}
    settings = {"default": DEFAULT, "tuned": args.tuned}
    cpu: dict[tuple[str, str, str], float] = {}
    wall: dict[tuple[str, str, str], float] = {}
    counts: dict[tuple[str, str, str], int] = {}
    with ExitStack() as stack:
        stores = {
            label: stack.enter_context(ferretdb_on(data, query, f"-{label}")) for label, query in settings.items()
        }
        clients = {label: stack.enter_context(MongoClient(s.uri, tz_aware=True)) for label, s in stores.items()}
        labels = list(settings)
        for n in range(args.rounds + 1):  # round 0 warms both up and is not counted
            order = labels if n % 2 else labels[::-1]
            for (database, collection), pool in ids.items():
                chosen = pool[(n * args.per_round) % len(pool) :][: args.per_round]
                for label in order:
                    table = clients[label][database][collection]
                    before, at = _cpu(stores[label]), time.perf_counter()
                    missing = sum(table.find_one({"_id": i}, {"_id": 1}) is None for i in chosen)
                    spent, took = _cpu(stores[label]) - before, time.perf_counter() - at
                    if missing:
                        raise SystemExit(f"{missing} ids of {database}.{collection} not found on {label}")
                    if n:
                        key = (database, collection, label)
                        cpu[key] = cpu.get(key, 0.0) + spent
                        wall[key] = wall.get(key, 0.0) + took
                        counts[key] = counts.get(key, 0) + len(chosen)
        rss = {label: s.process.memory_info().rss / 2**20 for label, s in stores.items()}
    print(f"\n`--sqlite-url` query: default = `{DEFAULT or '(none)'}`, tuned = `{args.tuned}`")
    print(f"{args.rounds} rounds of {args.per_round} random lookups per collection per store, interleaved\n")
    print("| collection | CPU per lookup, default → tuned (ms) | tuned ÷ default | wall per lookup (ms) |")
    print("|---|---:|---:|---:|")
    ratios = []
    for database, collection in ids:
        a, b = (cpu[(database, collection, x)] / counts[(database, collection, x)] * 1000 for x in labels)
        wa, wb = (wall[(database, collection, x)] / counts[(database, collection, x)] * 1000 for x in labels)
        ratios.append(b / a if a else float("nan"))
        print(f"| {database}.{collection} | {a:.3f} → {b:.3f} | {ratios[-1]:.2f}× | {wa:.3f} → {wb:.3f} |")
    print(
        f"\nmedian ratio {statistics.median(ratios):.2f}×; resident memory at the end: "
        + ", ".join(f"{label} {mib:,.0f} MiB" for label, mib in rss.items())
    )
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
