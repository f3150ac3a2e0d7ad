"""Start and stop Parentnet's five processes: ``python -m devtools.stack up|down|status``.

The same code starts an isolated stack for the end-to-end tests, with its own RabbitMQ
virtual host, database names and index prefix.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from parentnet_kit import identity, tokens

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
RUN_DIR = ROOT / ".run"
SERVICES = ("members", "events", "listings", "search", "conversations")
SERVICES += ("moderation",)  # reports, queues, actions (issue 19)


def _bin(name: str) -> str:
    candidate = VENV_BIN / name
    return str(candidate) if candidate.exists() else name


@dataclass
class Stack:
    env: dict[str, str]
    run_dir: Path
    gateway_port: int = 8000
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    # Each process's /metrics port (METRICS_PORT), by name; a process not named serves none.
    metrics_ports: dict[str, int] = field(default_factory=dict)

    def metrics_url(self, name: str) -> str:
        """Where process ``name`` serves /metrics (services: /alive and /ready too)."""
        return f"http://127.0.0.1:{self.metrics_ports[name]}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def command(self, name: str) -> tuple[list[str], Path]:
        if name == "gateway":
            return [_bin("python"), "-m", "gateway"], ROOT / "gateway"
        service_dir = ROOT / "services" / name
        # ``nameko run`` that logs JSON from its first line (eventlet's notice included).
        argv = [_bin("python"), "-m", "parentnet_kit.nameko_run", "--config", "config.yml", f"{name}.service"]
        return argv, service_dir

    def auth_keys(self, env: dict[str, str]) -> dict[str, str]:
        """Token keys for members (private) and the gateway (public); a dev pair unless ops give one."""
        if env.get("AUTH_PRIVATE_KEY") or env.get("AUTH_PRIVATE_KEY_FILE"):
            return {}
        private, public = tokens.write_dev_key_pair(self.run_dir / "keys")
        return {"AUTH_PRIVATE_KEY_FILE": str(private), "AUTH_PUBLIC_KEY_FILE": str(public)}

    def identity_keys(self, name: str, env: dict[str, str]) -> dict[str, str]:
        """The internal identity key (parentnet_kit.identity): the private half for the gateway,
        the public half for the services; a dev pair unless ops give one."""
        given = ("INTERNAL_IDENTITY_PRIVATE_KEY", "INTERNAL_IDENTITY_PUBLIC_KEY")
        if any(env.get(k) or env.get(f"{k}_FILE") for k in given):
            return {}
        private, public = identity.write_dev_key_pair(self.run_dir / "keys")
        if name == "gateway":
            return {"INTERNAL_IDENTITY_PRIVATE_KEY_FILE": str(private)}
        return {"INTERNAL_IDENTITY_PUBLIC_KEY_FILE": str(public)}

    def operator_env(self) -> dict[str, str]:
        """What an operator's tool run beside this stack needs (``python -m search.backfill``
        signs its export calls with the identity key, as the gateway does), over ``self.env``."""
        return {**self.env, **self.identity_keys("gateway", {**os.environ, **self.env})}

    def start(self, name: str) -> subprocess.Popen:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        argv, cwd = self.command(name)
        env = {**os.environ, **self.env, "GATEWAY_PORT": str(self.gateway_port), "PYTHONUNBUFFERED": "1"}
        if name in self.metrics_ports:
            env["METRICS_PORT"] = str(self.metrics_ports[name])
        env.update(self.auth_keys(env))
        env.update(self.identity_keys(name, env))
        log = open(self.run_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        (self.run_dir / f"{name}.pid").write_text(str(process.pid))
        self.processes[name] = process
        return process

    def start_all(self) -> None:
        for name in (*SERVICES, "gateway"):
            self.start(name)

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        process = self.processes.pop(name, None)
        pid_file = self.run_dir / f"{name}.pid"
        pid = process.pid if process else (int(pid_file.read_text()) if pid_file.exists() else None)
        pid_file.unlink(missing_ok=True)
        if pid is None:
            return
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                return
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for name in ("gateway", *SERVICES):
            self.stop(name)

    def health(self) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"{self.gateway_url}/health", timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:  # a 500 from a gateway still starting may be plain text
                return error.code, json.loads(error.read() or b"{}")
            except (OSError, ValueError):
                return error.code, {}
        except (urllib.error.URLError, OSError, ValueError):
            return 0, {}

    def wait_healthy(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        body: dict = {}
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    tail = (self.run_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")
            status, body = self.health()
            if status == 200:
                return body
            time.sleep(0.3)
        raise TimeoutError(f"the stack was not healthy within {timeout:g} s: {body}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.stack")
    parser.add_argument("action", choices=("up", "down", "status"))
    args = parser.parse_args()
    stack = Stack(env={}, run_dir=RUN_DIR, gateway_port=int(os.environ.get("GATEWAY_PORT", "8000")))
    if os.environ.get("METRICS_BASE_PORT"):  # 9100: gateway 9100, members 9101, ... conversations 9105
        base = int(os.environ["METRICS_BASE_PORT"])
        stack.metrics_ports = {name: base + i for i, name in enumerate(("gateway", *SERVICES))}
    if args.action == "down":
        for name in ("gateway", *SERVICES):
            stack.stop(name)
        print("stopped the five processes")
        return
    if args.action == "status":
        print(json.dumps(stack.health()[1], indent=2))
        return
    status, _ = stack.health()
    if status == 200:
        print(f"already running at {stack.gateway_url}")
        return
    for name in ("gateway", *SERVICES):  # leftovers of an earlier run
        stack.stop(name)
    stack.start_all()
    try:
        body = stack.wait_healthy(90)
    except (RuntimeError, TimeoutError) as error:
        print(f"FAILED: starting the services: {error}\nFix: see the logs in {RUN_DIR}/", file=sys.stderr)
        sys.exit(1)
    print("all five processes are up:", ", ".join(f"{k} {v}" for k, v in body["parts"].items()))


if __name__ == "__main__":
    main()
