"""What each hot query costs the store at volume: wall time, the store's CPU, and whether
FerretDB pushed its filter down to the backend (its ``explain`` says ``filterPushdown``).

Fills (once; ``--reuse`` keeps an earlier fill) databases with ``devtools.volume`` and runs
every query shape the services run on a request or a timer, as of before issue 17 and as
they are now, ``--repeat`` times each. The store's CPU is read from ``/proc/<pid>/stat`` of
the FerretDB process (``--store-pid``, default: provisioning's pid file), so it includes
whatever else the shared server serves meanwhile: compare rows of one run.

    python -m bench.store_queries --outings 10000 [--reuse] [--repeat 5]

Prints a Markdown table (the one in docs/store.md).

``--matching N`` measures listing matching instead (issue 17): it fills a listings database
with N active listings spread like the volume fill's (toys, ±0.08° around each city's centre,
all kinds), enters them in matching's buckets as a service's start-up does (timed), then for
``--repeat`` postings at random places reads the candidates both ways, side by side: as before
(the markers filtered by category, kind, expiry and a lat/lon box) and now (the buckets, by a
fresh process and by one that served a posting there before: a service's steady state), with
the store commands each sent, the wall time and the store's CPU, and checks that both find the same matches.

    python -m bench.store_queries --matching 20000 [--reuse] [--repeat 40]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.database import Database

from devtools import volume
from parentnet_kit import cells, cities, config, contracts, testing

TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Shape:
    name: str  # who runs it, when
    collection: str  # db.collection
    shape: str  # the filter and sort, as the code writes them
    run: Callable[[], Any]
    explain: dict[str, Any] | None = None  # a find command, for FerretDB's explain


def store_cpu_seconds(pid: int | None) -> float:
    if not pid:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _default_pid() -> int | None:
    for path in ("/var/lib/parentnet/ferretdb.pid", Path.home() / ".local/state/parentnet/ferretdb.pid"):
        try:
            return int(Path(path).read_text())
        except (OSError, ValueError):
            continue
    return None


def shapes(ev: Database, mem: Database, lis: Database) -> list[Shape]:
    """Every hot query, then (marked "now") the shape that replaced it."""
    outing = ev.outings.find_one({"attendance.families": {"$gte": 8}}, {"_id": 1, "version": 1})
    oid, version = outing["_id"], outing["version"]
    member = ev.tickets.find_one({"_id": f"{oid}:{1:08d}"})["member_id"]
    recipient = ev.inbox.find_one({})["recipient_id"]
    now = datetime.now(UTC)
    cutoff = now - timedelta(seconds=2)
    email = mem.members.find_one({})["email"]
    session = mem.sessions.find_one({})["_id"]
    owner = lis.listings.find_one({})["owner_id"]

    def find(coll: Any, flt: dict, sort: list | None = None, limit: int = 0) -> Callable[[], list]:
        def run() -> list:
            cursor = coll.find(flt)
            if sort:
                cursor = cursor.sort(sort)
            return list(cursor.limit(limit))

        return run

    def explained(db: Database, coll: str, flt: dict, sort: list | None = None) -> dict[str, Any]:
        command: dict[str, Any] = {"find": coll, "filter": flt}
        if sort:
            command["sort"] = dict(sort)
        return {"db": db, "command": command}

    ticket_ids = [f"{oid}:{n:08d}" for n in range(1, 12)]
    if ev.outbox_recent.estimated_document_count() == 0:
        ev.outbox_recent.insert_many(list(ev.outbox.find({}).limit(1_500)))
    rows = [
        # -- kit outbox, every 2 s per outbox collection (4 per service) ------------------
        Shape(
            "outbox sweeper pending() (timer, 2 s)",
            "events.outbox",
            "{published: false, created_at: {$lte}} sort created_at",
            find(ev.outbox, {"published": False, "created_at": {"$lte": cutoff}}, [("created_at", ASCENDING)], 500),
            explained(ev, "outbox", {"published": False, "created_at": {"$lte": cutoff}}, [("created_at", 1)]),
        ),
        Shape(
            "now: outbox sweeper (timer, 2 s), 5 min of 5 commits/s kept",
            "events.outbox_recent",
            "{} (the outbox holds only the last OUTBOX_RETENTION_SECONDS)",
            find(ev.outbox_recent, {}),
            explained(ev, "outbox_recent", {}),
        ),
        Shape(
            "now: outbox sweeper (timer, 2 s), idle",
            "events.outbox_idle",
            "{} (empty once the retention has passed)",
            find(ev.outbox_idle, {}),
        ),
        Shape(
            "commit: roll the aggregate forward",
            "events.outings",
            "replace_one {_id, version: {$lt: v}}",
            lambda: ev.outings.find_one({"_id": oid, "version": {"$lt": 0}}),
            explained(ev, "outings", {"_id": oid, "version": {"$lt": 0}}),
        ),
        Shape(
            "now: commit (FerretDB): read, compare, replace",
            "events.outings",
            "find_one {_id} then replace_one {_id}",
            lambda: ev.outings.find_one({"_id": oid}),
            explained(ev, "outings", {"_id": oid}),
        ),
        Shape(
            "commit conflict: roll forward",
            "events.outbox",
            "{aggregate_id} sort version",
            find(ev.outbox, {"aggregate_id": oid}, [("version", ASCENDING)]),
            explained(ev, "outbox", {"aggregate_id": oid}, [("version", 1)]),
        ),
        Shape(
            "now: commit conflict: roll forward",
            "events.outbox",
            "{_id: '<aggregate>:<v>'} for v = version+1, ... until none",
            lambda: [ev.outbox.find_one({"_id": f"{oid}:{v}"}) for v in (version, version + 1)],
            explained(ev, "outbox", {"_id": f"{oid}:{version}"}),
        ),
        # -- events: attendance, on every join / leave / outing page ------------------------
        Shape(
            "join/leave/page: live tickets",
            "events.tickets",
            "{outing_id, left: false} sort n",
            find(ev.tickets, {"outing_id": oid, "left": False}, [("n", ASCENDING)]),
            explained(ev, "tickets", {"outing_id": oid, "left": False}, [("n", 1)]),
        ),
        Shape(
            "join: highest ticket",
            "events.tickets",
            "{outing_id} sort n desc limit 1",
            find(ev.tickets, {"outing_id": oid}, [("n", DESCENDING)], 1),
            explained(ev, "tickets", {"outing_id": oid}, [("n", -1)]),
        ),
        Shape(
            "join: families ahead",
            "events.tickets",
            "count {outing_id, left: false, n: {$lt}}",
            lambda: ev.tickets.count_documents({"outing_id": oid, "left": False, "n": {"$lt": 5}}),
        ),
        Shape(
            "now: tickets of one outing",
            "events.tickets",
            "{_id: '<outing>:<n>'} for n = 1, 2, ... until none",
            lambda: [ev.tickets.find_one({"_id": t}) for t in ticket_ids],
            explained(ev, "tickets", {"_id": ticket_ids[0]}),
        ),
        Shape(
            "now: attendance read again, nothing new",
            "events.tickets",
            "{_id: '<outing>:<n+1>'} and {_id: '<outing>:left:<k+1>'} (the rest is kept by the process)",
            lambda: (
                ev.tickets.find_one({"_id": f"{oid}:{99999999:08d}"}),
                ev.attendance_leaves.find_one({"_id": "x"}),
            ),
        ),
        Shape(
            "join/leave: claim",
            "events.attendance_claims",
            "{_id: '<outing>:<member>'}",
            lambda: ev.attendance_claims.find_one({"_id": f"{oid}:{member}"}),
            explained(ev, "attendance_claims", {"_id": f"{oid}:{member}"}),
        ),
        Shape(
            "outing page: my place (places_of)",
            "events.attendance_claims",
            "{member_id, outing_id: {$in}}",
            find(ev.attendance_claims, {"member_id": member, "outing_id": {"$in": [oid]}}),
            explained(ev, "attendance_claims", {"member_id": member, "outing_id": {"$in": [oid]}}),
        ),
        Shape(
            "now: my place (places_of)",
            "events.attendance_claims",
            "{_id: '<outing>:<member>'} per outing",
            lambda: ev.attendance_claims.find_one({"_id": f"{oid}:{member}"}),
        ),
        Shape(
            "outing page / DataLoader: outings by id",
            "events.outings",
            "{_id: {$in: [...]}}",
            find(ev.outings, {"_id": {"$in": [oid]}}),
            explained(ev, "outings", {"_id": {"$in": [oid]}}),
        ),
        Shape(
            "now: outings by id",
            "events.outings",
            "{_id} per id",
            lambda: ev.outings.find_one({"_id": oid}),
        ),
        Shape(
            "series page / update / cancel",
            "events.outings",
            "{series_id} sort starts_at",
            find(ev.outings, {"series_id": "none"}, [("starts_at", ASCENDING)]),
            explained(ev, "outings", {"series_id": "none"}, [("starts_at", 1)]),
        ),
        Shape(
            "now: a series' occurrences",
            "events.outings",
            "{_id} for each id of the series document (52)",
            lambda: [ev.outings.find_one({"_id": oid}) for _ in range(52)],
        ),
        Shape(
            "inbox page",
            "events.inbox",
            "{recipient_id} sort created_at desc, _id desc + 2 counts",
            find(ev.inbox, {"recipient_id": recipient}, [("created_at", DESCENDING), ("_id", DESCENDING)], 21),
            explained(ev, "inbox", {"recipient_id": recipient}, [("created_at", -1), ("_id", -1)]),
        ),
        Shape(
            "co-op settle (timer, 5 s): finished shifts",
            "events.coop_shifts",
            "{status: open, ends_at: {$lte}}",
            find(ev.coop_shifts, {"status": "open", "ends_at": {"$lte": now}}, None, 100),
            explained(ev, "coop_shifts", {"status": "open", "ends_at": {"$lte": now}}),
        ),
        Shape(
            "co-op settle (timer, 5 s): stuck bookings",
            "events.coop_bookings",
            "{status: pending, at: {$lte}}",
            find(ev.coop_bookings, {"status": "pending", "at": {"$lte": now}}, None, 100),
        ),
        # -- members --------------------------------------------------------------------------
        Shape(
            "every signed-in request: session",
            "members.sessions",
            "{_id}",
            lambda: mem.sessions.find_one({"_id": session}),
            explained(mem, "sessions", {"_id": session}),
        ),
        Shape(
            "sign-in: email",
            "members.emails",
            "{_id: email}",
            lambda: mem.emails.find_one({"_id": email}),
        ),
        Shape(
            "sign-in / nearby: rate limit",
            "members.attempts",
            "count {kind, account, outcome: {$in}, at: {$gte}}",
            lambda: mem.attempts.count_documents(
                {"kind": "login", "account": email, "outcome": {"$in": ["failed"]}, "at": {"$gte": now}}
            ),
        ),
        Shape(
            "every request: viewer_context (blocks)",
            "members.blocks",
            "{$or: [{blocker_id}, {blocked_id}]}",
            find(mem.blocks, {"$or": [{"blocker_id": "x"}, {"blocked_id": "x"}]}),
        ),
        Shape(
            "parents near me",
            "members.members",
            "{discoverable: true, city, cell.lat range}",
            find(mem.members, {"discoverable": True, "city": "paris", "cell.lat": {"$gte": 48.8, "$lte": 48.9}}),
            explained(mem, "members", {"discoverable": True, "city": "paris"}),
        ),
        # -- listings ---------------------------------------------------------------------------
        Shape(
            "expiry sweep (timer, 30 s)",
            "listings.listings",
            "{status: active, expires_at: {$lte}}",
            find(lis.listings, {"status": "active", "expires_at": {"$lte": now}}, None, 100),
            explained(lis, "listings", {"status": "active", "expires_at": {"$lte": now}}),
        ),
        Shape(
            "match sweep (timer, 2 s)",
            "listings.listings",
            "{matched: false, created_at: {$lte}}",
            find(lis.listings, {"matched": False, "created_at": {"$lte": now}}, None, 100),
        ),
        Shape(
            "my listings",
            "listings.listings",
            "{owner_id} sort _id desc + count",
            find(lis.listings, {"owner_id": owner}, [("_id", DESCENDING)], 21),
        ),
    ]
    return rows


def pushdown(spec: dict[str, Any] | None) -> str:
    if spec is None:
        return "—"
    try:
        answer = spec["db"].command("explain", spec["command"], verbosity="queryPlanner")
    except Exception as exc:  # noqa: BLE001 - a store without FerretDB's explain fields
        return f"? ({type(exc).__name__})"
    if "filterPushdown" not in answer:
        return "n/a"
    return "yes" if answer["filterPushdown"] else "no"


def measure(rows: list[Shape], repeat: int, pid: int | None) -> list[tuple[Shape, float, float, str]]:
    results = []
    for row in rows:
        if repeat > 1:
            row.run()  # warm
        walls = []
        cpu_before = store_cpu_seconds(pid)
        for _ in range(repeat):
            started = time.perf_counter()
            row.run()
            walls.append(time.perf_counter() - started)
        cpu = (store_cpu_seconds(pid) - cpu_before) / repeat
        results.append((row, statistics.median(walls) * 1000, cpu * 1000, pushdown(row.explain)))
    return results


def commands_sent(reads: testing.StoreReads) -> int:
    """How many commands a client sent (every find, getMore, insert... counts one)."""
    return sum(reads.commands.values())


def _volume_listing(rng: random.Random, now: datetime, kind: str | None = None) -> dict[str, Any]:
    """An active listing as the volume fill places them (toys, 3 km, near a city's centre)."""
    from listings import domain

    city = volume.world()[rng.choice(volume.CITY_SLUGS)]
    kind = kind or rng.choice(contracts.LISTING_KINDS)
    clean = {
        "kind": kind,
        "category": "toys",
        "title": "Volume things",
        "description": "Bon état.",
        "language": city.languages[0],
        "city": city.slug,
        "size": None,
        "age_min_months": None,
        "age_max_months": None,
        "condition": None if kind == "wanted" else "good",
        "price": None,
        "photos": [],
        "pickup_address": None,
        "pickup_location": volume._near(rng, city),
        "match_radius_km": 3.0,
    }
    state = domain.new_listing_state(clean, f"m{rng.getrandbits(48):012x}", now - timedelta(days=29) * rng.random())
    state.update(matched=True, owner_apart=[])
    return state


def fill_matching(db: Database, active: int, rng: random.Random) -> float:
    """``active`` active listings and their markers, then the start-up's adoption into the
    buckets; returns the adoption's seconds."""
    from listings.store import ListingStore, _open_marker

    now = datetime.now(UTC)
    batch: list[dict[str, Any]] = []
    for k in range(active):
        batch.append(_volume_listing(rng, now))
        if len(batch) == 1_000 or k == active - 1:
            db.listings.insert_many(batch)
            db.listings_expiring.insert_many([{"_id": s["_id"], **_open_marker(s)} for s in batch])
            batch = []
    # The other adoptions have nothing to do here (markers written above, no owner index asked).
    for done in ("v2", "due-hours"):
        db.listings_markers_adopted.insert_one({"_id": done, "at": now})
    db.sequences_adopted.insert_one({"_id": "listings_by_owner", "at": now})
    started = time.perf_counter()
    ListingStore(db, None).ensure_indexes()
    return time.perf_counter() - started


def _markers_matching(db: Database, store: Any, state: dict[str, Any], now: datetime) -> set[str]:
    """Matching's candidates as before issue 17's buckets: the active listings' markers filtered."""
    from listings import domain

    radius = state["match_radius_km"] if state["kind"] == "wanted" else domain.RADIUS_MAX_KM
    box = cells.search_box(state["pickup_area"], radius)
    query = {
        "category": state["category"],
        "kind": {"$in": list(domain.OFFER_KINDS)} if state["kind"] == "wanted" else "wanted",
        "expires_at": {"$gt": now},
        "pickup_area.lat": {"$gte": box["lat"][0], "$lte": box["lat"][1]},
        "pickup_area.lon": {"$gte": box["lon"][0], "$lte": box["lon"][1]},
    }
    return {m["_id"] for m in db.listings_expiring.find(query) if store._fits(state, m, set())}


def _fits(state: dict[str, Any], marker: dict[str, Any]) -> bool:
    from listings.store import ListingStore

    return ListingStore._fits(state, marker, set())


def _bucket_matching(index: Any, state: dict[str, Any], now: datetime) -> set[str]:
    """Matching's candidates now: the buckets' entries whose marker fits."""
    return {i for i, m in index.candidates(state, now) if m["expires_at"] > now and _fits(state, m)}


def measure_matching(db: Database, counter: testing.StoreReads, repeat: int, pid: int | None) -> None:
    """Print the per-posting cost of finding the candidates, before and now (see the module)."""
    from listings.buckets import MatchIndex
    from listings.store import ListingStore

    rng = random.Random(1717)
    store = ListingStore(db, None)
    warm = MatchIndex(db)
    ways = ("before: markers filtered", "now: buckets, a new process", "now: buckets, read before")
    costs: dict[str, list[tuple[float, int, float]]] = {way: [] for way in ways}
    found: dict[str, int] = dict.fromkeys(ways, 0)
    for k in range(repeat + 1):
        now = datetime.now(UTC)
        state = _volume_listing(rng, now, "wanted" if k % 2 else "give")
        answers = {}
        _bucket_matching(warm, state, now)  # a process that served a posting here before
        for way, index in zip(ways, (None, MatchIndex(db), warm), strict=True):
            sent, cpu, started = commands_sent(counter), store_cpu_seconds(pid), time.perf_counter()
            answers[way] = (
                _markers_matching(db, store, state, now) if index is None else _bucket_matching(index, state, now)
            )
            wall = time.perf_counter() - started
            if k:  # the first posting warms the store
                costs[way].append((wall * 1000, commands_sent(counter) - sent, (store_cpu_seconds(pid) - cpu) * 1000))
                found[way] += len(answers[way])
        assert len({frozenset(a) for a in answers.values()}) == 1, "the ways found different matches"
    markers = db.listings_expiring.estimated_document_count()
    print(f"{markers:,} active listings' markers; {repeat} postings (half wanted, 3 km; half offers)")
    print("| candidates of a posting | store commands (mean) | wall ms (median) | store CPU ms (mean) | matches |")
    print("|---|---:|---:|---:|---:|")
    for way in ways:
        walls, sent, cpus = zip(*costs[way], strict=True)
        print(
            f"| {way} | {statistics.mean(sent):.1f} | {statistics.median(walls):.1f} "
            f"| {statistics.mean(cpus):.1f} | {found[way] / repeat:.1f} |"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outings", type=int, default=10_000)
    parser.add_argument("--prefix", default="store_cost")
    parser.add_argument("--reuse", action="store_true", help="the databases are filled already")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--store-pid", type=int, default=_default_pid())
    parser.add_argument("--mongo-uri", default=config.mongo_uri())
    parser.add_argument("--only", choices=("before", "now"), help="only the shapes as they were, or as they are")
    parser.add_argument("--matching", type=int, metavar="ACTIVE", help="measure matching at this many active listings")
    args = parser.parse_args(argv)
    if args.matching:
        counter = testing.StoreReads()
        db = MongoClient(args.mongo_uri, tz_aware=True, event_listeners=[counter])[f"{args.prefix}_matching"]
        cities.remember(list(volume.world().values()))
        if not args.reuse:
            db.client.drop_database(db.name)
            seconds = fill_matching(db, args.matching, random.Random(17))
            print(f"entered {args.matching:,} active listings in the buckets at start-up in {seconds:.1f} s")
        measure_matching(db, counter, args.repeat, args.store_pid)
        return
    names = {k: f"{args.prefix}_{k}" for k in ("events", "members", "listings")}
    client = MongoClient(args.mongo_uri, tz_aware=True)
    if not args.reuse:
        for name in names.values():
            client.drop_database(name)
        filled = volume.fill(args.mongo_uri, args.outings, 10, names["events"], names["members"], names["listings"])
        print(f"filled {filled.total:,} documents in {filled.seconds:.0f} s")
    ev, mem, lis = (client[names[k]] for k in ("events", "members", "listings"))
    sizes = {
        f"{db.name}.{c}": db[c].estimated_document_count() for db in (ev, mem, lis) for c in db.list_collection_names()
    }
    rows = shapes(ev, mem, lis)
    if args.only == "now":
        rows = [r for r in rows if r.name.startswith("now:")]
    elif args.only == "before":
        rows = [r for r in rows if not r.name.startswith("now:")]
    results = measure(rows, args.repeat, args.store_pid)
    print("| query (who, when) | collection (docs) | shape | pushed down | wall ms (median) | store CPU ms |")
    print("|---|---|---|---|---:|---:|")
    for row, wall, cpu, pushed in results:
        db_name = names[row.collection.split(".")[0]]
        docs = sizes.get(f"{db_name}.{row.collection.split('.')[1]}", 0)
        print(f"| {row.name} | {row.collection} ({docs:,}) | `{row.shape}` | {pushed} | {wall:.1f} | {cpu:.1f} |")


if __name__ == "__main__":
    main()
