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

import pytest
from journey import Journey
from support.phones import phone_client

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
        # A phone of its own (limits as deployed: per address).
        accept = {"accept": "application/graphql-response+json"}
        with phone_client(stack.gateway_url, timeout=45, headers=accept) as http:
            try:
                Journey(http, label).walk()
            except AssertionError as failure:
                raise AssertionError(f"{failure}\n{errors_logged(tmp_path / 'run')}") from None


def errors_logged(run_dir) -> str:
    """The error and warning lines of every process's log (the last 8 of each): where an
    ``IncorrectSignature`` or an event a consumer refused shows up."""
    found = []
    for log in sorted(run_dir.glob("*.log")):
        lines = [
            line
            for line in log.read_text(errors="replace").splitlines()
            if '"level":"error"' in line or '"level":"warning"' in line or "Traceback" in line
        ]
        found += [f"--- {log.name}: {len(lines)} error/warning lines ---", *lines[-8:]]
    return "\n".join(found)
