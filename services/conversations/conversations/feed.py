"""Consumes the facts this service keeps copies of, from its own durable queue
``conversations.copies`` (``parentnet_kit.topology``): members' groups, memberships and blocks,
and moderation's decisions. A message is acked only after it was applied; one that fails is
retried through the queue's retry queue, then dead-lettered (``CityConsumer``'s machinery).
Applying twice changes nothing (copies and decisions are kept by version).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from nameko.extensions import DependencyProvider
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from parentnet_kit.city_feed import CityConsumer
from parentnet_kit.envelope import Event, MalformedEvent
from parentnet_kit.publisher import EventPublisher

from .copies import MEMBERS_EVENTS, MODERATION_EVENTS
from .store import ConversationStore

log = logging.getLogger(__name__)
QUEUE = "conversations.copies"


class _Quiet:
    """Nothing to refresh between messages (the copies are read from the store each time)."""

    def refresh_if_changed(self) -> None:
        return None


def apply(store: ConversationStore, event: Event) -> None:
    """Apply one event of members or moderation to the store (others are ignored)."""
    if event.source == "members" and event.type in MEMBERS_EVENTS:
        store.copies.apply_members(event)
    elif event.source == "moderation" and event.type in MODERATION_EVENTS:
        store.apply_moderation(event)


class CopiesConsumer(CityConsumer):
    def __init__(self, amqp_uri: str, store: ConversationStore) -> None:
        super().__init__(amqp_uri, QUEUE, _Quiet())  # type: ignore[arg-type]
        self.store = store

    def _handle(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        try:
            event = Event.from_dict(orjson.loads(body))
        except (orjson.JSONDecodeError, MalformedEvent) as exc:
            log.error("copies feed: dead-lettering a malformed message: %s", exc)
            channel.basic_nack(method.delivery_tag, requeue=False)
            return
        try:
            apply(self.store, event)
        except PyMongoError:
            raise  # the store is away: unacked, back on reconnect
        except (KeyError, TypeError, ValueError, AssertionError) as exc:
            self._retry_or_dead_letter(channel, method, properties, body, repr(exc))
            return
        channel.basic_ack(method.delivery_tag)


class Copies(DependencyProvider):
    """Runs the consumer in a managed thread with a store of its own (its own client and publisher)."""

    def setup(self) -> None:
        config = self.container.config
        self.client: MongoClient = MongoClient(config["MONGO_URI"], tz_aware=True, serverSelectionTimeoutMS=5000)
        self.publisher = EventPublisher(config["AMQP_URI"])
        self.publisher.connect()
        store = ConversationStore(self.client[config["CONVERSATIONS_DB"]], self.publisher)
        self.consumer = CopiesConsumer(config["AMQP_URI"], store)

    def start(self) -> None:
        self.thread = self.container.spawn_managed_thread(self.consumer.run, identifier="conversations-copies")

    def stop(self) -> None:
        self.consumer.stop()
        self.thread.wait()
        self.publisher.close()
        self.client.close()

    def kill(self) -> None:
        self.consumer.stop()

    def get_dependency(self, worker_ctx) -> None:  # noqa: ANN001
        return None
