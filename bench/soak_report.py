"""The soak's report: a section appended to bench/results.md, and bench/soak.png."""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.dataset import percentile
from bench.phones import OPERATIONS, Sample

if TYPE_CHECKING:
    from bench.soak import Side

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOAK_HEADING = "## Soak"  # bench/report.py keeps every section from this heading on
WINDOW = 30.0  # seconds per point of the chart
# Other work (a share of one core, `bench.other_work`) beyond which a run is flagged as disturbed.
DISTURBED = 0.10


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p99(values: Sequence[float]) -> float:
    return percentile(list(values), 99) if values else float("nan")


def _answered(samples: list[Sample], operation: str, start: float = 0, end: float = float("inf")) -> list[float]:
    """Latencies of every call of ``operation`` begun in [start, end): failures too, since a
    SERVICE_UNAVAILABLE after the 5 s deadline is what the parent waited."""
    return [s.ms for s in samples if s.operation == operation and start <= s.at < end]


def _failures(samples: list[Sample], operation: str) -> dict[str, int]:
    """Calls that did not do what was asked: top-level errors, transport failures, timeouts."""
    found: dict[str, int] = {}
    for s in samples:
        if s.operation == operation and not s.outcome.startswith(("ok", "user:")):
            found[s.outcome] = found.get(s.outcome, 0) + 1
    return found


def _cpu(value: float) -> str:
    """CPU per call less the idle store's: below 0 it was lost in the idle noise."""
    return "< idle" if value < 0 else _ms(value)


def _ms(value: float) -> str:
    return "–" if value != value else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _ratio(a: float, b: float) -> str:
    return "–" if not b or a != a or b != b else f"{a / b:.2f}×"


# Bootstrap resamples behind each interval the targets print: 90 % of ratios fall inside it.
RESAMPLES = 2000


def p99_ratio_interval(before: Sequence[float], after: Sequence[float], seed: str = "soak") -> tuple[float, float]:
    """A 90 % percentile-bootstrap interval of ``p99(after) / p99(before)``: each list resampled
    with replacement ``RESAMPLES`` times. How far the ratio of two p99s could move had the run
    drawn other calls of the same kind: over ~140 calls a p99 is about the second slowest, and one
    stall of the machine moves it by tens of percent (bench/README.md "Reading a soak").
    (nan, nan) when either list is empty."""
    if not before or not after:
        return float("nan"), float("nan")
    draw = random.Random(seed)
    ratios = sorted(
        p99(draw.choices(after, k=len(after))) / p99(draw.choices(before, k=len(before))) for _ in range(RESAMPLES)
    )
    return ratios[int(0.05 * RESAMPLES)], ratios[int(0.95 * RESAMPLES) - 1]


def drift_over_control(
    first: Sequence[float], last: Sequence[float], control_first: Sequence[float], control_last: Sequence[float]
) -> tuple[float, tuple[float, float]]:
    """How much more ``p99`` moved from ``first`` to ``last`` than a control moved over the same
    moments: ``(p99(last) / p99(first)) / (p99(control_last) / p99(control_first))``, and its 90 %
    percentile-bootstrap interval (each of the four lists resampled ``RESAMPLES`` times). The two
    sides of a soak run at once on one machine, so a change of the machine's speed moves both and
    cancels here; growth of the volume store's cost with the run's writes does not. (nan, (nan,
    nan)) when any list is empty."""
    lists = (first, last, control_first, control_last)
    if not all(lists):
        return float("nan"), (float("nan"), float("nan"))

    def ratio(a: Sequence[float], b: Sequence[float], c: Sequence[float], d: Sequence[float]) -> float:
        return (p99(b) / p99(a)) / (p99(d) / p99(c))

    draw = random.Random("soak-control")
    ratios = sorted(ratio(*(draw.choices(x, k=len(x)) for x in lists)) for _ in range(RESAMPLES))
    return ratio(*lists), (ratios[int(0.05 * RESAMPLES)], ratios[int(0.95 * RESAMPLES) - 1])


def _interval(before: Sequence[float], after: Sequence[float], as_change: bool = False) -> str:
    low, high = p99_ratio_interval(before, after)
    if low != low:
        return ""
    if as_change:
        return f" (90 % bootstrap interval {100 * (low - 1):+.0f} to {100 * (high - 1):+.0f} %)"
    return f" (90 % bootstrap interval {low:.2f}–{high:.2f}×)"


def _stretches(side: Side, seconds: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """The mix's first and last ``seconds``, each as (start, end) in seconds into the mix; the
    last reaches a second past the end, so a call begun in the mix's final moment counts."""
    return (0.0, seconds), (side.mix_seconds - seconds, side.mix_seconds + 1)


def _edges(side: Side, operation: str, seconds: float) -> tuple[list[float], list[float]]:
    """Latencies of ``operation`` in the mix's first and last ``seconds`` (``_stretches``)."""
    first, last = (_answered(side.samples, operation, start, end) for start, end in _stretches(side, seconds))
    return first, last


def _edge_p99(side: Side, operation: str, seconds: float = 60) -> tuple[float, float, int, int]:
    """p99 in the mix's first and last ``seconds``, and how many calls each holds."""
    first, last = _edges(side, operation, seconds)
    return p99(first), p99(last), len(first), len(last)


# How long the first and last stretches of the mix are when judging flatness: long enough to hold
# 100 joins or more at the default rate (one minute holds ~43: its p99 is its slowest join, and
# on a shared machine one stall of every process moves it by 3×; see bench/README.md).
FLAT_WINDOW = 180.0


def _too_short(side: Side, seconds: float) -> str:
    """Why the first and last ``seconds`` of the mix cannot be compared ("" when they can): in a
    mix shorter than both, they overlap (a ``--short`` run's minute is both its first and last)."""
    if side.mix_seconds >= 2 * seconds:
        return ""
    return (
        f"not judged: the mix ({side.mix_seconds / 60:.1f} min) is shorter than two stretches of "
        f"{seconds / 60:g} min, so its first and last overlap"
    )


def flatness(empty: Side, full: Side, operation: str = "join") -> list[str]:
    """The target's lines: p99 in the first and last stretch at volume, the same stretches on the
    empty side (what the machine did meanwhile: both sides run at once), and the verdict; none
    judged when the mix is too short for its stretches not to overlap."""
    lines = []
    for seconds in (60.0, FLAT_WINDOW):
        if reason := _too_short(full, seconds):
            lines.append(f"- {operation} p99 flat (±20 %) from the first to the last {seconds / 60:g} min: {reason}")
            continue
        first_calls, last_calls = _edges(full, operation, seconds)
        first, last, n_first, n_last = p99(first_calls), p99(last_calls), len(first_calls), len(last_calls)
        e_first, e_last, _, _ = _edge_p99(empty, operation, seconds)
        drift = (last - first) / first if first else float("nan")
        judged = seconds == FLAT_WINDOW
        spread = _interval(first_calls, last_calls, as_change=True) if judged else ""
        lines.append(
            f"- {operation} p99 flat (±20 %) from the first to the last {seconds / 60:g} min at volume: "
            f"{_ms(first)} ms ({n_first} calls) → {_ms(last)} ms ({n_last} calls), {100 * drift:+.0f} %"
            + (
                f", {_verdict(abs(drift) <= 0.2)}{spread}, judged over {seconds / 60:g} min "
                "in the 1-minute target's place"
                if judged
                else " (not judged: a minute holds ~50 joins, and their p99 is the slowest one)"
            )
            + f"; the empty side meanwhile {_ms(e_first)} → {_ms(e_last)} ms"
        )
        if judged:
            lines.append(_drift_over_empty(empty, operation, first_calls, last_calls, seconds))
    return lines


def _drift_over_empty(
    empty: Side, operation: str, first_calls: list[float], last_calls: list[float], seconds: float
) -> str:
    """The flatness target read against the empty side as a control (``drift_over_control``):
    what the volume store's growth did to the p99, with the machine's change of speed taken out."""
    e_first, e_last = _edges(empty, operation, seconds)
    change, (low, high) = drift_over_control(first_calls, last_calls, e_first, e_last)
    if change != change:
        return f"- the same, over the empty side's drift: – (no {operation} calls in a stretch)"
    if low >= 0.8 and high <= 1.2:
        reading = "within ±20 %, interval too"
    elif high < 0.8 or low > 1.2:
        reading = "**outside** ±20 %, interval too"
    else:
        side = "within" if abs(change - 1) <= 0.2 else "outside"
        reading = f"{side} ±20 %, not settled by this run (the interval reaches both sides of ±20 %)"
    return (
        f"- the same, over the empty side's drift (the machine's speed cancels, the volume store's growth "
        f"does not): {100 * (change - 1):+.0f} % (90 % bootstrap interval {100 * (low - 1):+.0f} to "
        f"{100 * (high - 1):+.0f} %), {reading}"
    )


def cost_share(empty: Side, full: Side) -> str:
    """A line beside the targets: the volume store's CPU per call in the mix over the empty
    store's, in the first and the last ``FLAT_WINDOW`` seconds. Both sides run at the same
    moments, so how fast the shared machine is meanwhile cancels out: in the 22:56 and 23:14 runs
    of 2026-12-01 the same calls cost it up to 2x more CPU time in some minutes than in others,
    in both stores and every process alike, which a p99 from one side's first to last minutes
    reads as drift. Growth of the store's own cost with what a run writes shows here."""
    if reason := _too_short(full, FLAT_WINDOW):
        return f"- the volume store's CPU per call in the mix ÷ the empty one's, first → last: {reason}"
    shares = []
    for stretch in (0, 1):  # the first, then the last
        per_call_e, per_call_v = (
            _mix_cpu_per_call(side, *_stretches(side, FLAT_WINDOW)[stretch]) for side in (empty, full)
        )
        shares.append(per_call_v / per_call_e if per_call_e else float("nan"))
    before, after = shares
    change = (after - before) / before if before else float("nan")
    return (
        f"- the volume store's CPU per call in the mix ÷ the empty one's, first → last "
        f"{FLAT_WINDOW / 60:g} min: {before:.2f} → {after:.2f} ({100 * change:+.0f} %; measured, not a "
        "target: the machine's speed cancels, the store's growth does not)"
    )


def machine_speed(full: Side) -> str:
    """A line beside the targets: the CPU ms a fixed piece of work took (``bench.machine_speed``),
    median of the readings in the mix's first and last ``FLAT_WINDOW`` seconds; "" if none."""
    mix = full.mix_started_unix
    if _too_short(full, FLAT_WINDOW):
        return ""
    first, last = (
        [ms for at, ms in full.machine_speed if mix + start <= at < mix + end]
        for start, end in _stretches(full, FLAT_WINDOW)
    )
    if not (mix and first and last):
        return ""
    before, after = median(first), median(last)
    return (
        f"- the machine's speed: a fixed piece of work took {before:.1f} → {after:.1f} ms of CPU, first → last "
        f"{FLAT_WINDOW / 60:g} min ({100 * (after - before) / before:+.0f} %; median of {len(first)} and "
        f"{len(last)} readings, `bench.machine_speed`; measured, not a target)"
    )


def busiest_lines(full: Side) -> list[str]:
    """Lines beside the targets: the processes that used the machine's CPU most in the mix's
    first and last ``FLAT_WINDOW`` seconds (``bench.process_cpu``), as shares of one core, so
    that a slower last stretch on both sides says what else grew; [] when not recorded."""
    if not full.busiest:
        return []

    def shown(stretch: str) -> str:
        return ", ".join(f"{name} {100 * share:.0f} %" for name, share in full.busiest.get(stretch, []))

    return [
        f"- the machine's CPU by process, first {FLAT_WINDOW / 60:g} min (share of one core; measured, "
        f"`bench.process_cpu`): {shown('first')}",
        f"- the same, last {FLAT_WINDOW / 60:g} min: {shown('last')}",
    ]


def _mix_cpu_per_call(side: Side, start: float, end: float) -> float:
    """The store's CPU ms per call answered between two moments of the mix (timeline points)."""
    points = [p for p in side.timeline if start <= p[0] <= end]
    if len(points) < 2 or points[-1][2] == points[0][2]:
        return float("nan")
    return (points[-1][1] - points[0][1]) * 1000 / (points[-1][2] - points[0][2])


def query_table(side: Side, top: int = 12) -> list[str]:
    """The query shapes the services' store time went to on ``side`` over the whole run
    (kit.querylog), most first: what to change next, and whether the store serves each from an index."""
    rows = side.queries
    if not rows:
        return []
    spent = sum(r["total ms"] for r in rows) or 1.0
    out = [
        f"Where the {side.name} side's store time went, the whole run (kit.querylog: each command's time as the "
        f"service saw it, by shape; {sum(r['calls'] for r in rows):,} commands):",
        "",
        "| collection | command | shape | calls | p50 ms | share of store time | from an index |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in rows[:top]:
        found = json.dumps(r["shape"], separators=(",", ":")).replace("|", "\\|")
        collection = r["db"].split("_", 1)[-1] + "." + r["collection"]
        index = "yes" if r["indexed"] else "**no**"
        share = 100 * r["total ms"] / spent
        numbers = f"{r['calls']:,} | {r['p50 ms']:.1f} | {share:.1f} %"
        out.append(f"| {collection} | {r['command']} | `{found}` | {numbers} | {index} |")
    return out


def _shape_key(row: dict[str, Any]) -> tuple[str, str, str, str]:
    # Each side's databases are prefixed with its name (and a run key): the last part names it.
    shape = json.dumps(row["shape"], separators=(",", ":"), sort_keys=True)
    return row["db"].rsplit("_", 1)[-1], row["collection"], row["command"], shape


def _p50(row: dict[str, Any]) -> str:
    return "–" if not row["calls"] else f"{row['p50 ms']:.2f}"


def query_difference(empty: Side, full: Side, top: int = 10) -> list[str]:
    """The query shapes whose store time grew most from the empty side to the volume side during
    the measured mix (kit.querylog; the whole run, start-up included, for a run recorded before
    the log was windowed): more calls of a shape (a page with more results, a sweep with work to
    do) or slower ones. Empty when either side has no log."""
    mix = bool(empty.queries_mix and full.queries_mix)
    rows_e, rows_v = (empty.queries_mix, full.queries_mix) if mix else (empty.queries, full.queries)
    if not rows_e or not rows_v:
        return []
    before = {_shape_key(r): r for r in rows_e}
    after = {_shape_key(r): r for r in rows_v}
    none = {"calls": 0, "total ms": 0.0, "p50 ms": float("nan")}
    rows = []
    for key in before.keys() | after.keys():
        a, b = before.get(key, none), after.get(key, none)
        rows.append((b["total ms"] - a["total ms"], key, a, b))
    rows.sort(key=lambda row: row[0], reverse=True)
    total = (sum(r["total ms"] for r in rows_e), sum(r["total ms"] for r in rows_v))
    when = "during the measured mix" if mix else "the whole run, start-up included"
    out = [
        f"Where the volume side's store time grew over the empty side's, {when} "
        f"(kit.querylog: each command's time as the service saw it, waiting included; {total[0] / 1000:,.0f} s → "
        f"{total[1] / 1000:,.0f} s in all):",
        "",
        "| collection | command | shape | calls empty → volume | p50 ms empty → volume | time empty → volume (s) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for _, (database, collection, command, shape), a, b in rows[:top]:
        shown = shape.replace("|", "\\|")
        out.append(
            f"| {database}.{collection} | {command} | `{shown}` | {a['calls']:,} → {b['calls']:,} | "
            f"{_p50(a)} → {_p50(b)} | {a['total ms'] / 1000:.1f} → {b['total ms'] / 1000:.1f} |"
        )
    return out


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _retired(retired: dict[str, Any] | None) -> str:
    """What the retention would have removed during the fill's year, removed before the run."""
    if not retired:
        return ""
    counts = ", ".join(f"{n:,} {name}" for name, n in retired["counts"].items() if n)
    return f"Past their retention and swept before the run, as the year's sweeps would have: {counts or 'none'}. "


def ratio_line(empty: Side, full: Side) -> str:
    """The first target's line: join p99 at volume over the empty store's, its verdict and interval."""
    calls_e, calls_v = _answered(empty.samples, "join"), _answered(full.samples, "join")
    join_e, join_v = p99(calls_e), p99(calls_v)
    return (
        f"- join p99 at volume ≤ 1.5× on an empty store: {_ms(join_v)} ÷ {_ms(join_e)} ms = {_ratio(join_v, join_e)}, "
        f"{_verdict(join_v <= 1.5 * join_e)}" + _interval(calls_e, calls_v)
    )


def targets(empty: Side, full: Side) -> list[str]:
    """Issue 17's targets, each with its verdict, and the lines measured beside them (the cost
    share, the machine's speed, a disturbed run): what the report's section and
    ``python -m bench.soak_report`` both print."""
    idle_max = max(full.idle.values(), default=float("nan"))
    return [
        ratio_line(empty, full),
        *flatness(empty, full),
        cost_share(empty, full),
        *([line] if (line := machine_speed(full)) else []),
        *busiest_lines(full),
        f"- the idle volume store under 5 % of a core: {100 * idle_max:.1f} %, {_verdict(idle_max < 0.05)} "
        "(the larger of its readings before and after the mix, each over `--idle` seconds)",
        *(
            [
                f"- **disturbed run**: other work on the machine used {100 * full.other_work:.0f} % of a core while "
                f"the sides ran (more than {100 * DISTURBED:.0f} %): the ratios above compare sides that shared it, "
                "but a p99 and its flatness say more about that work than about the store"
            ]
            if full.other_work > DISTURBED
            else []
        ),
    ]


def section(sides: list[Side], context: dict[str, Any]) -> str:
    empty, full = sides
    args = context["args"]
    counts = full.filled.get("counts", {})
    total = sum(counts.values())
    # "<tag>_events.outbox" -> "events.outbox": the database's tag is the run's, not news
    by_kind = ", ".join(
        f"{n:,} {name.split('_', 2)[-1]}" for name, n in sorted(counts.items(), key=lambda kv: -kv[1])[:8]
    )
    lines = [
        f"{SOAK_HEADING}, {context['started']:%Y-%m-%d %H:%M} UTC"
        + (" (short: a try, not a measurement)" * args["short"]),
        "",
        f"`python -m bench.soak` with {args['minutes']:g} min of mix on both sides at once, each at "
        f"{args['rate']:g} calls/s from "
        f"{args['phones']} phones (each its own 127.77.x.y address, limits at production values), "
        f"on {context['cores']} cores; load average {context['load'][0][0]:.1f} before, "
        f"{context['load'][1][0]:.1f} after (the machine is shared: other work ran beside it)"
        + _warmup(sides)
        + _replayed(full.replayed)
        + _other_work(full.other_work),
        f"Volume store: {total:,} documents written in {full.filled.get('seconds', 0):.0f} s "
        + ("(kept from an earlier run's fill, copied in) " if full.filled.get("kept") else "")
        + f"({by_kind}); {full.filled.get('indexed', 0):,} upcoming outings indexed for search. "
        + _retired(full.filled.get("retired"))
        + f"Store: {'a FerretDB of its own per side' if full.store_private else 'the shared store (CPU is everyone’s)'}"
        f" (`{full.store_binary}`); code at `{context.get('commit', '?')}`.",
        f"Phones signed up: {empty.registered} of {args['phones']} (empty), {full.registered} (volume)."
        + "".join(
            f" **The {side.name} side stopped before its mix: {side.aborted}.**" for side in sides if side.aborted
        ),
        "",
        "| operation | calls empty / volume | p50 empty → volume (ms) | p99 empty → volume (ms) | p99 volume ÷ empty "
        "| p99 first → last 3 min, volume (ms) | store CPU per call alone, empty → volume (ms) "
        "| volume, start → end of run (ms) | failures (volume) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for operation in OPERATIONS:
        e, v = _answered(empty.samples, operation), _answered(full.samples, operation)
        first, last, _, _ = _edge_p99(full, operation, FLAT_WINDOW)
        cpu_e = empty.solo.get("start", {}).get(operation, {}).get("cpu ms", float("nan"))
        cpu_v0 = full.solo.get("start", {}).get(operation, {}).get("cpu ms", float("nan"))
        cpu_v1 = full.solo.get("end", {}).get(operation, {}).get("cpu ms", float("nan"))
        failures = _failures(full.samples, operation)
        lines.append(
            f"| {operation} | {len(e)} / {len(v)} | {_ms(median(e))} → {_ms(median(v))} "
            f"| {_ms(p99(e))} → {_ms(p99(v))} "
            f"| {_ratio(p99(v), p99(e))} | {_ms(first)} → {_ms(last)} | {_cpu(cpu_e)} → {_cpu(cpu_v0)} "
            f"| {_cpu(cpu_v0)} → {_cpu(cpu_v1)} | {', '.join(f'{k} ×{n}' for k, n in failures.items()) or '–'} |"
        )
    lines += ["", "| store, per side | empty | volume |", "|---|---:|---:|"]
    for phase in ("start", "end"):
        lines.append(
            f"| idle, {phase} of run (% of one core) | {_ms(100 * empty.idle.get(phase, float('nan')))} "
            f"| {_ms(100 * full.idle.get(phase, float('nan')))} |"
        )
    for label, stretch in (("first minute", 0), ("last minute", 1)):
        values = [_mix_cpu_per_call(side, *_stretches(side, 60)[stretch]) for side in sides]
        lines.append(f"| CPU per call in the mix, {label} (ms) | {_ms(values[0])} | {_ms(values[1])} |")
    idle_rates = [
        ", ".join(
            f"{k} {n:.1f}"
            for k, n in sorted(side.idle_commands.get("start", {}).items())
            if k not in ("ismaster", "hello")
        )
        or "–"
        for side in sides
    ]
    lines.append(f"| commands per second the idle stack sends it | {idle_rates[0]} | {idle_rates[1]} |")
    lines += [
        "",
        "Store commands per call, alone, at the start, empty → volume (FerretDB's own counters, less "
        "what the idle stack sends meanwhile):",
        "",
    ]
    for operation in OPERATIONS:
        shown = []
        for side in sides:
            commands = side.solo.get("start", {}).get(operation, {}).get("commands", {})
            text = ", ".join(f"{k} {n:.1f}" for k, n in sorted(commands.items()) if k not in ("ismaster", "hello"))
            shown.append(text or "–")
        lines.append(f"- {operation}: {shown[0]} → {shown[1]}")
    lines += ["", *query_table(full)]
    if difference := query_difference(empty, full):
        lines += ["", *difference]
    lines += ["", "Issue 17's targets:", "", *targets(empty, full)]
    lines += [
        "",
        "![latency over the soak](soak.png)",
        "",
    ]
    return "\n".join(lines)


def chart(sides: list[Side], path: Path) -> None:
    """Per operation, p50 and p99 per 30-s window over the mix, empty vs volume; and the
    store's CPU (share of a core) over the mix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 4, figsize=(18, 11), sharex=True)
    colours = {"empty": "tab:blue", "volume": "tab:red"}
    for ax, operation in zip(axes.flat, OPERATIONS, strict=False):
        for side in sides:
            xs, mids, tops = [], [], []
            t = 0.0
            while t < side.mix_seconds:
                values = _answered(side.samples, operation, t, t + WINDOW)
                if values:
                    xs.append((t + WINDOW / 2) / 60)
                    mids.append(median(values))
                    tops.append(p99(values))
                t += WINDOW
            ax.plot(xs, tops, color=colours[side.name], label=f"{side.name} p99")
            ax.plot(xs, mids, color=colours[side.name], linestyle="--", label=f"{side.name} p50")
        ax.set_title(operation)
        ax.set_yscale("log")
        ax.set_ylabel("ms")
    ax = axes.flat[len(OPERATIONS)]
    for side in sides:
        points = side.timeline
        xs = [(a[0] + b[0]) / 2 / 60 for a, b in itertools.pairwise(points)]
        ys = [100 * (b[1] - a[1]) / max(1e-9, b[0] - a[0]) for a, b in itertools.pairwise(points)]
        ax.plot(xs, ys, color=colours[side.name], label=side.name)
    ax.set_title("store CPU (% of one core)")
    axes.flat[0].legend(fontsize=8)
    axes.flat[len(OPERATIONS)].legend(fontsize=8)
    for ax in axes.flat[len(OPERATIONS) + 1 :]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("minutes into the mix")
    fig.suptitle("Soak: latency per 30-s window, empty store vs a year's volume, same mix")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _warmup(sides: list[Side]) -> str:
    """The header's words on the unmeasured mix before the measured one, if there was one."""
    empty, full = sides
    if not full.warmup:
        return ""
    return (
        f"; before the measured mix, {full.warmup['seconds'] / 60:.0f} min of the same mix not measured "
        f"(a store just started reads cold pages, and each phone's recent use, read back over members' "
        "15-minute login window, grows to what a phone in use has; join p99 then "
        f"{_ms(empty.warmup.get('join p99 ms', float('nan')))}"
        f" → {_ms(full.warmup['join p99 ms'])} ms, empty → volume)"
    )


def _replayed(seconds: float) -> str:
    """The header's words on the mix's last stretch repeating its first (``Side.replayed``)."""
    if not seconds:
        return ""
    return (
        f"; the mix's last {seconds / 60:g} min repeat the calls of its first {seconds / 60:g} "
        "(each phone the same operations at the same offsets: `bench.phones.schedule`), so that "
        "the flatness target compares the same load at both ends"
    )


def _other_work(share: float) -> str:
    """The header's note of what else ran (``Side.other_work``)."""
    if share < 0:
        return "."
    return (
        f"; other work on the machine used {100 * share:.0f} % of a core while the sides ran (its CPU outside "
        "the soak's processes and the shared servers, `bench.other_work`)."
    )


def write(sides: list[Side], context: dict[str, Any], append: bool = True) -> None:
    """Append the section to bench/results.md (or only .run/soak/results.md) and draw the chart;
    every sample goes to .run/soak/raw.json, (at, operation, ms, outcome) each."""
    text = section(sides, context)
    out = ROOT / ".run" / "soak"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text(text)
    raw = {
        side.name: {**dataclasses.asdict(side), "samples": [dataclasses.astuple(x) for x in side.samples]}
        for side in sides
    }
    (out / "raw.json").write_text(json.dumps(raw, default=str))
    chart(sides, (HERE if append else out) / "soak.png")
    if append:
        with open(HERE / "results.md", "a", encoding="utf-8") as handle:
            handle.write("\n" + text)
    print(text)


def load_sides(path: Path) -> list[Side]:
    """The empty and the volume side of a run kept in ``raw.json``."""
    from bench.soak import Side

    raw = json.loads(path.read_text())
    sides = []
    for name in ("empty", "volume"):
        fields = {k: v for k, v in raw[name].items() if k != "samples"}
        sides.append(Side(**{**fields, "samples": [Sample(*x) for x in raw[name]["samples"]]}))
    return sides


def pooled(runs: list[list[Side]]) -> list[Side]:
    """Each side's calls of several runs at the same settings as one run's: a call's time stays
    its seconds into its own mix, so the first and last stretches of every run are pooled. Only
    the latency targets read a pooled side (not its store CPU, idle store or machine speed).
    Raises ValueError when the runs' mixes differ in length by more than a few seconds, or when
    one run is given twice (by when its mix began)."""
    from bench.soak import Side

    starts = [sides[1].mix_started_unix for sides in runs]
    if len(set(starts)) < len(starts):
        raise ValueError("the same run given twice: pooling it again adds no calls, only narrows the intervals")
    lengths = [side.mix_seconds for sides in runs for side in sides]
    if max(lengths) - min(lengths) > 5:
        raise ValueError(f"mixes of different lengths cannot be pooled: {sorted(set(map(round, lengths)))} s")
    return [
        Side(
            name=runs[0][index].name,
            samples=[sample for sides in runs for sample in sides[index].samples],
            mix_seconds=min(lengths),
        )
        for index in (0, 1)
    ]


def pooled_targets(empty: Side, full: Side, runs: int) -> list[str]:
    """The latency targets over ``runs`` pooled runs (``pooled``): each p99 then stands on
    ``runs`` times as many calls, so one stall of the machine in one run moves it less."""
    return [
        f"Pooled over {runs} runs ({len(_answered(full.samples, 'join')):,} joins at volume):",
        ratio_line(empty, full),
        *flatness(empty, full),
    ]


def main() -> None:
    """``python -m bench.soak_report [raw.json ...]``: the join targets' lines of a run kept in
    raw.json (default ``.run/soak/raw.json``); given several runs, each one's, then the latency
    targets over all of them pooled (``pooled``)."""
    import sys

    paths = [Path(a) for a in sys.argv[1:]] or [ROOT / ".run" / "soak" / "raw.json"]
    runs = [load_sides(path) for path in paths]
    for path, sides in zip(paths, runs, strict=True):
        if len(runs) > 1:
            print(f"{path}:")
        print("\n".join(targets(*sides)))
        if difference := query_difference(*sides):
            print("\n" + "\n".join(difference))
        if len(runs) > 1:
            print()
    if len(runs) > 1:
        print("\n".join(pooled_targets(*pooled(runs), len(runs))))


if __name__ == "__main__":
    main()
