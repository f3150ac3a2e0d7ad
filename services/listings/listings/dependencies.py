"""The listings service's storage, behind a nameko DependencyProvider."""

from __future__ import annotations

from nameko.extensions import DependencyProvider
from pymongo import MongoClient

from parentnet_kit import querylog
from parentnet_kit.publisher import EventPublisher

from .store import WANTED_PER_DAY, ListingStore


class Listings(DependencyProvider):
    def setup(self) -> None:
        config = self.container.config
        self.client = MongoClient(
            config["MONGO_URI"], tz_aware=True, serverSelectionTimeoutMS=5000, event_listeners=querylog.listeners()
        )
        self.publisher = EventPublisher(config["AMQP_URI"])
        self.publisher.connect()
        wanted_per_day = int(config.get("WANTED_PER_DAY", WANTED_PER_DAY))
        self.store = ListingStore(self.client[config["LISTINGS_DB"]], self.publisher, wanted_per_day)
        self.store.ensure_indexes()

    def stop(self) -> None:
        self.publisher.close()
        self.client.close()

    def get_dependency(self, worker_ctx) -> ListingStore:  # noqa: ANN001
        return self.store
