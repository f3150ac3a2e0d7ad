"""The stack a benchmark measures: an isolated Parentnet (its own virtual host, databases and
index prefix on the local servers, devtools.isolated) started with the bench's settings."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from devtools.isolated import isolated_stack
from devtools.stack import Stack


@contextlib.contextmanager
def bench_stack(
    label: str, run_dir: Path, settings: dict[str, str | None], healthy_within: float = 90
) -> Iterator[Stack]:
    """Started and healthy within ``healthy_within`` seconds; removed afterwards. ``settings``
    are environment variables set over the test suites' (a value) or dropped back to the
    processes' defaults (None)."""
    with isolated_stack(label, run_dir, start=False) as stack:
        for name, value in settings.items():
            if value is None:
                stack.env.pop(name, None)
            else:
                stack.env[name] = value
        stack.start_all()
        stack.wait_healthy(healthy_within)
        yield stack
