"""The graphql-http package's server audit (npm; the GraphQL-over-HTTP spec's MUSTs, SHOULDs
and MAYs) against the live gateway: no error, no warning."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

AUDIT = Path(__file__).resolve().parents[2] / "clients" / "http-audit"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is installed by make test's provisioning")
def test_graphql_over_http_audit_has_no_error_and_no_warning(stack):
    if not (AUDIT / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=AUDIT, check=True, timeout=300)
    env = {**os.environ, "GATEWAY_URL": stack.gateway_url}
    run = subprocess.run(["node", "audit.mjs"], cwd=AUDIT, env=env, capture_output=True, text=True, timeout=120)
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0 and summary["error"] == 0 and summary["warn"] == 0, summary
    assert summary["ok"] >= 57, summary
