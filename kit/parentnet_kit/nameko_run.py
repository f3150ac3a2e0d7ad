"""``nameko run``, logging JSON from its first line: ``python -m parentnet_kit.nameko_run
--config config.yml events.service`` (the same arguments as ``nameko run``).

``nameko run`` imports eventlet before it reads the config's LOGGING, and eventlet prints its
deprecation notice as plain text at import: the first lines of every service's log were not
JSON, and a log shipper parsing JSON choked on them. Here logging is set up first and
warnings go through it, so that notice is one JSON line (logger ``py.warnings``) like the rest.

Graceful shutdown (SIGTERM, as ``docker stop`` and compose send): nameko stops every entrypoint
(its consumers are cancelled, so the broker delivers nothing new to this process and sends the
rest of the queue to the other instances), waits for its running workers, then stops. But in
nameko 2.14 the shared queue consumer closes its AMQP connection as soon as its last consumer is
cancelled, *before* those workers finish: their acknowledgements are then dropped ("the message
will already have been reclaimed by the broker") and the broker redelivers every request and
event they were handling to another instance, which runs it a second time (harmless, since
Parentnet's handlers are idempotent, but twice the work and twice the reply). ``drain_first``
keeps the connection until the workers and the threads starting them are done, so each
acknowledgement goes out on the channel its message came on. A worker that is still running
when the orchestrator's grace period ends (compose ``stop_grace_period``) dies with the process
and its message is redelivered, as after a crash.

Reconnecting (a RabbitMQ restart): nameko's queue consumer reconnects through kombu's
``ensure_connection`` with kombu's default backoff, 2 s then 4, 6, 8 ... up to 30 s between
attempts. The longer the broker was away, the longer a service stayed away after it came back:
measured in tests/reliability/test_broker_restart.py, a broker down for 13 s had the services
back 6 s after it (the gateway refused every request meanwhile: nobody consumed ``rpc-<service>``).
``reconnect_promptly`` makes that an attempt every ``RECONNECT_SECONDS``; an attempt that is
refused costs the broker one TCP connection, nothing when it is away.

Collector pauses: once the runner has started the containers, ``freeze_once_started`` moves what
start-up made out of CPython's full collections (``parentnet_kit.gc_tuning``): each such walk
paused the whole service for 40 to 165 ms in the soak.
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from typing import Any

from . import gc_tuning
from .logging_setup import configure

log = logging.getLogger("parentnet_kit.nameko_run")

# Seconds between two attempts of a service's queue consumer to reach the broker again.
RECONNECT_SECONDS = 1.0


def busy(container: Any) -> int:
    """How many workers of ``container`` run, plus the threads about to start one (a delivered
    message's ``handle_message``)."""
    starting = sum(1 for ident in container._managed_threads.values() if ident and ".handle_message[" in ident)
    return container._worker_pool.running() + starting


def drain_first() -> None:
    """Make nameko's queue consumer keep its connection until its container's workers are done
    (see the module's docstring). Idempotent."""
    from nameko.messaging import QueueConsumer

    if getattr(QueueConsumer, "_parentnet_drains", False):
        return

    def on_iteration(self: QueueConsumer) -> None:
        self._cancel_consumers_if_requested()
        if len(self._consumers) == 0:
            running = busy(self.container)
            if running:
                if not getattr(self, "_parentnet_draining", False):
                    self._parentnet_draining = True
                    log.info("draining: consumers cancelled, waiting for %d running workers", running)
                return
            self.should_stop = True

    QueueConsumer.on_iteration = on_iteration
    QueueConsumer._parentnet_drains = True


def reconnect_promptly() -> None:
    """Make nameko's queue consumer try to reach the broker again every ``RECONNECT_SECONDS``
    instead of kombu's growing backoff (see the module's docstring). Idempotent."""
    from nameko.messaging import QueueConsumer

    if getattr(QueueConsumer, "_parentnet_reconnects_promptly", False):
        return

    @contextmanager
    def establish_connection(self: QueueConsumer) -> Any:
        # kombu's ConsumerMixin.establish_connection, with the retry intervals given.
        with self.create_connection() as conn:
            conn.ensure_connection(
                self.on_connection_error,
                self.connect_max_retries,
                interval_start=RECONNECT_SECONDS,
                interval_step=0,
                interval_max=RECONNECT_SECONDS,
            )
            yield conn

    QueueConsumer.establish_connection = establish_connection
    QueueConsumer._parentnet_reconnects_promptly = True


def freeze_once_started() -> None:
    """Once nameko's runner has started the service's containers, freeze what start-up made out
    of the collector's full walks (``parentnet_kit.gc_tuning``). Idempotent."""
    from nameko.runners import ServiceRunner

    if getattr(ServiceRunner, "_parentnet_freezes", False):
        return
    start = ServiceRunner.start

    def start_then_freeze(self: ServiceRunner) -> None:
        start(self)
        gc_tuning.freeze()

    ServiceRunner.start = start_then_freeze
    ServiceRunner._parentnet_freezes = True


def main(argv: list[str] | None = None) -> int:
    """Run nameko's CLI with ``run`` and ``argv`` (default: this process's arguments);
    returns its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    modules = [a for a in args if not a.startswith("-") and a.endswith(".service")]
    configure(modules[0].split(".")[0] if modules else "nameko")

    from nameko.cli.main import main as nameko_main  # imports eventlet: after logging is set

    drain_first()
    reconnect_promptly()
    freeze_once_started()

    sys.argv = ["nameko", "run", *args]
    return nameko_main() or 0


if __name__ == "__main__":
    sys.exit(main())
