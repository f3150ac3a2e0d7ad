"""Provisioning as ops run it: a second `make up` or `make test` beside running servers."""

from __future__ import annotations

import os
from pathlib import Path

LOCK = Path(os.environ.get("PARENTNET_CACHE", Path.home() / ".cache" / "parentnet")) / ".provision.lock"


def test_no_running_server_holds_the_provisioning_lock():
    """A server started with the lock's descriptor held it while it ran, and every later
    provisioning then waited for ever (seen: FerretDB kept fd 9)."""
    holders = []
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if os.readlink(fd) == str(LOCK):
                holders.append(fd.parts[2])
        except OSError:
            continue
    mine = {str(os.getpid()), str(os.getppid())}
    assert not set(holders) - mine, f"processes holding {LOCK}: {sorted(set(holders))}"
