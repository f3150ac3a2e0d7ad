# ruff: noqa
"""Review 17: a private FerretDB (bench.store), filled with devtools.volume, an isolated stack on
it, held until <run>/stop exists. Writes <run>/stack.json (gateway url, store pid, debug url, env)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

run = Path(sys.argv[1])
outings = int(sys.argv[2])
history = sys.argv[3] == "history" if len(sys.argv) > 3 else False
run.mkdir(parents=True, exist_ok=True)

from bench.store import private_store  # noqa: E402

with private_store(run / "ferret") as store:
    os.environ["MONGO_URI"] = store.uri
    from devtools import volume
    from devtools.isolated import isolated_stack

    with isolated_stack("rev17", run / "stack", start=False) as stack:
        env = stack.env
        t = time.monotonic()
        filled = volume.fill_stack(store.uri, outings, env, outbox_history=history)
        print(f"filled {filled.total:,} docs in {time.monotonic() - t:.0f} s", flush=True)
        for k, v in sorted(filled.counts.items()):
            print(f"  {k}: {v:,}", flush=True)
        stack.start_all()
        stack.wait_healthy(300)
        info = {
            "gateway": stack.gateway_url,
            "store_pid": store.process.pid,
            "debug": store.debug_url,
            "uri": store.uri,
            "env": env,
            "pids": {n: p.pid for n, p in stack.processes.items()},
        }
        (run / "stack.json").write_text(json.dumps(info, indent=1))
        print("READY", flush=True)
        while not (run / "stop").exists():
            time.sleep(1)
