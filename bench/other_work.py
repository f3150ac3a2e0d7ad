"""How much CPU other work on the machine used while a benchmark ran: a benchmark on a shared
machine says whether its numbers were measured beside other load, not only the load average.

``OtherWork.start()`` before the measured part, ``.stop()`` after: the machine's busy CPU time
(``/proc/stat``, via psutil: all but idle and iowait) less that of the benchmark's own process
tree and of the shared servers it talks to (RabbitMQ, Elasticsearch, the shared store: named
by ``SHARED``), as a share of one core over the wall time. Short-lived processes (a test run,
a ``pip install``) are counted, since they are in the machine's total."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import psutil

# Command-line fragments of the long-running servers a benchmark shares with everything else.
SHARED = ("beam.smp", "org.elasticsearch", "elasticsearch", "ferretdb")


def _busy() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def _ours() -> list[psutil.Process]:
    me = psutil.Process()
    tree = [me, *me.children(recursive=True)]
    shared = []
    for process in psutil.process_iter(["cmdline"]):
        line = " ".join(process.info.get("cmdline") or [])
        if any(fragment in line for fragment in SHARED):
            shared.append(process)
    return tree + [p for p in shared if p.pid not in {t.pid for t in tree}]


def _cpu(processes: list[psutil.Process]) -> dict[int, float]:
    spent = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:  # gone meanwhile
            continue
        spent[process.pid] = times.user + times.system
    return spent


@dataclass
class OtherWork:
    """A measurement in progress (``start``), then ``stop()``: share of one core (0.5: half a core)."""

    at: float
    busy: float
    ours: dict[int, float] = field(default_factory=dict)
    processes: list[psutil.Process] = field(default_factory=list)

    @classmethod
    def start(cls) -> OtherWork:
        processes = _ours()
        return cls(time.monotonic(), _busy(), _cpu(processes), processes)

    def stop(self) -> float:
        """Other work's CPU since ``start``, as a share of one core (never below 0)."""
        seconds = max(1e-9, time.monotonic() - self.at)
        now = _cpu(self.processes + _ours())
        # A process of ours born meanwhile counts from zero; one that died counts what it had.
        ours = sum(now.get(pid, spent) - spent for pid, spent in self.ours.items())
        ours += sum(spent for pid, spent in now.items() if pid not in self.ours)
        return max(0.0, (_busy() - self.busy - ours) / seconds)
