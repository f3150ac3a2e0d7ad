"""Run the gateway under uvicorn: ``python -m gateway``.

Stopping (SIGTERM, as ``docker stop`` and compose send; SIGINT too) drains first:

1. ``/ready`` answers 503 (``draining``) while the gateway goes on serving everything, for
   ``GATEWAY_DRAIN_SECONDS`` (default 5): long enough for a load balancer's readiness checks to
   take this instance out and send new requests to the others.
2. Then uvicorn's graceful shutdown: it stops listening, closes idle keep-alive connections,
   lets every request in flight finish (up to ``GATEWAY_SHUTDOWN_TIMEOUT`` seconds, default 30:
   a mutation's RPC deadline), and closes each websocket with code 1012 ("Service Restart",
   RFC 6455 §7.4.1): a client reconnects, to another instance, and subscribes again.
3. The app's shutdown closes its RabbitMQ connections.

A second signal during step 1 skips the rest of the wait. The whole stop takes at most the two
settings together (35 s by default): compose's ``stop_grace_period`` for the gateway is longer.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from types import FrameType

import uvicorn

from parentnet_kit.logging_setup import configure

from .app import DRAIN

log = logging.getLogger("gateway")

# Seconds an idle HTTP keep-alive connection is kept open (``GATEWAY_KEEP_ALIVE_SECONDS``).
KEEP_ALIVE_SECONDS = 75


class DrainingServer(uvicorn.Server):
    """uvicorn's server, with a readiness drain before its graceful shutdown (module docstring)."""

    def __init__(self, config: uvicorn.Config, drain_seconds: float) -> None:
        super().__init__(config)
        self.drain_seconds = drain_seconds
        self.drain_until: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain_until is None and self.drain_seconds > 0:
            self._captured_signals.append(sig)
            self.drain_until = time.monotonic() + self.drain_seconds
            DRAIN.begin()
            log.info(
                "draining: /ready answers 503 for %g s, then graceful shutdown",
                self.drain_seconds,
                extra={"signal": signal.Signals(sig).name},
            )
            return
        self.drain_until = time.monotonic()  # a second signal: stop waiting
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self.drain_until is not None and time.monotonic() >= self.drain_until:
            self.should_exit = True
        return await super().on_tick(counter)


def main() -> None:
    configure("gateway")
    config = uvicorn.Config(
        "gateway.app:create_app",
        factory=True,
        host=os.environ.get("GATEWAY_HOST", "127.0.0.1"),
        port=int(os.environ.get("GATEWAY_PORT", "8000")),
        log_config=None,
        access_log=False,
        # A websocket message may be as large as an HTTP body (the app checks it too); uvicorn's
        # default of 16 MB let a 10 MB document through to be parsed.
        ws_max_size=int(os.environ.get("GATEWAY_MAX_BODY_BYTES") or 64 * 1024) + 1024,
        timeout_graceful_shutdown=int(os.environ.get("GATEWAY_SHUTDOWN_TIMEOUT") or 30),  # whole seconds (uvicorn)
        # How long an idle keep-alive connection stays open. uvicorn's default (5 s) equals
        # httpx's pool expiry (5 s): a client reusing a connection just as the server closed it
        # got "Server disconnected without sending a response" (the at-volume join test, stop 28).
        # Longer than a balancer's idle timeout too (AWS ALB: 60 s), as nginx's default 75 s is.
        timeout_keep_alive=int(os.environ.get("GATEWAY_KEEP_ALIVE_SECONDS") or KEEP_ALIVE_SECONDS),
    )
    DrainingServer(config, float(os.environ.get("GATEWAY_DRAIN_SECONDS") or 5)).run()


if __name__ == "__main__":
    main()
