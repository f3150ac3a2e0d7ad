"""A service stopped with SIGTERM finishes what it is running and runs nothing twice.

Two instances of a small service (``napper``, run by ``parentnet_kit.nameko_run`` as every
service is) share its RPC queue; calls that take 3 s are in hand on the first when it gets
SIGTERM. Each call must be answered, and each must have run exactly once: a request whose
acknowledgement is lost at shutdown is redelivered by RabbitMQ to the other instance and runs
again (what nameko 2.14 did before ``nameko_run.drain_first``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
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
            # SIGTERM once the first instance has some of them in hand.
            await wait_answer(
                lambda: started_on(first.pid, naps) >= 2, "the first instance running slow calls", is_async=False
            )
            os.kill(first.pid, signal.SIGTERM)
            return await asyncio.gather(*calls)
        finally:
            await rpc.close()

    try:
        pids = asyncio.run(scenario())
        assert first.wait(30) == 0, "the first instance did not exit cleanly after SIGTERM"
        slow = [entry for entry in lines(naps) if entry[1].startswith("slow-")]
        runs = Counter(token for what, token, _pid in slow if what == "start")
        assert set(runs) == {f"slow-{n}" for n in range(8)}
        twice = {token: n for token, n in runs.items() if n > 1}
        assert not twice, f"run more than once (redelivered after SIGTERM): {twice}\n{slow}"
        finished_by_first = [t for what, t, pid in slow if what == "end" and int(pid) == first.pid]
        assert finished_by_first, "the first instance finished none of the calls it had in hand"
        assert first.pid in pids, "no caller got its answer from the stopping instance"
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
        testing.delete_vhost(vhost)


def started_on(pid: int, naps: Path) -> int:
    return sum(1 for what, token, p in lines(naps) if what == "start" and token.startswith("slow-") and int(p) == pid)


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
