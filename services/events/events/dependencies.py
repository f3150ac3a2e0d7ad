"""The events service's nameko DependencyProvider: connections and stores made once per process,
an ``OutingStore`` (``events.outings``, the application layer) handed to each worker."""

from __future__ import annotations

from nameko.extensions import DependencyProvider
from pymongo import MongoClient
from pymongo.database import Database

from parentnet_kit import querylog
from parentnet_kit.inbox import Inbox
from parentnet_kit.outbox import AggregateStore
from parentnet_kit.publisher import EventPublisher

from .attendance import Attendance
from .calendar_feeds import CalendarFeeds
from .coop import Coop
from .my_outings import MemberOutings
from .outings import SOURCE, NotFound, OutingStore
from .trips import Trips

__all__ = ["NotFound", "OutingStore", "Outings"]


class Outings(DependencyProvider):
    def setup(self) -> None:
        config = self.container.config
        self.client = MongoClient(
            config["MONGO_URI"], tz_aware=True, serverSelectionTimeoutMS=5000, event_listeners=querylog.listeners()
        )
        self.publisher = EventPublisher(config["AMQP_URI"])
        self.publisher.connect()
        db: Database = self.client[config["EVENTS_DB"]]
        self.store = AggregateStore(db, "outings", self.publisher)
        self.store.ensure_indexes()
        self.attendance = Attendance(db)
        self.attendance.ensure_indexes()
        self.inbox = Inbox(AggregateStore(db, "inbox", self.publisher, outbox="inbox_outbox"), SOURCE)
        self.inbox.ensure_indexes()
        self.coop = Coop(db, self.publisher)
        self.coop.ensure_indexes()
        self.trips = Trips(db, self.inbox.notify, self.publisher)
        self.trips.ensure_indexes()
        self.mine = MemberOutings(db)
        self.mine.ensure_indexes()
        self.feeds = CalendarFeeds(db)

    def stop(self) -> None:
        self.publisher.close()
        self.client.close()

    def get_dependency(self, worker_ctx) -> OutingStore:  # noqa: ANN001
        return OutingStore(self.store, self.attendance, self.inbox, self.coop, self.trips, self.mine, self.feeds)
