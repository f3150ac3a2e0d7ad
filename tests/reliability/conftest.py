"""The fault suite: real faults against the real servers, each checked for loss and double
application. Every test records one row; the table is printed at the end of the run and kept
in .run/reliability.md.

The stack runs at volume: before the first fault its databases hold months of other data
(devtools.volume, ``RELIABILITY_VOLUME_OUTINGS`` outings, default 2,000: ~110,000 documents;
0 for none) and its search indices other outings and listings, so what recovers after a fault
(sweepers, redeliveries, replays) does so over a store that is not empty."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import httpx
import pytest
from applied import Witness

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from elasticsearch import Elasticsearch  # noqa: E402

from bench.dataset import mixed_events  # noqa: E402
from devtools import volume  # noqa: E402
from devtools.isolated import isolated_stack  # noqa: E402
from devtools.search_fill import index_events, index_filled_outings  # noqa: E402
from parentnet_kit import config  # noqa: E402

ROWS: list[dict] = []
VOLUME: dict[str, int] = {}
VOLUME_OUTINGS = int(os.environ.get("RELIABILITY_VOLUME_OUTINGS", "2000"))
OTHER_DOCUMENTS = 20 * VOLUME_OUTINGS  # in the search indices, besides the filled outings ahead


def fill(env: dict[str, str]) -> None:
    """The stack's databases and indices filled with other data (ids never used by a fault)."""
    filled = volume.fill(
        config.mongo_uri(), VOLUME_OUTINGS, 10, env["EVENTS_DB"], env["MEMBERS_DB"], env["LISTINGS_DB"]
    )
    es = Elasticsearch(config.elasticsearch_url(), request_timeout=120)
    prefix = env["SEARCH_INDEX_PREFIX"]
    indexed = index_filled_outings(config.mongo_uri(), env["EVENTS_DB"], es, prefix)
    others = index_events(es, prefix, mixed_events(OTHER_DOCUMENTS, random.Random(17), prefix="vol-"))
    VOLUME.update(documents=filled.total, indexed=indexed + sum(others.values()))


@pytest.fixture(scope="session")
def witness():
    """The proxy search talks to instead of Elasticsearch: it keeps which (document, version)
    writes Elasticsearch applied (applied.py)."""
    proxy = Witness(config.elasticsearch_url())
    proxy.start()
    yield proxy
    proxy.close()


@pytest.fixture(scope="session")
def stack(tmp_path_factory, witness):
    with isolated_stack("faults", tmp_path_factory.mktemp("run"), start=False) as running:
        running.env["ELASTICSEARCH_URL"] = witness.url  # the fill below writes directly
        running.start_all()
        running.wait_healthy(90)
        if VOLUME_OUTINGS > 0:
            fill(running.env)
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
        f"At volume: {VOLUME['documents']:,} other documents in the stack's databases, "
        f"{VOLUME['indexed']:,} in its search indices (fault 5's stack is new: empty).\n"
        if VOLUME
        else "On empty stores (RELIABILITY_VOLUME_OUTINGS=0).\n",
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
