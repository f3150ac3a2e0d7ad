"""The fault suite: real faults against the real servers, each checked for loss and double
application. Every test records one row; the table is printed at the end of the run and kept
in .run/reliability.md."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from devtools.isolated import isolated_stack  # noqa: E402

ROWS: list[dict] = []


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    with isolated_stack("faults", tmp_path_factory.mktemp("run")) as running:
        yield running


@pytest.fixture(scope="session")
def http(stack):
    client = httpx.Client(base_url=stack.gateway_url, timeout=15)
    yield client
    client.close()


@pytest.fixture
def record():
    def add(fault: str, sent: int, lost: int, twice: int, recovery_s: float, note: str = "") -> None:
        ROWS.append({"fault": fault, "sent": sent, "lost": lost, "twice": twice, "recovery": recovery_s, "note": note})

    return add


def table() -> str:
    lines = [
        "| fault | events sent | lost | applied twice | recovery (s) | how it was counted |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in ROWS:
        cells = [row["fault"], row["sent"], row["lost"], row["twice"], f"{row['recovery']:.1f}", row["note"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not ROWS:
        return
    text = table()
    terminalreporter.write_sep("=", "reliability: every fault, what was lost and what was applied twice")
    terminalreporter.write_line(text)
    out = ROOT / ".run"
    out.mkdir(exist_ok=True)
    (out / "reliability.md").write_text(text + "\n")
