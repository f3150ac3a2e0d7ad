"""make soak (python -m bench.soak): the same steady mix of API calls on an empty store and on
a store filled as a year of use leaves it, both at the same time in one run (each phase starts
on both sides together, so the machine's other load falls on both alike and the ratios compare
like with like); appends the comparison to bench/results.md and draws bench/soak.png.

Each side gets a stack of its own (bench.stack) on a MongoDB-protocol store of its own
(bench.store: the shared FerretDB's binary and flags, its own port and data), so the store's
CPU read from /proc is that side's alone. Per side:

1. the volume side is filled (devtools.volume: ``--outings`` outings with up to twice
   ``--places`` tickets each, as many members and listings, an outbox record per version), and
   its upcoming outings indexed into its search indices, as the indexer would have (and the
   segment merges that sets off waited out, ``bench.run.settle``). A fill is
   kept (``~/.cache/parentnet/soak-fill/``, one SQLite file per database, keyed by the fill's
   code, its size and the day) and copied into the next run's store instead of filled again:
   100,000 outings take ~50 minutes to write here, a copy seconds;
2. the idle store's CPU over ``--idle`` seconds (the stack's sweepers and timers running);
3. ``--phones`` simulated phones (bench.phones) register, each from its own 127.77.x.y
   address: every per-address limit stays at its production value;
4. each operation alone, ``--solo`` times in a row: the store's CPU and commands per call;
5. the mix at ``--rate`` calls per second for ``--warmup`` minutes, not measured, then for
   ``--minutes``, measured, its last 3 minutes repeating the calls of its first 3
   (``bench.phones.schedule``);
6. 4 and 2 again: how the per-call cost and the idle cost moved over the run.

Latency is the phone's: from the request leaving to the answer read. ``--short`` is a quick
try (1 minute per side, 2,000 outings); the numbers of a short run say little.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from pymongo import MongoClient

from bench import soak_report
from bench.machine_speed import SpeedProbe
from bench.other_work import OtherWork
from bench.phones import OPERATIONS, Phone, Pools, Sample, run_mix
from bench.process_cpu import ProcessCpu, busiest
from bench.run import settle
from bench.stack import bench_stack
from bench.store import Store, newest_build, private_store
from devtools import volume
from devtools.search_fill import index_filled_outings
from parentnet_kit import config, expiry, gc_tuning, querylog

ROOT = Path(__file__).resolve().parent.parent
# Production values for everything the test suites relax (devtools.isolated.TEST_SETTINGS):
# each phone has its own address, so no limit needs raising.
SOAK_SETTINGS: dict[str, str | None] = {
    "REGISTRATIONS_PER_CLIENT_HOUR": None,
    "EXPIRY_SWEEP_SECONDS": None,
    "GATEWAY_TRACE_RPC": "false",
    "GATEWAY_RATE_POINTS_PER_MINUTE": None,
}
SAMPLE_EVERY = 5.0  # seconds between readings of the store's CPU during the mix
# The unmeasured mix before the measured one: as long as the longest window over which a phone's
# own recent use is read back, members' login window (LOGIN_WINDOW_SECONDS, 15 min by default:
# a sign-in reads the attempts of its address and account inside it), so that the phones, new
# accounts, are in use as steadily at the mix's start as at its end. With 2 minutes, the same
# burst of 24 calls in 1.2 s was answered in 42-164 ms at 167 s and in 0.4-2.1 s when replayed
# at 587 s (the 04:16 run of 2026-12-02), the store's CPU per call rising alike on both sides
# (sign-in: 19 -> 32 finds per call), which read as the volume side's flatness missed.
WARMUP_MINUTES = 15.0
SOLO_BUDGET = 30.0  # seconds per operation measured alone, however few calls that makes


@dataclass
class Side:
    """One side's measurements. ``timeline``: (seconds into the mix, store CPU seconds so far,
    calls answered so far); ``solo``: per phase ("start", "end") and operation, the store's
    CPU ms and commands per call; ``idle``: per phase, the idle store's share of one core
    (``idle_commands``: the commands per second the stack's timers send it meanwhile);
    ``registered``: phones that signed up (the others sit out); ``aborted``: why the side
    stopped before its mix, if it did; ``other_work``: the CPU other work on the machine used
    while the sides ran, as a share of one core (``bench.other_work``; -1: not measured);
    ``mix_started_unix``: when the mix began (Unix seconds), to line samples (seconds into the
    mix) up with the query log's ``at``; ``warmup``: the unmeasured mix before it (seconds,
    calls, its join p99); ``replayed``: seconds at the mix's end that repeat the calls of its
    start (``bench.phones.schedule``; 0: none); ``machine_speed``: (Unix seconds, CPU ms) of a
    fixed piece of work every 10 s while the sides ran (``bench.machine_speed``); ``busiest``:
    per stretch ("first", "last": the mix's first and last ``soak_report.FLAT_WINDOW`` seconds)
    the processes that used the machine's CPU most, as ("<pid> <label>", share of one core)
    (``bench.process_cpu``; the same on both sides)."""

    name: str
    filled: dict[str, Any] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    timeline: list[tuple[float, float, int]] = field(default_factory=list)
    solo: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    idle: dict[str, float] = field(default_factory=dict)
    idle_commands: dict[str, dict[str, float]] = field(default_factory=dict)
    store_private: bool = True
    mix_seconds: float = 0.0
    store_binary: str = ""
    registered: int = 0
    aborted: str = ""
    queries: list[dict[str, Any]] = field(default_factory=list)
    queries_mix: list[dict[str, Any]] = field(default_factory=list)  # the measured mix's only
    other_work: float = -1.0
    mix_started_unix: float = 0.0
    warmup: dict[str, float] = field(default_factory=dict)
    replayed: float = 0.0
    machine_speed: list[tuple[float, float]] = field(default_factory=list)
    busiest: dict[str, list[tuple[str, float]]] = field(default_factory=dict)


async def idle_share(store: Store, seconds: float) -> tuple[float, dict[str, float]]:
    """The store over ``seconds`` with no client calling: its CPU as a share of one core, and
    the commands per second the stack's own timers send it."""
    before, commands, t0 = store.cpu_seconds(), store.commands(), time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - t0
    after = store.commands()
    rates = {k: (v - commands.get(k, 0)) / elapsed for k, v in after.items() if v != commands.get(k, 0)}
    return (store.cpu_seconds() - before) / elapsed, rates


async def solo(
    phones: list[Phone], store: Store, times: int, idle: tuple[float, dict[str, float]]
) -> dict[str, dict[str, Any]]:
    """Each operation ``times`` in a row (fewer if SOLO_BUDGET runs out), nothing else calling:
    per call the store's CPU (ms) and its commands, less what the idle store spends and is sent
    over the same time (``idle`` as idle_share answers; a negative CPU means the call cost less
    than the idle noise), and the median latency."""
    idle_cpu, idle_rates = idle
    found: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        samples: list[Sample] = []
        cpu0, commands0, t0 = store.cpu_seconds(), store.commands(), time.monotonic()
        for i in range(times):
            if i and time.monotonic() - t0 > SOLO_BUDGET:  # a store that answers in 5 s timeouts
                break
            phone = phones[i % len(phones)]
            kept, phone.samples = phone.samples, samples
            try:
                await phone.run(operation)
            finally:
                phone.samples = kept
        elapsed = time.monotonic() - t0
        cpu = store.cpu_seconds() - cpu0 - idle_cpu * elapsed
        commands1 = store.commands()
        ran = [s for s in samples if s.operation == operation]
        n = max(1, len(ran))
        commands = {k: (v - commands0.get(k, 0) - idle_rates.get(k, 0) * elapsed) / n for k, v in commands1.items()}
        found[operation] = {
            "calls": len(ran),
            "cpu ms": cpu * 1000 / n,
            "commands": {k: v for k, v in commands.items() if v >= 0.05},
            "p50 ms": soak_report.median([s.ms for s in ran]),
            "outcomes": sorted({s.outcome for s in ran}),
        }
    return found


async def sample_store(store: Store, side: Side, started: float, stop: asyncio.Event) -> None:
    while True:
        side.timeline.append((time.monotonic() - started, store.cpu_seconds(), len(side.samples)))
        try:
            await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)
            side.timeline.append((time.monotonic() - started, store.cpu_seconds(), len(side.samples)))
            return
        except TimeoutError:
            pass


async def in_step(together: asyncio.Barrier) -> None:
    """Wait until the other side reaches the same phase (at once if it stopped early)."""
    with contextlib.suppress(asyncio.BrokenBarrierError):
        await together.wait()


async def drive(
    side: Side,
    store: Store,
    gateway_url: str,
    args: argparse.Namespace,
    rng: random.Random,
    together: asyncio.Barrier,
) -> None:
    pools = Pools()
    phones = [Phone(n, gateway_url, pools, side.samples, rng) for n in range(args.phones)]
    everyone = list(phones)
    started = time.monotonic()
    for phone in phones:
        await phone.open(started)
    try:
        await in_step(together)
        side.idle["start"], side.idle_commands["start"] = idle = await idle_share(store, args.idle)
        # One at a time: setup, not measured, and a store slowed by volume still lets them in.
        await gather_in(1, [phone.register for phone in phones])
        side.registered = sum(1 for phone in phones if phone.token)
        if side.registered < 2:
            side.aborted = f"{side.registered} of {len(phones)} phones could sign up: " + ", ".join(
                sorted({s.outcome for s in side.samples if s.operation == "register"})
            )
            print(f"soak: {side.name} side stopped: {side.aborted}", flush=True)
            await together.abort()
            return
        phones = [phone for phone in phones if phone.token]
        # Something to join, reserve and read before the clock starts.
        await gather_in(8, [phone.create_outing for phone in phones[:10]] + [p.create_listing for p in phones[:10]])
        await gather_in(8, [phone.nearby for phone in phones[:20]])
        await in_step(together)
        side.solo["start"] = await solo(phones, store, args.solo, idle)
        side.samples.clear()
        await in_step(together)
        if args.warmup:
            # The same mix, not measured: a store just started (the volume side's copied in) reads
            # cold pages, and what the solo calls set off still runs. The 20:33 run without it:
            # both sides' p99s 2-3x higher in the first 2.5 minutes than after, at the same
            # number of store commands per second.
            began = time.monotonic()
            await run_mix(phones, args.rate, args.warmup * 60, rng)
            side.warmup = {
                "seconds": time.monotonic() - began,
                "calls": len(side.samples),
                "join p99 ms": soak_report.p99([x.ms for x in side.samples if x.operation == "join"]),
            }
            side.samples.clear()
            await in_step(together)
        # This process times every call of both sides: a full collection walking its start-up
        # objects (100,000, 55-62 ms a walk every ~13 s in the 20:38 run) would add to the calls
        # in flight. Out of the walks, as the services do theirs (parentnet_kit.gc_tuning).
        gc_tuning.freeze()
        mix_started, side.mix_started_unix = time.monotonic(), time.time()
        for phone in phones:
            phone.started = mix_started
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_store(store, side, mix_started, stop))
        # The last stretch judged for flatness repeats the first one's calls (common random
        # numbers): the two then differ in what the run wrote between them, not in where chance
        # bunched the arrivals (bench.phones.schedule).
        side.replayed = soak_report.FLAT_WINDOW if args.minutes * 60 >= 2 * soak_report.FLAT_WINDOW else 0.0
        await run_mix(phones, args.rate, args.minutes * 60, rng, replay=side.replayed)
        side.mix_seconds = time.monotonic() - mix_started
        stop.set()
        await sampler
        await in_step(together)
        side.solo["end"] = await solo(phones, store, args.solo, idle)
        await in_step(together)
        side.idle["end"], side.idle_commands["end"] = await idle_share(store, args.idle)
    finally:
        for phone in everyone:
            await phone.close()


async def gather_in(limit: int, calls: list[Callable[[], Awaitable[None]]]) -> None:
    """Run the calls at most ``limit`` at a time."""
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await call()

    await asyncio.gather(*(one(call) for call in calls))


DATABASES = ("events", "members", "listings")
# Each one's expiry markers are in a database beside it (parentnet_kit.expiry.markers_database).
MARKERS = {name: f"{name}{expiry.SUFFIX}" for name in DATABASES}


def fill_key(args: argparse.Namespace) -> str:
    """What a kept fill depends on: the fill's code and the domain code it builds with, its
    size, the store's build and the day (the fill's dates are relative to when it ran)."""
    digest = hashlib.sha256(f"{args.outings}:{args.places}:{newest_build()}:{datetime.now(UTC).date()}".encode())
    # What decides where a fill's documents go: the fill, the domain code, and the kit's layouts.
    layouts = [ROOT / "kit" / "parentnet_kit" / f"{name}.py" for name in ("expiry", "inbox", "sequences", "outbox")]
    sources = [ROOT / "devtools" / "volume.py", *sorted(ROOT.glob("services/*/*/domain.py")), *layouts]
    for source in sources:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def prepared_volume(args: argparse.Namespace, run_dir: Path) -> tuple[dict[str, Path], dict[str, Any]]:
    """The volume store's databases as SQLite files (``{events|members|listings: path}``) and
    what the fill wrote (``counts``, ``seconds``, ``kept``): filled now, or kept from an earlier run."""
    kept = Path(os.environ.get("PARENTNET_CACHE", Path.home() / ".cache" / "parentnet")) / "soak-fill"
    where = kept / fill_key(args)
    files = {name: where / f"{name}.sqlite" for name in (*DATABASES, *MARKERS.values())}
    summary = where / "filled.json"
    if summary.exists() and all(files[name].exists() for name in DATABASES):
        print(f"soak: the volume store kept in {where} (filled {json.loads(summary.read_text())['at']})", flush=True)
        done, kept_fill = json.loads(summary.read_text()), True
    else:
        print(f"soak: filling the volume store ({args.outings:,} outings) ...", flush=True)
        with private_store(run_dir / "fill" / "store", keep=files) as store:
            if not store.private:
                raise SystemExit("soak: the volume side needs the local FerretDB on SQLite (a store of its own)")
            filled = volume.fill(store.uri, args.outings, args.places, *DATABASES)
        size = {"outings": args.outings, "places": args.places}
        done = {"counts": filled.counts, "seconds": filled.seconds, "at": datetime.now(UTC).isoformat(), **size}
        kept_fill = False
        summary.write_text(json.dumps(done))
        for stale in kept.iterdir():  # one kept fill per size (each is gigabytes): a --short run keeps the full one
            if stale != where and _fill_size(stale) in (size, None):
                shutil.rmtree(stale, ignore_errors=True)
    retired = where / "retired.json"
    if not retired.exists():
        print("soak: retiring what the year's retention would have removed ...", flush=True)
        t0 = time.monotonic()
        present = {name: f for name, f in files.items() if f.exists()}
        with private_store(run_dir / "retire" / "store", seed=present, keep=files) as store:
            counts = retire_overdue(store.uri)
        retired.write_text(json.dumps({"counts": counts, "seconds": time.monotonic() - t0}))
    done["retired"] = json.loads(retired.read_text())
    return {name: f for name, f in files.items() if f.exists()}, {**done, "kept": kept_fill}


def _fill_size(kept: Path) -> dict[str, int] | None:
    """The size a kept fill was made with (None when its summary does not say)."""
    with contextlib.suppress(OSError, ValueError, KeyError):
        done = json.loads((kept / "filled.json").read_text())
        return {"outings": done["outings"], "places": done["places"]}
    return None


def retire_overdue(uri: str) -> dict[str, int]:
    """Run the retention sweeps over a fill until nothing is due (markers adopted first), as the
    code would have run them every day of the year the fill stands for: notifications older than
    the retention, known clients no longer known, sessions over. Returns markers handled per
    collection. An upgrade's one-time drain (docs/operations.md), not the steady state the mix
    measures: a store that ran this code all year holds none of it."""
    from members.security import Attempts, Limits, Sessions  # the members service's, installed editable
    from parentnet_kit.inbox import Inbox
    from parentnet_kit.outbox import AggregateStore

    client: MongoClient = MongoClient(uri, tz_aware=True)
    now = datetime.now(UTC)
    counts: dict[str, int] = {}
    try:
        sweeps: dict[str, Callable[[], int]] = {}
        for name in ("events", "listings"):
            inbox = Inbox(AggregateStore(client[name], "inbox", None, outbox="inbox_outbox"), "soak")
            sweeps[f"{name}.inbox"] = lambda inbox=inbox: inbox.expire(now, limit=5_000)
        members = client["members"]
        sessions, attempts = Sessions(members, timedelta(days=30)), Attempts(members, Limits())
        sweeps["members.sessions"] = lambda: sessions.expire(now, limit=5_000)
        sweeps["members.known_clients"] = lambda: attempts.expire_known(now, limit=5_000)
        for key, sweep in sweeps.items():
            counts[key] = 0
            while handled := sweep():
                counts[key] += handled
    finally:
        client.close()
    return counts


def run_sides(args: argparse.Namespace, run_dir: Path) -> list[Side]:
    """Both sides at once, each on a stack and store of its own."""
    seed, filled = prepared_volume(args, run_dir)
    sides = [Side("empty"), Side("volume")]
    with contextlib.ExitStack() as running:
        urls, stores = [], []
        for side in sides:
            names = {f"{db.upper()}_DB": f"soak{side.name}_{db}" for db in DATABASES}
            query_log = run_dir / side.name / "queries.jsonl"
            query_log.parent.mkdir(parents=True, exist_ok=True)
            query_log.unlink(missing_ok=True)
            names[querylog.ENV] = str(query_log)
            files = None
            if side.name == "volume":
                files = {}
                for db in DATABASES:
                    files[names[f"{db.upper()}_DB"]] = seed[db]
                    if MARKERS[db] in seed:
                        files[names[f"{db.upper()}_DB"] + expiry.SUFFIX] = seed[MARKERS[db]]
            store = running.enter_context(private_store(run_dir / side.name / "store", seed=files))
            stack = running.enter_context(
                bench_stack(
                    f"soak{side.name}",
                    run_dir / side.name,
                    {**SOAK_SETTINGS, **names, "MONGO_URI": store.uri},
                    # A kept fill is a year of data written by the fill's code: the first start
                    # of newer code adopts it into the shapes it reads (e.g. listings' match
                    # buckets), once, before it serves; the mix measures what follows.
                    healthy_within=900 if side.name == "volume" else 90,
                )
            )
            side.store_private, side.store_binary = store.private, Path(store.binary).name
            if side.name == "volume":
                es = Elasticsearch(config.elasticsearch_url(), request_timeout=120)
                t0 = time.monotonic()
                indexed = index_filled_outings(store.uri, stack.env["EVENTS_DB"], es, stack.env["SEARCH_INDEX_PREFIX"])
                # A year's outings were indexed long ago in production: their segment merges
                # must not fall in the mix (as make bench waits for them; the 15:34 run's stall).
                settle(es, stack.env["SEARCH_INDEX_PREFIX"])
                side.filled = {**filled, "indexed": indexed, "index seconds": time.monotonic() - t0}
                total = sum(filled["counts"].values())
                print(f"soak: {total:,} documents; {indexed:,} outings indexed", flush=True)
            urls.append(stack.gateway_url)
            stores.append(store)
        mix = f"{args.minutes:g} min at {args.rate:g} calls/s from {args.phones} phones"
        print(f"soak: both sides at once, each {mix}", flush=True)

        async def both() -> None:
            together = asyncio.Barrier(len(sides))
            await asyncio.gather(
                *(
                    drive(side, store, url, args, random.Random(f"soak-{side.name}"), together)
                    for side, store, url in zip(sides, stores, urls, strict=True)
                )
            )

        others = OtherWork.start()
        speed = SpeedProbe(run_dir / "machine_speed.txt").start()  # a child: ours, not other work
        by_process = ProcessCpu(run_dir / "process_cpu.jsonl").start()  # a child too
        try:
            asyncio.run(both())
        finally:
            other_work = others.stop()  # while the probes still run, so their CPU counts as ours
            readings = speed.stop()
            by_process.stop()
        for side in sides:
            side.other_work = other_work  # the same figure on both sides: the machine's
            side.machine_speed = readings
            side.busiest = _busiest(run_dir / "process_cpu.jsonl", side)
    for side in sides:
        log = run_dir / side.name / "queries.jsonl"
        with log.open(encoding="utf-8") as lines:
            side.queries = querylog.summarize(lines)
        if side.mix_started_unix:
            with log.open(encoding="utf-8") as lines:
                end = side.mix_started_unix + side.mix_seconds
                side.queries_mix = querylog.summarize(lines, side.mix_started_unix, end)
    return sides


def _busiest(path: Path, side: Side) -> dict[str, list[tuple[str, float]]]:
    """``Side.busiest`` from the readings ``bench.process_cpu`` left; {} for a mix too short."""
    if not side.mix_started_unix or soak_report._too_short(side, soak_report.FLAT_WINDOW):
        return {}
    found = {}
    stretches = soak_report._stretches(side, soak_report.FLAT_WINDOW)
    for name, (start, end) in zip(("first", "last"), stretches, strict=True):
        with contextlib.suppress(ValueError):
            found[name] = busiest(path, side.mix_started_unix + start, side.mix_started_unix + end, top=8)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="the mix's length on each side")
    parser.add_argument("--rate", type=float, default=6.0, help="calls per second, all phones together")
    parser.add_argument("--phones", type=int, default=60)
    parser.add_argument("--outings", type=int, default=100_000, help="filled outings; as many members and listings")
    parser.add_argument("--places", type=int, default=10, help="up to twice this many tickets per filled outing")
    parser.add_argument(
        "--warmup",
        type=float,
        default=WARMUP_MINUTES,
        help="minutes of the same mix before the measured one (0: none)",
    )
    parser.add_argument("--solo", type=int, default=20, help="calls per operation when measured alone")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds the idle store is watched")
    parser.add_argument("--short", action="store_true", help="a quick try: 1 min, 2,000 outings, 20 phones")
    parser.add_argument("--no-append", action="store_true", help="write the report to .run/soak/ only")
    args = parser.parse_args()
    if args.short:
        args.minutes, args.outings, args.phones, args.solo, args.idle, args.warmup = 1.0, 2_000, 20, 6, 10.0, 0.0
    for name in ("minutes", "rate", "idle"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name} must be more than 0")
    if args.warmup < 0:
        parser.error("--warmup must be 0 or more")
    if args.phones < 2 or args.outings < 1 or args.solo < 1:
        parser.error("--phones must be at least 2, --outings and --solo at least 1")
    run_dir = ROOT / ".run" / "soak"
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    # What the stacks run is the checkout as it is now; read it before a commit can move it.
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    commit = commit.stdout.strip()
    sides = run_sides(args, run_dir)
    context = {
        "started": started,
        "args": vars(args),
        "load": (load_before, os.getloadavg()),
        "cores": os.cpu_count(),
        "commit": commit,
    }
    soak_report.write(sides, context, append=not args.no_append)


if __name__ == "__main__":
    main()
