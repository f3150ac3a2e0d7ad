"""Live domain events for subscriptions: one exclusive queue per gateway process.

The gateway binds its own queue to the events exchange for the few event types that feed
subscriptions and fans each one out to the subscribers in this process. Live delivery is
best effort by nature (a phone that is offline misses it); what must not be lost is kept
by the owning service and read back through queries (the inbox, the outing itself).
A subscriber that cannot keep up loses its oldest messages rather than slowing others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from parentnet_kit.topology import EVENTS_EXCHANGE

from . import open_cities

log = logging.getLogger(__name__)

ROUTING_KEYS = (
    "events.outing_published",
    "events.attendance_changed",
    "events.member_notified",
    "listings.member_notified",
    "moderation.member_notified",
    "conversations.member_notified",
    "conversations.reply_posted",
    "conversations.question_asked",
    "conversations.answer_posted",
    "conversations.message_sent",
    "members.city_opened",  # not for subscribers: tells this process's open_cities to ask again
)
SUBSCRIBER_BUFFER = 100


class EventFeed:
    def __init__(self, amqp_uri: str) -> None:
        self.amqp_uri = amqp_uri
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}

    async def connect(self) -> None:
        self._connection = await aio_pika.connect_robust(self.amqp_uri)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for key in ROUTING_KEYS:
            await queue.bind(exchange, key)
        await queue.consume(self._on_message, no_ack=True)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            event = json.loads(message.body)
            event_type = event["type"]
        except (ValueError, KeyError, TypeError):
            log.warning("feed: skipped a message that is not an event")
            return
        if event_type == "city_opened":
            open_cities.DIRECTORY.changed()
        for queue in self._subscribers.get(event_type, ()):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)

    def publish_locally(self, event: dict[str, Any]) -> None:
        """Hand an event to this process's subscribers (tests; and events this process makes)."""
        for queue in self._subscribers.get(event["type"], ()):
            queue.put_nowait(event)

    async def listen(
        self,
        event_type: str,
        accept: Callable[[dict[str, Any]], bool] = lambda _: True,
        started: asyncio.Event | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Events of ``event_type`` that ``accept`` lets through, from the first ``__anext__``
        on, until the caller stops; ``started`` is set once this listener is registered."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(SUBSCRIBER_BUFFER)
        self._subscribers.setdefault(event_type, set()).add(queue)
        if started is not None:
            started.set()
        try:
            while True:
                event = await queue.get()
                if accept(event):
                    yield event
        finally:
            self._subscribers[event_type].discard(queue)

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())
