"""Measurement 3: a nameko echo RPC vs a raw AMQP request-reply, the same client calling both."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from pika.exceptions import UnroutableError

from bench.amqp_client import BlockingRpc
from bench.echo_raw import NAME as RAW

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@contextlib.contextmanager
def echo_servers(amqp_uri: str, log_dir: Path) -> Iterator[None]:
    env = {**os.environ, "AMQP_URI": amqp_uri, "PYTHONPATH": f"{HERE}:{ROOT / 'kit'}"}
    nameko = [str(ROOT / ".venv" / "bin" / "nameko"), "run", "--config", "echo_config.yml", "echo_nameko"]
    raw = [sys.executable, "echo_raw.py", amqp_uri]
    log = open(log_dir / "echo.log", "ab")  # noqa: SIM115 - closed below
    servers = [
        subprocess.Popen(argv, cwd=HERE, env=env, stdout=log, stderr=subprocess.STDOUT) for argv in (nameko, raw)
    ]
    try:
        yield
    finally:
        for server in servers:
            server.terminate()
            server.wait(15)
        log.close()


def measure(amqp_uri: str, log_dir: Path, calls: int = 2000) -> dict[str, float]:
    payload = {"id": "o123", "title": "Pique-nique au parc", "tags": list(range(20))}
    with echo_servers(amqp_uri, log_dir):
        client = BlockingRpc(amqp_uri)
        deadline = time.monotonic() + 60
        for service in ("bench_echo", RAW):
            while True:  # each server is up once it answers
                try:
                    client.call(service, "echo", payload)
                    break
                except UnroutableError:  # until its queue exists
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        for _ in range(200):  # warm-up
            client.call("bench_echo", "echo", payload), client.call(RAW, "echo", payload)
        nameko_ms, raw_ms = [], []
        for _ in range(calls):  # interleaved
            t0 = time.perf_counter()
            assert client.call("bench_echo", "echo", payload) == payload
            t1 = time.perf_counter()
            assert client.call(RAW, "echo", payload) == payload
            t2 = time.perf_counter()
            nameko_ms.append((t1 - t0) * 1000)
            raw_ms.append((t2 - t1) * 1000)
        client.close()
    return {"nameko p50": statistics.median(nameko_ms), "raw p50": statistics.median(raw_ms)}
