"""A service stopped with SIGTERM finishes what it is running and runs nothing twice: RPCs and
event handlers.

Two instances of a small service (``napper``, run by ``parentnet_kit.nameko_run`` as every
service is) share its RPC queue; calls that take 3 s are in hand on the first when it gets
SIGTERM, and so are event handlers that take 3 s. Each call must be answered, each event
handled, and each must have run exactly once: a message whose
acknowledgement is lost at shutdown is redelivered by RabbitMQ to the other instance and runs
again (what nameko 2.14 did before ``nameko_run.drain_first``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

from devtools.stack import VENV_BIN
from gateway.rpc import RpcClient
from parentnet_kit import testing

HERE = Path(__file__).resolve().parent


def start(config: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    argv = [str(VENV_BIN / "python"), "-m", "parentnet_kit.nameko_run", "--config", str(config), "napper.service"]
    with open(log, "ab") as out:
        return subprocess.Popen(argv, cwd=HERE, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


PUBLISH = """
import sys
from nameko.standalone.events import event_dispatcher
dispatch = event_dispatcher({"AMQP_URI": sys.argv[1]})
for token in sys.argv[2:]:
    dispatch("napper_source", "nap_requested", {"seconds": 3, "token": token})
"""


def publish(amqp_uri: str, tokens: list[str]) -> None:
    """Publish one ``nap_requested`` event per token, as nameko's own dispatcher does."""
    subprocess.run([str(VENV_BIN / "python"), "-c", PUBLISH, amqp_uri, *tokens], check=True, timeout=60)


def lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def test_sigterm_drains_running_rpcs_and_none_runs_twice(tmp_path):
    vhost, amqp_uri = testing.create_vhost("drain")
    config = tmp_path / "config.yml"
    config.write_text(f"AMQP_URI: '{amqp_uri}'\nmax_workers: 10\n")
    naps = tmp_path / "naps.log"
    env = {**os.environ, "NAP_LOG": str(naps), "PYTHONUNBUFFERED": "1"}
    first = start(config, env, tmp_path / "first.log")
    second = None

    async def scenario() -> list[int]:
        nonlocal second
        rpc = RpcClient(amqp_uri, default_timeout=30)
        await rpc.connect()
        try:

            async def answered(pid_wanted: int) -> bool:
                pid = await rpc.call("napper", "nap", 0, f"warm-{uuid.uuid4().hex[:6]}", timeout=10)
                return pid == pid_wanted

            await wait_answer(lambda: answered(first.pid), "the first instance answering")
            second = start(config, env, tmp_path / "second.log")
            await wait_answer(lambda: answered(second.pid), "the second instance answering")
            tokens = [f"slow-{n}" for n in range(8)]
            calls = [asyncio.ensure_future(rpc.call("napper", "nap", 3, token, timeout=30)) for token in tokens]
            await asyncio.to_thread(publish, amqp_uri, EVENTS)
            # SIGTERM once the first instance has some of each in hand.
            await wait_answer(
                lambda: started_on(first.pid, naps, "slow-") >= 2 and started_on(first.pid, naps, "event-") >= 2,
                "the first instance running slow calls and handlers",
                is_async=False,
            )
            os.kill(first.pid, signal.SIGTERM)
            return await asyncio.gather(*calls)
        finally:
            await rpc.close()

    try:
        pids = asyncio.run(scenario())
        assert first.wait(30) == 0, "the first instance did not exit cleanly after SIGTERM"
        wait_answer_sync(lambda: set(EVENTS) <= ended_now(naps), "every event handled")
        slow = [entry for entry in lines(naps) if entry[1].startswith(("slow-", "event-"))]
        runs = Counter(token for what, token, _pid in slow if what == "start")
        assert set(runs) == {f"slow-{n}" for n in range(8)} | set(EVENTS)
        twice = {token: n for token, n in runs.items() if n > 1}
        assert not twice, f"run more than once (redelivered after SIGTERM): {twice}\n{slow}"
        finished_by_first = {t.split("-")[0] for what, t, pid in slow if what == "end" and int(pid) == first.pid}
        assert finished_by_first == {"slow", "event"}, f"the first instance finished only {finished_by_first}"
        assert first.pid in pids, "no caller got its answer from the stopping instance"
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
        testing.delete_vhost(vhost)


EVENTS = [f"event-{n}" for n in range(8)]


def started_on(pid: int, naps: Path, prefix: str) -> int:
    return sum(1 for what, token, p in lines(naps) if what == "start" and token.startswith(prefix) and int(p) == pid)


def ended_now(naps: Path) -> set[str]:
    return {token for what, token, _pid in lines(naps) if what == "end"}


def wait_answer_sync(probe, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s")
        time.sleep(0.05)


async def wait_answer(probe, what: str, timeout: float = 30, is_async: bool = True) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:
            if (await probe()) if is_async else probe():
                return
        except Exception:  # noqa: BLE001 - not up yet: try again until the deadline
            pass
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{what}: not within {timeout:g} s")
