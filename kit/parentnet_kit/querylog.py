"""What each store command cost, by shape: the evidence behind docs/store.md's table.

With ``PARENTNET_QUERY_LOG`` set to a file path, a service's MongoClient (``listeners()``) writes
one JSON line per command it sent: ``{"db", "collection", "command", "shape", "ms", "ok"}``.
``shape`` is the filter (or update/delete query) with every value replaced by its type, so
``{"_id": "a1"}`` and ``{"_id": "b2"}`` are one shape (``{"_id": "str"}``) and nothing a member
wrote or where they live reaches the file; ``ms`` is the time from send to answer, as the service
saw it (the store's queueing included); ``at`` is when the answer came (Unix seconds), so a
benchmark can line the commands up with its own slow calls. Off by default: nothing is installed and nothing written.

``summarize(lines)`` folds such a file into rows per (db, collection, command, shape), and
``is_point_lookup(shape)`` says whether FerretDB 1.x serves that shape from an index (only
``{"_id": <string>}``; docs/store.md).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from pymongo import monitoring

ENV = "PARENTNET_QUERY_LOG"
# The part of each command that selects documents; the rest (projections, documents) is not a shape.
_SELECTORS = {
    "find": ("filter",),
    "count": ("query",),
    "aggregate": ("pipeline",),
    "update": ("updates",),
    "delete": ("deletes",),
    "findAndModify": ("query",),
    "distinct": ("query",),
}


def shape(value: Any) -> Any:
    """``value`` with every leaf replaced by its type name; keys (field names, operators) kept."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        shapes = [shape(item) for item in value]
        unique = [s for i, s in enumerate(shapes) if s not in shapes[:i]]
        return unique
    return type(value).__name__


def command_shape(name: str, command: dict[str, Any]) -> Any:
    """The selecting part of a command, as a shape (``None`` for commands that select nothing)."""
    for field in _SELECTORS.get(name, ()):
        if field not in command:
            continue
        selected = command[field]
        if name == "update":
            return [{"q": shape(u.get("q", {})), "multi": bool(u.get("multi"))} for u in selected][:1]
        if name == "delete":
            return [{"q": shape(d.get("q", {})), "limit": d.get("limit", 0)} for d in selected][:1]
        return shape(selected)
    return None


def is_point_lookup(found: Any) -> bool:
    """True for the one filter shape FerretDB 1.x on SQLite serves from an index: ``{_id: str}``
    (a find's filter, or an update's/delete's ``q``)."""
    if isinstance(found, list) and len(found) == 1 and isinstance(found[0], dict) and "q" in found[0]:
        found = found[0]["q"]
    return found == {"_id": "str"}


class QueryLog(monitoring.CommandListener):
    """Appends a line per command to ``path`` (thread- and green-thread-safe, line-buffered)."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives with the client
        self._lock = threading.Lock()
        self._started: dict[int, tuple[str, str, str, Any]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        collection = event.command.get(name)
        if not isinstance(collection, str):
            return  # isMaster, buildInfo, endSessions, getMore: not a collection's query
        found = command_shape(name, event.command)
        self._started[event.request_id] = (event.database_name, collection, name, found)

    def _finish(self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent, ok: bool) -> None:
        begun = self._started.pop(event.request_id, None)
        if begun is None:
            return
        db, collection, name, found = begun
        line = {"db": db, "collection": collection, "command": name, "shape": found}
        line |= {"ms": round(event.duration_micros / 1000, 3), "ok": ok, "at": round(time.time(), 3)}
        with self._lock:
            self._file.write(json.dumps(line, separators=(",", ":")) + "\n")

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._finish(event, True)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._finish(event, False)


def listeners() -> list[monitoring.CommandListener]:
    """``[QueryLog]`` when ``PARENTNET_QUERY_LOG`` names a file, else ``[]``: pass as a
    MongoClient's ``event_listeners``."""
    path = os.environ.get(ENV)
    return [QueryLog(path)] if path else []


def summarize(lines: Iterable[str], start: float | None = None, end: float | None = None) -> list[dict[str, Any]]:
    """Rows ``{db, collection, command, shape, calls, total ms, p50 ms, max ms, indexed}`` per
    distinct (db, collection, command, shape), most total time first. ``start``/``end`` (Unix
    seconds): only the commands answered in that window (``at``; entries without it are left out
    when a window is given)."""
    groups: dict[str, dict[str, Any]] = {}
    windowed = start is not None or end is not None
    for line in lines:
        if not line.strip():
            continue
        entry = json.loads(line)
        if windowed:
            at = entry.get("at")
            if at is None or (start is not None and at < start) or (end is not None and at > end):
                continue
        key = json.dumps([entry["db"], entry["collection"], entry["command"], entry["shape"]], sort_keys=True)
        group = groups.setdefault(key, {**{k: entry[k] for k in ("db", "collection", "command", "shape")}, "ms": []})
        group["ms"].append(entry["ms"])
    rows = []
    for group in groups.values():
        times = sorted(group.pop("ms"))
        rows.append(
            {
                **group,
                "calls": len(times),
                "total ms": sum(times),
                "p50 ms": times[len(times) // 2],
                "max ms": times[-1],
                "indexed": is_point_lookup(group["shape"]) or group["command"] == "insert",
            }
        )
    return sorted(rows, key=lambda r: -r["total ms"])
