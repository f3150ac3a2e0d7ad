"""How fast the machine is, minute by minute, while a benchmark runs.

On a shared machine the same work can cost more CPU time in some minutes than in others (the
2026-12-01 22:56 and 23:14 soaks: a join alone at volume 30.5 → 57.9 ms of store CPU over one run,
56.6 → 29.1 ms over the next, same code, data and calls; ``bench.other_work`` read 0 %, since the
cause is outside this machine's accounts: a busy neighbour on the host's core, its clock).
``SpeedProbe`` runs a small process that times one fixed piece of pure-Python work every
``INTERVAL`` seconds by its own CPU time (``time.process_time``: waiting for a core is not
counted, a slower core is) and reports each reading as (Unix seconds, CPU ms).
A run's readings say whether its first and last minutes were measured on the same machine.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

INTERVAL = 10.0  # seconds between readings
ROUNDS = 200_000  # the fixed work: ~20 ms of CPU on the 2026 machines


def fixed_work(rounds: int = ROUNDS) -> float:
    """CPU milliseconds this process spent on ``rounds`` of integer arithmetic and dict updates."""
    began = time.process_time()
    seen: dict[int, int] = {}
    total = 0
    for i in range(rounds):
        total = (total * 31 + i) % 1_000_003
        seen[total & 1023] = i
    return (time.process_time() - began) * 1000


class Probe:
    """A child process, ``python -m <module> <path>``, that appends readings to ``path`` until
    stopped: ``start()`` empties the file and starts it, ``end()`` stops it."""

    module = ""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Probe:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("")
        self.process = subprocess.Popen([sys.executable, "-m", self.module, str(self.path)])
        return self

    def end(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


class SpeedProbe(Probe):
    """``start()`` the probe process; ``stop()`` → ``[(Unix seconds, CPU ms)]``, one per reading."""

    module = "bench.machine_speed"

    def stop(self) -> list[tuple[float, float]]:
        self.end()
        readings = []
        for line in self.path.read_text().splitlines():
            at, ms = line.split()
            readings.append((float(at), float(ms)))
        return readings


def main() -> None:
    """``python -m bench.machine_speed FILE``: append "unix-seconds cpu-ms" every INTERVAL s."""
    path = Path(sys.argv[1])
    while True:
        ms = fixed_work()
        with path.open("a") as out:
            out.write(f"{time.time():.3f} {ms:.3f}\n")
        time.sleep(INTERVAL)


if __name__ == "__main__":
    main()
