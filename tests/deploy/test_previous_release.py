"""N-1: each side of a deploy works against the previous release of the other (issue 21).

Ops deploy one service at a time, so for a while the new events service serves the old
gateway, and the new gateway calls the old events service. Each run starts an isolated stack
with one process from the previous release (``conftest.release``) and walks a parent's journey
through the GraphQL API (``journey.Journey``): a change to an RPC's name or arguments, or to an
event's shape, that the other version cannot take fails a named step.
"""

from __future__ import annotations

import os
import subprocess

import httpx
import pytest
from journey import Journey

from devtools.isolated import mixed_stack
from devtools.stack import VENV_BIN


def runs_from(stack, name: str, tree) -> None:
    """The process ``name`` really runs the release: its working folder is in the tree, and its
    import path finds the tree's kit first."""
    pid = stack.processes[name].pid
    assert os.readlink(f"/proc/{pid}/cwd").startswith(str(tree)), f"{name} does not run from {tree}"
    env = {**os.environ, "PYTHONPATH": f"{tree / 'kit'}{os.pathsep}{tree / 'gateway'}"}
    where = subprocess.run(
        [str(VENV_BIN / "python"), "-c", "import parentnet_kit; print(parentnet_kit.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=tree,
    ).stdout.strip()
    assert where.startswith(str(tree / "kit")), f"the release's kit is not first on the import path: {where}"


@pytest.mark.parametrize(
    "old",
    [
        pytest.param("events", id="previous-events-with-this-gateway"),
        pytest.param("gateway", id="previous-gateway-with-these-services"),
    ],
)
def test_a_parents_journey_works_across_versions(old, release_runs_here, tmp_path):
    tag, tree = release_runs_here
    with mixed_stack(f"n1{old}", tmp_path / "run", trees={old: tree}) as stack:
        runs_from(stack, old, tree)
        label = f"{old} from {tag}, the rest from this checkout"
        with httpx.Client(
            base_url=stack.gateway_url, timeout=45, headers={"accept": "application/graphql-response+json"}
        ) as http:
            try:
                Journey(http, label).walk()
            except AssertionError as failure:
                logs = "\n".join(
                    f"--- {name}.log (last lines) ---\n"
                    + (tmp_path / "run" / f"{name}.log").read_text(errors="replace")[-1500:]
                    for name in (old, "events" if old == "gateway" else "gateway")
                )
                raise AssertionError(f"{failure}\n{logs}") from None
