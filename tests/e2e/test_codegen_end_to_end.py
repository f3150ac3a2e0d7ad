"""graphql-codegen (npm), as a front-end team runs it, pointed at the live gateway's URL: the
schema through standard introspection, TypeScript types for it and for every docs/ operation,
and the output compiles with tsc --strict."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from conftest import ROOT

CODEGEN = ROOT / "clients" / "codegen"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is installed by make test's provisioning")
def test_codegen_generates_typescript_types_from_the_live_url(stack):
    if not (CODEGEN / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=CODEGEN, check=True, timeout=300)
    shutil.rmtree(CODEGEN / "generated", ignore_errors=True)
    env = {**os.environ, "PARENTNET_GRAPHQL_URL": f"{stack.gateway_url}/graphql"}
    npx = ["npx", "--no-install"]
    run = subprocess.run(
        [*npx, "graphql-codegen", "--config", "codegen.yml"],
        cwd=CODEGEN,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    schema = (CODEGEN / "generated" / "schema.ts").read_text()
    operations = (CODEGEN / "generated" / "operations.ts").read_text()
    # Types with their descriptions, enums, deprecations: what the editor shows the team.
    assert "export type Outing = Node & {" in schema
    assert "/** An outing a parent proposes to other families, at a public place. */" in schema
    assert "export enum OutingState {" in schema
    assert "@deprecated Use state" in schema
    for operation in ("OutingListQuery", "OutingPageQuery", "MapScreenQuery", "JoinOutingMutation"):
        assert f"export type {operation} = " in operations, operation
    check = subprocess.run(
        [*npx, "tsc", "--noEmit", "--strict", "--skipLibCheck", "generated/schema.ts", "generated/operations.ts"],
        cwd=CODEGEN,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert check.returncode == 0, check.stdout + check.stderr
