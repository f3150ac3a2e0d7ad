"""Which processes used the machine's CPU, every few seconds, while a benchmark ran.

A soak's slow stretch shows on both sides at once, and in ``bench.machine_speed``'s readings
(the fixed work costs more CPU time while a sibling hardware thread is busy), but those say only
that the machine was busy, not with what. ``ProcessCpu`` runs a small process that reads every
process's CPU time (``/proc/<pid>/stat``, via psutil) every ``INTERVAL`` seconds, with the
machine's busy and steal time (``/proc/stat``), and appends one JSON line per reading:
``{"at": unix seconds, "busy": s, "steal": s, "cpu": {"<pid> <label>": s}}`` (cumulative seconds).
``busiest(path, start, end)`` says who spent what between two moments.

``python -m bench.process_cpu FILE START END`` prints that for a file a run left (Unix seconds).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import psutil

from bench.machine_speed import Probe

INTERVAL = 5.0  # seconds between readings
# Command-line fragments that name a process better than its executable does, first match wins.
LABELS = (
    ("bench.soak", "bench.soak"),
    ("bench.machine_speed", "bench.machine_speed"),
    ("bench.process_cpu", "bench.process_cpu"),
    ("org.elasticsearch", "elasticsearch"),
    ("beam.smp", "rabbitmq"),
    ("ferretdb", "ferretdb"),
    ("gateway", "gateway"),
)


def label(cmdline: list[str], name: str) -> str:
    """A short name for a process: a known server or benchmark part, a nameko service by the
    service it runs (the last argument of ``parentnet_kit.nameko_run``), else its executable."""
    line = " ".join(cmdline)
    if "nameko_run" in line and cmdline:
        return cmdline[-1].split(".", 1)[0].split(":", 1)[0]  # "members.service" -> "members"
    for fragment, short in LABELS:
        if fragment in line:
            return short
    return name


def reading() -> dict[str, object]:
    """One reading: the time, the machine's busy and steal seconds, and each process's CPU seconds."""
    times = psutil.cpu_times()
    cpu: dict[str, float] = {}
    for process in psutil.process_iter(["pid", "name", "cmdline", "cpu_times"]):
        spent = process.info.get("cpu_times")
        if spent is None:
            continue
        key = f"{process.info['pid']} {label(process.info.get('cmdline') or [], process.info.get('name') or '?')}"
        cpu[key] = round(spent.user + spent.system, 2)
    busy = sum(times) - times.idle - getattr(times, "iowait", 0.0)
    return {"at": round(time.time(), 3), "busy": round(busy, 2), "steal": getattr(times, "steal", 0.0), "cpu": cpu}


class ProcessCpu(Probe):
    """``start()`` the sampling process; ``stop()`` ends it (the file stays for ``busiest``)."""

    module = "bench.process_cpu"

    def stop(self) -> None:
        self.end()


def busiest(path: Path, start: float, end: float, top: int = 12) -> list[tuple[str, float]]:
    """Processes ("<pid> <label>") by the CPU seconds they used between the readings nearest ``start`` and ``end``
    (Unix seconds), most first, each with its share of one core over that time; the machine's
    busy and steal time as ``(machine busy)`` and ``(steal)``. Processes alive at only one of the
    two readings count from zero or to what they had. Raises ValueError with fewer than two
    readings in the range."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    inside = [r for r in lines if start <= r["at"] <= end]
    if len(inside) < 2:
        raise ValueError(f"fewer than two readings between {start} and {end} in {path}")
    first, last = inside[0], inside[-1]
    seconds = last["at"] - first["at"]
    used: dict[str, float] = {}
    for key in first["cpu"].keys() | last["cpu"].keys():
        spent = last["cpu"].get(key, first["cpu"].get(key, 0.0)) - first["cpu"].get(key, 0.0)
        used[key] = max(0.0, spent)
    ranked = sorted(used.items(), key=lambda kv: -kv[1])[:top]
    machine = [("(machine busy)", last["busy"] - first["busy"]), ("(steal)", last["steal"] - first["steal"])]
    return [(name, spent / seconds) for name, spent in machine + ranked]


def main() -> None:
    """``python -m bench.process_cpu FILE``: append a reading every INTERVAL s until stopped;
    ``python -m bench.process_cpu FILE START END``: print ``busiest`` for a kept file."""
    path = Path(sys.argv[1])
    if len(sys.argv) == 4:
        for name, share in busiest(path, float(sys.argv[2]), float(sys.argv[3])):
            print(f"{100 * share:6.1f} %  {name}")
        return
    os.nice(5)  # its own CPU should disturb the benchmark as little as possible
    while True:
        with path.open("a") as out:
            out.write(json.dumps(reading(), separators=(",", ":")) + "\n")
        time.sleep(INTERVAL)


if __name__ == "__main__":
    main()
