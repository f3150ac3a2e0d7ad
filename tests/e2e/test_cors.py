"""CORS as a browser enforces it: a page on another origin (a dev server on another port)
calls the gateway from headless Chromium with the headers web apps send."""

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
def test_a_page_on_a_dev_origin_calls_the_api_with_apollo_and_idempotency_headers(stack, organizer):
    env = {**os.environ, "GATEWAY_URL": stack.gateway_url, "TOKEN": organizer["token"]}
    run = subprocess.run(["node", "cors.mjs"], cwd=EXPLORER, env=env, capture_output=True, text=True, timeout=90)
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0, (seen, run.stderr)
    assert seen["origin"] != stack.gateway_url  # another origin: the browser applied CORS
    assert seen["post"]["status"] == 200 and seen["post"]["body"]["data"]["viewer"]["id"] == organizer["id"]
    assert seen["get"]["status"] == 200 and seen["get"]["body"]["data"]["cities"]
