"""Measurement 3, the nameko side: a service whose only RPC returns what it was sent.

Run as the services run: ``nameko run --config <config> echo_nameko`` from bench/, with the
same resilient ``@rpc`` the services use, so the hop measured is the one they pay.
"""

from __future__ import annotations

from typing import Any

from parentnet_kit.nameko_rpc import rpc


class BenchEcho:
    name = "bench_echo"

    @rpc
    def echo(self, payload: Any) -> Any:
        return payload
