"""The explorer the gateway serves: GraphiQL bundled from npm, loaded in headless Chromium,
running a query from its own execute button, showing Docs and autocomplete (both need the
standard introspection query to pass the gateway's limits), with nothing fetched from another
origin."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

EXPLORER = Path(__file__).resolve().parents[2] / "clients" / "explorer"


@pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("chromium") is None,
    reason="node and chromium are installed by make test's provisioning",
)
def test_the_explorer_loads_and_runs_a_query_in_chromium(stack):
    env = {**os.environ, "GATEWAY_URL": stack.gateway_url}
    run = subprocess.run(["node", "check.mjs"], cwd=EXPLORER, env=env, capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    # The result pane draws only the lines in view (the answer now ends with extensions.cost).
    assert '"slug": "paris"' in result["shown"]
    assert result["failures"] == []
    assert result["external"] == []  # no CDN: every asset came from the gateway
    assert result["docs"]["title"] == "Outing"
    assert {"id", "title", "startsAt", "attendance"} <= set(result["docs"]["fields"])
    assert "cities" in result["hints"]
