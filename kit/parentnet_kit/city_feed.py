"""Keeps a nameko service's city copy current: consumes ``members.city_opened`` from the
service's own durable queue (``<service>.cities`` in ``topology``) and re-reads the copy when
another instance of the service applied an event.

A message is acked only after the copy has it. One that fails is retried through the queue's
retry queue, then dead-lettered after ``topology.MAX_ATTEMPTS``; the others keep flowing. Between
messages (every ``REFRESH_SECONDS`` of quiet) the thread checks the copy's change stamp, so an
instance that did not receive the event learns the city within about a second.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import orjson
import pika
from nameko.extensions import DependencyProvider
from pika.exceptions import AMQPError
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from . import topology
from .city_copy import CityCopy, apply_event
from .contract import events as contract_events
from .envelope import Event, MalformedEvent

log = logging.getLogger(__name__)
REFRESH_SECONDS = 1.0
ATTEMPTS_HEADER = "x-parentnet-attempts"


class CityConsumer:
    """The consuming loop, apart from nameko (tests can run it in a thread)."""

    def __init__(self, amqp_uri: str, queue: str, copy: CityCopy) -> None:
        self.params = pika.URLParameters(amqp_uri)
        self.queue = topology.consumer(queue)
        self.copy = copy
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._consume()
            except (AMQPError, OSError, PyMongoError) as exc:
                log.warning("city feed %s: %r; reconnecting", self.queue.name, exc)
                self.stopping.wait(1.0)

    def stop(self) -> None:
        self.stopping.set()

    def _consume(self) -> None:
        connection = pika.BlockingConnection(self.params)
        try:
            channel = connection.channel()
            topology.declare(channel)
            channel.basic_qos(prefetch_count=20)
            channel.confirm_delivery()
            for method, properties, body in channel.consume(self.queue.name, inactivity_timeout=REFRESH_SECONDS):
                if self.stopping.is_set():
                    break
                if method is None:
                    self.copy.refresh_if_changed()
                    continue
                self._handle(channel, method, properties, body)
        finally:
            if connection.is_open:
                connection.close()

    def _handle(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        try:
            event = Event.from_dict(orjson.loads(body))
        except (orjson.JSONDecodeError, MalformedEvent) as exc:
            log.error("city feed: dead-lettering a malformed message: %s", exc)
            channel.basic_nack(method.delivery_tag, requeue=False)
            return
        contract_events.check(event, "consumed")
        try:
            apply_event(self.copy, event.type, event.data)
        except PyMongoError:
            raise  # the store is away: the message stays unacked and comes back on reconnect
        except (KeyError, TypeError, ValueError) as exc:
            self._retry_or_dead_letter(channel, method, properties, body, repr(exc))
            return
        channel.basic_ack(method.delivery_tag)

    def _retry_or_dead_letter(self, channel: Any, method: Any, properties: Any, body: bytes, reason: str) -> None:
        attempts = int((properties.headers or {}).get(ATTEMPTS_HEADER, 0)) + 1
        if attempts >= topology.MAX_ATTEMPTS:
            log.error("city feed: dead-lettering %s after %d attempts: %s", properties.message_id, attempts, reason)
            channel.basic_nack(method.delivery_tag, requeue=False)
            return
        headers = {**(properties.headers or {}), ATTEMPTS_HEADER: attempts, "x-parentnet-last-error": reason[:500]}
        retry = pika.BasicProperties(
            content_type=properties.content_type,
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=properties.message_id,
            type=properties.type,
            headers=headers,
        )
        channel.basic_publish("", self.queue.retry_queue, body, retry, mandatory=True)
        channel.basic_ack(method.delivery_tag)


class CityFeed(DependencyProvider):
    """Hands workers the service's ``CityCopy``; migrates and loads it before the first request,
    then keeps it current in a managed thread. ``db_setting`` names the config key of the
    service's database (``EVENTS_DB``); ``queue`` its queue in ``topology.CONSUMERS``."""

    def __init__(self, db_setting: str, queue: str) -> None:
        self.db_setting = db_setting
        self.queue = queue

    def setup(self) -> None:
        config = self.container.config
        self.client: MongoClient = MongoClient(config["MONGO_URI"], tz_aware=True, serverSelectionTimeoutMS=5000)
        self.copy = CityCopy(self.client[config[self.db_setting]])
        self.copy.migrate()
        self.consumer = CityConsumer(config["AMQP_URI"], self.queue, self.copy)

    def start(self) -> None:
        self.thread = self.container.spawn_managed_thread(self.consumer.run, identifier=f"{self.queue}-feed")

    def stop(self) -> None:
        self.consumer.stop()
        self.thread.wait()
        self.client.close()

    def kill(self) -> None:
        self.consumer.stop()

    def get_dependency(self, worker_ctx) -> CityCopy:  # noqa: ANN001
        return self.copy
