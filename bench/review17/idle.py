# ruff: noqa
"""Review 17: idle store CPU (/proc/<pid>/stat utime+stime) and FerretDB command rates over N s."""

from __future__ import annotations

import json
import os
import re
import sys
import time
import urllib.request

info = json.load(open(sys.argv[1]))
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 60
TICK = os.sysconf("SC_CLK_TCK")
COUNTER = re.compile(r'^ferretdb_client_requests_total\{command="([^"]+)"[^}]*\} (\d+)', re.M)


def cpu(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def cmds() -> dict[str, int]:
    text = urllib.request.urlopen(info["debug"] + "/debug/metrics", timeout=10).read().decode()
    out: dict[str, int] = {}
    for name, n in COUNTER.findall(text):
        out[name] = out.get(name, 0) + int(n)
    return out


pid = info["store_pid"]
c0, m0, t0 = cpu(pid), cmds(), time.monotonic()
time.sleep(seconds)
c1, m1, t1 = cpu(pid), cmds(), time.monotonic()
dt = t1 - t0
print(f"store pid {pid}: {c1 - c0:.2f} CPU s over {dt:.0f} s = {100 * (c1 - c0) / dt:.2f} % of a core")
for name in sorted(m1):
    n = m1[name] - m0.get(name, 0)
    if n:
        print(f"  {name}: {n} ({n / dt:.2f}/s)")
