"""A nameko service's consumer of other services' events, from its own durable queue.

``CityConsumer`` (``city_feed``) does this for the open cities; this is the same loop for any
handler: ``handle(event)`` applies one event (at most once: the handler keys what it writes by
the event's aggregate and version), and the message is acked only after it returns. Every event
is checked against the event catalogue first (``contract.events.check``, role ``consumed``). A handler
that raises ``KeyError``, ``TypeError`` or ``ValueError`` sends the message through the queue's
retry queue, then to its dead-letter queue after ``topology.MAX_ATTEMPTS``; a store that is away
(``PyMongoError``) leaves it unacked, to come back on reconnect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from nameko.extensions import DependencyProvider
from pymongo.errors import PyMongoError

from .city_feed import CityConsumer
from .contract import events as contract_events
from .envelope import Event, MalformedEvent

log = logging.getLogger(__name__)


class _Quiet:
    """What the city loop calls between messages: nothing to refresh here."""

    def refresh_if_changed(self) -> bool:
        return False


class EventConsumer(CityConsumer):
    """The consuming loop (tests can run it in a thread): ``handle`` is called once per delivery."""

    def __init__(self, amqp_uri: str, queue: str, handle: Callable[[Event], Any]) -> None:
        super().__init__(amqp_uri, queue, _Quiet())  # type: ignore[arg-type]
        self.handle = handle

    def _handle(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        try:
            event = Event.from_dict(orjson.loads(body))
        except (orjson.JSONDecodeError, MalformedEvent) as exc:
            log.error("event feed %s: dead-lettering a malformed message: %s", self.queue.name, exc)
            channel.basic_nack(method.delivery_tag, requeue=False)
            return
        # As every consumer: an event off the catalogue is logged and counted, and still handled.
        contract_events.check(event, "consumed")
        try:
            self.handle(event)
        except PyMongoError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            self._retry_or_dead_letter(channel, method, properties, body, repr(exc))
            return
        channel.basic_ack(method.delivery_tag)


class EventFeed(DependencyProvider):
    """Runs an ``EventConsumer`` on ``queue`` (a name in ``topology.CONSUMERS``) in a managed
    thread of the service, calling ``make_handler(container_config)(event)`` for each event.
    Workers get the handler's owner (whatever ``make_handler`` returned, e.g. a copy to read)."""

    def __init__(self, queue: str, make_handler: Callable[[dict[str, Any]], Any]) -> None:
        self.queue = queue
        self.make_handler = make_handler

    def setup(self) -> None:
        self.handler = self.make_handler(self.container.config)
        self.consumer = EventConsumer(self.container.config["AMQP_URI"], self.queue, self.handler.apply)

    def start(self) -> None:
        self.thread = self.container.spawn_managed_thread(self.consumer.run, identifier=f"{self.queue}-feed")

    def stop(self) -> None:
        self.consumer.stop()
        self.thread.wait()
        close = getattr(self.handler, "close", None)
        if close is not None:
            close()

    def kill(self) -> None:
        self.consumer.stop()

    def get_dependency(self, worker_ctx) -> Any:  # noqa: ANN001
        return self.handler
