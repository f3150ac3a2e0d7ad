"""Publishing domain events so that none is silently lost.

Every publish waits for the broker's confirm and is ``mandatory``: an event that no queue
takes comes back as an error (nameko's own publisher confirms but isn't mandatory, so such
an event is confirmed and dropped). Callers treat any exception as "not published" and
leave the event in their outbox for the sweeper.

One exception: an event of the catalogue that no service keeps a queue for
(``topology.durable_consumers`` is empty, e.g. ``conversations.conversation_started``) has only
live listeners, a gateway's subscription feed while one runs. With none running, it comes back
unroutable and is published all the same: nobody is owed it, and retrying it every 2 s forever
kept the outbox's lag alarm on (review 8: 936 retries of one message's event in 31 minutes).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading

import pika
from pika.exceptions import AMQPError

from . import metrics, topology
from .contract import events as contract_events
from .envelope import Event

log = logging.getLogger(__name__)


class PublishFailed(RuntimeError):
    """The broker did not confirm the event; it must stay in the outbox."""


class EventPublisher:
    """A thread-safe (and green-thread-safe under eventlet) confirming publisher."""

    def __init__(self, amqp_uri: str, *, declare_topology: bool = True) -> None:
        self._params = pika.URLParameters(amqp_uri)
        self._params.heartbeat = 0 if self._params.heartbeat is None else self._params.heartbeat
        self._params.blocked_connection_timeout = 10
        self._declare = declare_topology
        self._lock = threading.Lock()
        self._connection: pika.BlockingConnection | None = None
        self._channel = None

    def _ensure_channel(self):  # noqa: ANN202
        if self._channel is not None and self._channel.is_open and self._connection.is_open:
            return self._channel
        self.close()
        self._connection = pika.BlockingConnection(self._params)
        channel = self._connection.channel()
        channel.confirm_delivery()
        if self._declare:
            topology.declare(channel)
        self._channel = channel
        return channel

    def connect(self) -> None:
        """Connect now and declare the topology: queues exist before the first event."""
        with self._lock:
            self._ensure_channel()

    def publish(self, event: Event) -> None:
        """Publish ``event`` (confirmed, mandatory), checked against the event catalogue first
        (an event off it is logged and counted, and still published). Raises ``PublishFailed``."""
        contract_events.check(event, "published")
        body = json.dumps(event.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()
        properties = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=event.event_id,
            type=event.type,
        )
        with self._lock:
            for attempt in (1, 2):
                try:
                    channel = self._ensure_channel()
                    channel.basic_publish(
                        topology.EVENTS_EXCHANGE,
                        event.routing_key,
                        body,
                        properties,
                        mandatory=True,
                    )
                    break
                except pika.exceptions.UnroutableError as exc:
                    if event.routing_key in contract_events.CATALOGUE and not topology.durable_consumers(
                        event.routing_key
                    ):
                        metrics.EVENTS_UNHEARD.labels(event.type).inc()
                        break  # live listeners only, and none is running: nobody is owed it
                    raise PublishFailed(f"no queue takes {event.routing_key}") from exc
                except pika.exceptions.NackError as exc:
                    raise PublishFailed(f"broker refused {event.event_id}") from exc
                except (AMQPError, OSError) as exc:
                    self.close()
                    if attempt == 2:
                        raise PublishFailed(f"broker unreachable: {exc!r}") from exc
                    log.warning("reconnecting to publish %s", event.type)
        metrics.EVENTS_PUBLISHED.labels(event.type).inc()
        log.info(
            "event published",
            extra={
                "request_id": event.request_id,
                "fields": {"event_type": event.type, "event_id": event.event_id, "version": event.version},
            },
        )

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            with contextlib.suppress(AMQPError, OSError):
                connection.close()
