"""The conversations service's storage, behind a nameko DependencyProvider."""

from __future__ import annotations

from nameko.extensions import DependencyProvider
from pymongo import MongoClient

from parentnet_kit import querylog
from parentnet_kit.publisher import EventPublisher

from .limits import Limits
from .store import ConversationStore


class Conversations(DependencyProvider):
    def setup(self) -> None:
        config = self.container.config
        self.client = MongoClient(
            config["MONGO_URI"], tz_aware=True, serverSelectionTimeoutMS=5000, event_listeners=querylog.listeners()
        )
        self.publisher = EventPublisher(config["AMQP_URI"])
        self.publisher.connect()
        self.store = ConversationStore(
            self.client[config["CONVERSATIONS_DB"]], self.publisher, Limits.from_config(config)
        )
        self.store.ensure_indexes()

    def stop(self) -> None:
        self.publisher.close()
        self.client.close()

    def get_dependency(self, worker_ctx) -> ConversationStore:  # noqa: ANN001
        return self.store
