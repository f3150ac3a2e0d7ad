"""The events service's storage, behind a nameko DependencyProvider."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nameko.extensions import DependencyProvider
from pymongo import MongoClient

from parentnet_kit.envelope import Event
from parentnet_kit.outbox import AggregateStore
from parentnet_kit.publisher import EventPublisher

from . import domain

SOURCE = "events"


class NotFound(LookupError):
    pass


class OutingStore:
    """Domain-level operations on outings; one per worker, sharing connections."""

    def __init__(self, store: AggregateStore) -> None:
        self.store = store

    def create(self, clean: dict[str, Any], organizer_id: str | None) -> dict[str, Any]:
        now = datetime.now(UTC)
        state = domain.new_outing_state(clean, organizer_id, now)
        view = domain.public_view(state)
        event = Event(
            type="outing_published",
            source=SOURCE,
            aggregate_id=state["_id"],
            version=state["version"],
            city=state["city"],
            data=view,
        )
        self.store.commit(state, event)
        return view

    def get(self, outing_id: str) -> dict[str, Any]:
        state = self.store.get(outing_id)
        if state is None:
            raise NotFound(outing_id)
        return domain.public_view(state)

    def get_many(self, outing_ids: list[str]) -> list[dict[str, Any] | None]:
        found = {doc["_id"]: doc for doc in self.store.aggregates.find({"_id": {"$in": list(outing_ids)}})}
        return [domain.public_view(found[i]) if i in found else None for i in outing_ids]

    def export_page(self, after: str | None, size: int) -> list[dict[str, Any]]:
        query = {"_id": {"$gt": after}} if after else {}
        return [domain.public_view(doc) for doc in self.store.aggregates.find(query).sort("_id", 1).limit(size)]

    def relay_pending(self) -> int:
        return self.store.relay_pending()


class Outings(DependencyProvider):
    def setup(self) -> None:
        config = self.container.config
        self.client = MongoClient(config["MONGO_URI"], tz_aware=True, serverSelectionTimeoutMS=5000)
        self.publisher = EventPublisher(config["AMQP_URI"])
        self.publisher.connect()
        self.store = AggregateStore(self.client[config["EVENTS_DB"]], "outings", self.publisher)
        self.store.ensure_indexes()

    def stop(self) -> None:
        self.publisher.close()
        self.client.close()

    def get_dependency(self, worker_ctx) -> OutingStore:  # noqa: ANN001
        return OutingStore(self.store)
