"""The moderation service's storage, behind a nameko DependencyProvider."""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider
from pymongo import MongoClient

from parentnet_kit import querylog
from parentnet_kit.publisher import EventPublisher

from .group_roles import GroupRoles
from .store import HOLD_AFTER, REPORTS_PER_HOUR, ModerationStore


class Moderation(DependencyProvider):
    def setup(self) -> None:
        config = self.container.config
        self.client = MongoClient(
            config["MONGO_URI"], tz_aware=True, serverSelectionTimeoutMS=5000, event_listeners=querylog.listeners()
        )
        self.publisher = EventPublisher(config["AMQP_URI"])
        self.publisher.connect()
        self.store = ModerationStore(
            self.client[config["MODERATION_DB"]],
            self.publisher,
            int(config.get("REPORTS_PER_HOUR", REPORTS_PER_HOUR)),
            int(config.get("HOLD_AFTER_REPORTERS", HOLD_AFTER)),
        )
        self.store.ensure_indexes()

    def stop(self) -> None:
        self.publisher.close()
        self.client.close()

    def get_dependency(self, worker_ctx) -> ModerationStore:  # noqa: ANN001
        return self.store


class RolesCopy:
    """What the members feed applies events to (``parentnet_kit.event_feed``)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.client: MongoClient = MongoClient(config["MONGO_URI"], tz_aware=True, serverSelectionTimeoutMS=5000)
        self.roles = GroupRoles(self.client[config["MODERATION_DB"]])

    def apply(self, event: Any) -> bool:
        return self.roles.apply(event)

    def close(self) -> None:
        self.client.close()
