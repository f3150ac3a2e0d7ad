"""Events every instance of a service hears, each its own copy: for what a process keeps in
memory that another instance may change (members' profiles kept for pages, ``members.store``).

The domain's consumers (``topology.CONSUMERS``) share one durable queue per consumer, so each
event reaches one instance of it. A cache needs the opposite: every process hears every change.
``Broadcast`` binds a queue of the process's own (named by the server, exclusive, deleted with
its connection) to the events exchange for the given routing keys and calls ``handle(event)``
for each event it receives, acked on receipt (nothing is retried: a cache that misses an event
still has its own expiry). While the process is disconnected, events are not kept for it, so
``on_gap()`` is called each time it (re)connects, before any event: a cache forgets everything
it holds then.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import orjson
import pika
from pika.exceptions import AMQPError

from .envelope import Event, MalformedEvent
from .topology import EVENTS_EXCHANGE

log = logging.getLogger(__name__)
IDLE_SECONDS = 1.0  # how often the loop looks whether it should stop


class Broadcast:
    """The loop, apart from nameko: run it in a thread (``run``), end it with ``stop``."""

    def __init__(
        self, amqp_uri: str, keys: Iterable[str], handle: Callable[[Event], Any], on_gap: Callable[[], Any]
    ) -> None:
        self.params = pika.URLParameters(amqp_uri)
        self.keys = tuple(keys)
        self.handle = handle
        self.on_gap = on_gap
        self.stopping = threading.Event()
        self.listening = threading.Event()  # set while a queue of ours is bound (tests wait on it)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._listen()
            except (AMQPError, OSError) as exc:
                log.warning("broadcast %s: %r; reconnecting", ",".join(self.keys), exc)
                self.stopping.wait(1.0)
            finally:
                self.listening.clear()

    def stop(self) -> None:
        self.stopping.set()

    def _listen(self) -> None:
        connection = pika.BlockingConnection(self.params)
        try:
            channel = connection.channel()
            channel.exchange_declare(EVENTS_EXCHANGE, exchange_type="topic", durable=True)
            queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
            for key in self.keys:
                channel.queue_bind(queue, EVENTS_EXCHANGE, routing_key=key)
            self.on_gap()  # after binding: what changed before now is forgotten, what comes next is heard
            self.listening.set()
            for method, _properties, body in channel.consume(queue, auto_ack=True, inactivity_timeout=IDLE_SECONDS):
                if self.stopping.is_set():
                    break
                if method is None:
                    continue
                try:
                    self.handle(Event.from_dict(orjson.loads(body)))
                except (orjson.JSONDecodeError, MalformedEvent, KeyError, TypeError, ValueError) as exc:
                    log.warning("broadcast: skipped a message: %r", exc)
        finally:
            if connection.is_open:
                connection.close()
