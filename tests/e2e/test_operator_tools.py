"""As ops following docs/operations.md: the search backfill without the identity key, members'
remark_relations, and INTERNAL_IDENTITY_REQUIRED's values at a service's start-up (from a review)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import run_backfill

from parentnet_kit import config

ROOT = Path(__file__).resolve().parents[2]


def _without_keys(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if not k.startswith("INTERNAL_IDENTITY_")}


def _indices(prefix: str) -> set[str]:
    answer = httpx.get(f"{config.elasticsearch_url()}/_cat/indices/{prefix}*", params={"format": "json"}, timeout=30)
    answer.raise_for_status()
    return {row["index"] for row in answer.json()}


def test_the_backfill_without_the_key_fails_clearly_and_leaves_nothing_behind(stack):
    """operations.md: every run needs INTERNAL_IDENTITY_PRIVATE_KEY[_FILE]. Without it, the run
    stops before creating anything, naming the variable (a review saw it warn, create a new
    memberships index, then die on the first export with a traceback, the index left behind)."""
    prefix = f"{stack.env['SEARCH_INDEX_PREFIX']}memberships"
    before = _indices(prefix)
    run = run_backfill(stack, "--only", "memberships", env={**_without_keys(dict(os.environ)), **stack.env})
    assert run.returncode != 0
    assert "INTERNAL_IDENTITY_PRIVATE_KEY" in run.stderr
    outcome = {"traceback": "Traceback" in run.stderr, "left behind": sorted(_indices(prefix) - before)}
    assert outcome == {"traceback": False, "left behind": []}, run.stderr[-2000:]


def test_remark_relations_runs_as_documented(stack):
    """What held: MONGO_URI and MEMBERS_DB, prints how many it marked, exits 0."""
    run = subprocess.run(
        [sys.executable, "-m", "members.remark_relations"],
        cwd=ROOT / "services" / "members",
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "relations marked in" in run.stdout and stack.env["MEMBERS_DB"] in run.stdout


def test_remark_relations_with_an_unreachable_store_says_so(stack):
    run = subprocess.run(
        [sys.executable, "-m", "members.remark_relations"],
        cwd=ROOT / "services" / "members",
        env={**os.environ, **stack.env, "MONGO_URI": "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=2000"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert "Traceback" not in run.stderr and "remark_relations:" in run.stderr, run.stderr[-2000:]


@pytest.mark.parametrize("value", ["", "enabled"])
def test_an_unreadable_identity_required_stops_the_service_naming_the_variable(stack, value):
    """operations.md: an empty value or anything but true/false/1/0/yes/no/on/off refuses to
    start, with a message naming the variable."""
    argv, cwd = stack.command("moderation")
    public = stack.run_dir / "keys" / "identity-public.pem"
    env = {
        **_without_keys(dict(os.environ)),
        **stack.env,
        "INTERNAL_IDENTITY_PUBLIC_KEY_FILE": str(public),
        "INTERNAL_IDENTITY_REQUIRED": value,
    }
    env.pop("METRICS_PORT", None)
    try:
        run = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired as exc:  # it ran: the setting was taken
        pytest.fail(f"INTERNAL_IDENTITY_REQUIRED={value!r}: the service started and kept running ({exc})")
    assert run.returncode != 0
    out = run.stdout + run.stderr
    assert "INTERNAL_IDENTITY_REQUIRED" in out, out[-2000:]


def test_identity_required_yes_is_on(stack):
    """'yes' is on (documented): the service starts and, with no token, refuses a read about a
    member (a moderation of its own, on a virtual host of its own)."""
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ClusterRpcProxy

    from parentnet_kit import testing

    vhost, amqp = testing.create_vhost("ops-tools")
    argv, cwd = stack.command("moderation")
    env = {
        **_without_keys(dict(os.environ)),
        **stack.env,
        "AMQP_URI": amqp,
        "INTERNAL_IDENTITY_PUBLIC_KEY_FILE": str(stack.run_dir / "keys" / "identity-public.pem"),
        "INTERNAL_IDENTITY_REQUIRED": "yes",
    }
    env.pop("METRICS_PORT", None)
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:

        def refused() -> bool:
            with ClusterRpcProxy({"AMQP_URI": amqp}, timeout=5) as cluster:
                try:
                    cluster.moderation.member_status(member_ids=["someone"])
                except RemoteError as error:
                    return error.exc_type == "Forbidden"
                return False

        from parentnet_kit.testing import wait_for

        def answered() -> bool | None:
            try:
                return refused()
            except Exception:  # noqa: BLE001 - not up yet: no reply within 5 s
                return None

        assert wait_for(lambda: answered() is not None, 30, what="the moderation with yes answering") is not None
        assert refused()
    finally:
        process.terminate()
        process.wait(30)
        testing.delete_vhost(vhost)
