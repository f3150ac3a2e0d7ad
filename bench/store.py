"""A MongoDB-protocol store of the soak's own: FerretDB with the shared one's flags, on its
own ports and data directory, so that its CPU (read from /proc) and its command counters
(its debug port's Prometheus text) are the soak's alone.

The shared store serves every test run on the machine at once; a CPU figure read from it
would be everyone's. The flags are read from the running shared process, so whatever
configuration provisioning gives the store (handler, backend options) the soak's copy has
too; the binary is provisioning's newest build in its cache (the shared server may still run
an older one until it is restarted), and the report names it. Without a local FerretDB on
SQLite (a real mongod, or MONGO_URI elsewhere) the soak uses the shared store and says so:
its CPU is then the whole process's, others' work included.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from devtools.isolated import free_port
from parentnet_kit import config

_COUNTER = re.compile(r'^ferretdb_client_requests_total\{command="([^"]+)"[^}]*\} (\d+)', re.MULTILINE)
# Flags that name where this copy listens and keeps its data; every other flag is kept.
_OWN = ("--listen-addr", "--debug-addr", "--state-dir", "--sqlite-url")


@dataclass
class Store:
    """``uri`` to give the services; ``process`` whose CPU is the store's; ``debug_url`` for
    its counters (None when unknown); ``private`` False when it is the shared store;
    ``binary`` the store's executable."""

    uri: str
    process: psutil.Process
    debug_url: str | None
    private: bool
    binary: str

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the store's process has used since it started."""
        times = self.process.cpu_times()
        return times.user + times.system

    def commands(self) -> dict[str, int]:
        """Requests served so far per command name (``find``, ``insert``, ...); empty when the
        store has no debug port."""
        if self.debug_url is None:
            return {}
        with urllib.request.urlopen(f"{self.debug_url}/debug/metrics", timeout=10) as response:
            text = response.read().decode()
        return {name: int(count) for name, count in _COUNTER.findall(text)}


def newest_build() -> str | None:
    """The FerretDB that provisioning built last (its cache, scripts/provision.sh): what this
    checkout would run, even while the shared server still runs an older build."""
    cache = Path(os.environ.get("PARENTNET_CACHE") or Path.home() / ".cache" / "parentnet") / "bin"
    builds = [p for p in cache.glob("ferretdb-*") if p.is_file() and os.access(p, os.X_OK) and p.suffix != ".tmp"]
    return str(max(builds, key=lambda p: p.stat().st_mtime)) if builds else None


def _listener(port: int) -> psutil.Process | None:
    for connection in psutil.net_connections("tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port and connection.pid:
            return psutil.Process(connection.pid)
    return None


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _shared() -> tuple[str, psutil.Process | None, list[str]]:
    """The shared store's URI, its process (None when nothing listens) and its command line."""
    shared_uri = config.mongo_uri()
    shared = _listener(urlsplit(shared_uri).port or 27017)
    return shared_uri, shared, shared.cmdline() if shared else []


def _on_sqlite(argv: list[str]) -> bool:
    # Only the SQLite backend keeps all its data under a directory of our choosing.
    return bool(argv) and "ferretdb" in Path(argv[0]).name and "--handler=sqlite" in argv


def sqlite_query(argv: list[str]) -> str:
    """The query part of a FerretDB command line's ``--sqlite-url`` (``_pragma=...&...``, the
    SQLite settings every connection gets), "" when it has none."""
    url = next((a.split("=", 1)[1] for a in argv if a.startswith("--sqlite-url=")), "")
    return urlsplit(url).query


@contextlib.contextmanager
def ferretdb_on(data_dir: Path, query: str | None = None, name: str = "") -> Iterator[Store]:
    """A FerretDB with the shared one's flags serving ``data_dir`` as it is (nothing copied or
    removed), stopped afterwards. ``query``: its ``--sqlite-url`` query (SQLite pragmas; None:
    the shared store's). Two of these may serve one directory at once (SQLite in WAL mode
    allows several processes), e.g. to compare settings on the very same files. Raises
    ``RuntimeError`` without a local FerretDB on SQLite, or when it does not start in 60 s."""
    _, _, argv = _shared()
    if not _on_sqlite(argv):
        raise RuntimeError("needs the local FerretDB on SQLite (scripts/provision.sh)")
    binary = newest_build() or argv[0]
    query = sqlite_query(argv) if query is None else query
    own_port, debug_port = free_port(), free_port()
    state = data_dir.parent / f"{data_dir.name}{name}-state"
    state.mkdir(parents=True, exist_ok=True)
    kept = [a for a in argv[1:] if not a.startswith(_OWN)]
    own = [
        f"--listen-addr=127.0.0.1:{own_port}",
        f"--debug-addr=127.0.0.1:{debug_port}",
        f"--state-dir={state}",
        f"--sqlite-url=file:{data_dir}/" + (f"?{query}" if query else ""),
    ]
    log = open(data_dir.parent / f"{data_dir.name}{name}-ferretdb.log", "wb")  # noqa: SIM115 - the child's
    child = subprocess.Popen([binary, *kept, *own], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _port_open(own_port):
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"FerretDB did not start; see {log.name}")
            time.sleep(0.1)
        debug_url = f"http://127.0.0.1:{debug_port}"
        yield Store(f"mongodb://127.0.0.1:{own_port}/", psutil.Process(child.pid), debug_url, True, binary)
    finally:
        child.terminate()
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        log.close()
        shutil.rmtree(state, ignore_errors=True)


@contextlib.contextmanager
def private_store(
    data_dir: Path, seed: dict[str, Path] | None = None, keep: dict[str, Path] | None = None
) -> Iterator[Store]:
    """A new FerretDB like the shared one (its flags and SQLite settings), removed (with
    ``data_dir``) afterwards.

    ``seed``: ``{database name: SQLite file}`` copied in before it starts (FerretDB's SQLite
    backend keeps database ``X`` in ``X.sqlite``), so a filled store is reused instead of filled
    again. ``keep``: ``{database name: destination}``, copied out after it stopped cleanly.
    Both need the local FerretDB on SQLite; without it ``seed`` raises ``RuntimeError``."""
    shared_uri, shared, argv = _shared()
    if not _on_sqlite(argv):
        process = shared or psutil.Process()
        port = urlsplit(shared_uri).port or 27017
        print(
            f"soak: no local FerretDB on SQLite at port {port}; using the shared store (its CPU includes others' work)"
        )
        if seed:
            raise RuntimeError("a seeded store needs the local FerretDB on SQLite")
        yield Store(shared_uri, process, None, False, argv[0] if argv else "")
        return
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    for name, source in (seed or {}).items():
        shutil.copyfile(source, data_dir / f"{name}.sqlite")
    stopped = False
    try:
        with ferretdb_on(data_dir) as store:
            yield store
        stopped = True
    finally:
        if stopped and keep:
            for name, destination in keep.items():
                _copy_database(data_dir, name, destination)
        shutil.rmtree(data_dir, ignore_errors=True)


def _copy_database(data_dir: Path, name: str, destination: Path) -> None:
    """Copy database ``name`` out of a stopped store as one self-contained SQLite file (its
    write-ahead log checkpointed into it first, by SQLite itself)."""
    import sqlite3

    source = data_dir / f"{name}.sqlite"
    if not source.exists():
        return  # nothing was written to it
    destination.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(source)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    partial = destination.with_suffix(".partial")
    shutil.copyfile(source, partial)
    partial.replace(destination)
