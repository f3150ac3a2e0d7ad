"""The batch indexer: domain events from RabbitMQ into Elasticsearch, none lost.

- consumes with a prefetch window and writes each batch with one bulk request, gathering
  the next batch while Elasticsearch writes the last;
- acks a message only after Elasticsearch has its write (or has refused it as stale: a
  409 on an external version means a newer version is already there);
- while Elasticsearch is unreachable, keeps the batch unacked and tries again with backoff;
- a message whose write keeps failing is retried through the retry queue, then
  dead-lettered after ``MAX_ATTEMPTS``; the rest keep flowing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pika
from elasticsearch import Elasticsearch
from elasticsearch import exceptions as es_errors
from pika.exceptions import AMQPError

from parentnet_kit import metrics, topology
from parentnet_kit.envelope import Event, MalformedEvent

from .documents import IndexWrite, write_for
from .indices import Indices

log = logging.getLogger(__name__)
QUEUE = "search.indexer"
ATTEMPTS_HEADER = "x-parentnet-attempts"
# Tests only: while this names an aggregate id, the indexer fails to write its events.
FAULT_REJECT_ENV = "PARENTNET_FAULT_INDEXER_REJECT"
# Tests only: when set, the indexer process exits right after a bulk write, before acking.
FAULT_CRASH_ENV = "PARENTNET_FAULT_INDEXER_CRASH_AFTER_WRITE"
# Of the bulk answer, only each item's outcome: the rest would be read for nothing.
BULK_ANSWER = "items.*.status,items.*.error"
# How often the indexer asks the broker how many messages wait in its queues (for /metrics).
DEPTH_EVERY = 5.0


@dataclass
class Delivery:
    tag: int
    properties: pika.BasicProperties
    body: bytes
    event: Event | None = None
    write: IndexWrite | None = None

    @property
    def attempts(self) -> int:
        headers = self.properties.headers or {}
        return int(headers.get(ATTEMPTS_HEADER, 0))


@dataclass
class Bulk:
    """One batch on its way into Elasticsearch."""

    batch: list[Delivery]
    writable: list[Delivery] = field(default_factory=list)
    settled: set[int] = field(default_factory=set)
    results: list[tuple[int, Any]] = field(default_factory=list)
    failure: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def run(self, write: Any) -> None:
        try:
            self.results = write(self.writable)
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread
            self.failure = exc
        finally:
            self.done.set()


class Indexer:
    def __init__(
        self,
        amqp_uri: str,
        es: Elasticsearch,
        indices: Indices,
        *,
        batch_size: int = 1000,
        batch_wait: float = 0.02,
        max_batch_age: float = 0.2,
    ) -> None:
        self.params = pika.URLParameters(amqp_uri)
        self.es = es
        self.indices = indices
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.max_batch_age = max_batch_age
        self.stopping = threading.Event()
        self.indexed = 0  # applied writes, for tests and benchmarks

    def run(self) -> None:
        """Consume until ``stop()``; reconnects after broker failures."""
        while not self.stopping.is_set():
            try:
                self._consume()
            except (AMQPError, OSError) as exc:
                log.warning("indexer lost the broker (%r); reconnecting", exc)
                self.stopping.wait(1.0)

    def stop(self) -> None:
        self.stopping.set()

    def _consume(self) -> None:
        connection = pika.BlockingConnection(self.params)
        inflight: Bulk | None = None
        try:
            channel = connection.channel()
            topology.declare(channel)
            # Room for the batch being written and the one being gathered meanwhile.
            channel.basic_qos(prefetch_count=self.batch_size * 2)
            channel.confirm_delivery()
            pending: list[Delivery] = []
            started = 0.0
            depth_at = 0.0
            for method, properties, body in channel.consume(QUEUE, inactivity_timeout=self.batch_wait):
                if time.monotonic() - depth_at >= DEPTH_EVERY:
                    depth_at = time.monotonic()
                    _measure_depth(channel)
                if method is not None:
                    if not pending:
                        started = time.monotonic()
                    pending.append(Delivery(method.delivery_tag, properties, body))
                    # Under a steady trickle, don't wait for a full batch for ever.
                    if len(pending) < self.batch_size and time.monotonic() - started < self.max_batch_age:
                        continue
                if inflight is not None and (pending or inflight.done.is_set()):
                    self._settle(channel, inflight)
                    inflight = None
                if pending:
                    # Elasticsearch writes this batch while the next one is gathered.
                    inflight = self._start(channel, pending)
                    pending = []
                if self.stopping.is_set():
                    break
            if inflight is not None:
                self._settle(channel, inflight)
                inflight = None
            channel.cancel()
        finally:
            if connection.is_open:
                connection.close()

    def _start(self, channel: Any, batch: list[Delivery]) -> Bulk:
        """Read a batch and start writing what it changes; malformed and refused messages are
        settled here, at once."""
        bulk = Bulk(batch)
        for delivery in batch:
            try:
                delivery.event = Event.from_dict(orjson.loads(delivery.body))
            except (ValueError, MalformedEvent) as exc:
                log.error("dead-lettering a malformed message: %s", exc)
                metrics.EVENTS_CONSUMED.labels(QUEUE, "unknown", "malformed").inc()
                channel.basic_nack(delivery.tag, requeue=False)
                bulk.settled.add(delivery.tag)
                continue
            delivery.write = write_for(delivery.event)
            if delivery.write is not None:
                bulk.writable.append(delivery)
            else:  # an event this index does not keep; acked with the batch
                metrics.EVENTS_CONSUMED.labels(QUEUE, delivery.event.type, "ignored").inc()
        refused = os.environ.get(FAULT_REJECT_ENV)
        if refused:
            # Fault injection for the tests: a handler that keeps failing for one aggregate.
            for delivery in [d for d in bulk.writable if d.event and d.event.aggregate_id == refused]:
                bulk.writable.remove(delivery)
                self._retry_or_dead_letter(channel, delivery, "fault injected by " + FAULT_REJECT_ENV)
                bulk.settled.add(delivery.tag)
        if bulk.writable:
            # A thread (a green one in the service), so this one goes on gathering meanwhile.
            threading.Thread(target=bulk.run, args=(self._bulk_until_accepted,), daemon=True).start()
        else:
            bulk.done.set()
        return bulk

    def _settle(self, channel: Any, bulk: Bulk) -> None:
        """Once Elasticsearch has the batch: failures one by one (retry or dead-letter), all the
        rest with a single ``multiple`` ack. An ack per message costs a write to the socket
        each and, profiled, was most of the indexer's time."""
        bulk.done.wait()
        if bulk.failure is not None:
            raise bulk.failure  # stopping with the batch unwritten: it stays unacked
        if bulk.writable and os.environ.get(FAULT_CRASH_ENV):
            # Fault injection for the tests: die after Elasticsearch has the writes, before any ack.
            os._exit(137)
        for delivery, (status, error) in zip(bulk.writable, bulk.results, strict=True):
            if 200 <= status < 300:
                self.indexed += 1
                _applied(delivery, "applied")
            elif status == 409:  # a newer version is there already; done
                _applied(delivery, "stale")
            else:
                self._retry_or_dead_letter(channel, delivery, f"{status}: {error}")
                bulk.settled.add(delivery.tag)
        if bulk.writable:
            newest = max(_occurred(d) for d in bulk.writable)
            metrics.INDEXER_LAG.set(max(0.0, (datetime.now(UTC) - newest).total_seconds()))
        # Tags grow with each delivery and earlier batches are all settled, so acking up to
        # the last unsettled one acks exactly the rest (acking a settled tag would be an error).
        rest = [d.tag for d in bulk.batch if d.tag not in bulk.settled]
        if rest:
            channel.basic_ack(rest[-1], multiple=True)

    def _bulk_until_accepted(self, writable: list[Delivery]) -> list[tuple[int, Any]]:
        lines: list[bytes] = []
        for delivery in writable:
            write = delivery.write
            assert write is not None
            action = {
                "index": {
                    "_index": self.indices.alias(write.spec),
                    "_id": write.doc_id,
                    "version": write.version,
                    "version_type": "external",
                }
            }
            lines += (orjson.dumps(action), orjson.dumps(write.document))
        body = b"\n".join(lines) + b"\n"  # NDJSON, encoded once here
        delay = 0.5
        while True:
            try:
                response = self.es.bulk(operations=body, filter_path=BULK_ANSWER)
                return [(item["index"]["status"], item["index"].get("error")) for item in response["items"]]
            except (es_errors.ConnectionError, es_errors.ConnectionTimeout, es_errors.TransportError) as exc:
                if self.stopping.is_set():
                    raise OSError("stopping with an unacknowledged batch") from exc
                log.warning("Elasticsearch unavailable (%s); batch of %d kept, retrying", exc, len(writable))
            except es_errors.ApiError as exc:
                if exc.meta.status < 500 and exc.meta.status != 429:
                    return [(exc.meta.status, str(exc))] * len(writable)
                log.warning("Elasticsearch answered %s; retrying the batch", exc.meta.status)
            self.stopping.wait(delay)
            delay = min(delay * 2, 10.0)

    def _retry_or_dead_letter(self, channel: Any, delivery: Delivery, reason: str) -> None:
        attempts = delivery.attempts + 1
        event_type = delivery.event.type if delivery.event is not None else "unknown"
        request_id = delivery.event.request_id if delivery.event is not None else None
        if attempts >= topology.MAX_ATTEMPTS:
            log.error(
                "dead-lettering %s after %d attempts: %s",
                delivery.properties.message_id,
                attempts,
                reason,
                extra={"request_id": request_id},
            )
            channel.basic_nack(delivery.tag, requeue=False)
            metrics.EVENTS_CONSUMED.labels(QUEUE, event_type, "dead_lettered").inc()
            return
        headers = dict(delivery.properties.headers or {})
        headers[ATTEMPTS_HEADER] = attempts
        headers["x-parentnet-last-error"] = reason[:500]
        properties = pika.BasicProperties(
            content_type=delivery.properties.content_type,
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=delivery.properties.message_id,
            type=delivery.properties.type,
            headers=headers,
        )
        retry_queue = topology.consumer(QUEUE).retry_queue
        channel.basic_publish("", retry_queue, delivery.body, properties, mandatory=True)
        channel.basic_ack(delivery.tag)
        metrics.EVENTS_CONSUMED.labels(QUEUE, event_type, "retried").inc()
        log.warning(
            "retrying %s later (attempt %d): %s",
            delivery.properties.message_id,
            attempts,
            reason,
            extra={"request_id": request_id},
        )


def _applied(delivery: Delivery, outcome: str) -> None:
    """Count and log one event Elasticsearch has (``applied``) or had newer (``stale``)."""
    event = delivery.event
    assert event is not None
    metrics.EVENTS_CONSUMED.labels(QUEUE, event.type, outcome).inc()
    log.info(
        "event indexed" if outcome == "applied" else "event stale, a newer version is indexed",
        extra={
            "request_id": event.request_id,
            "fields": {"event_type": event.type, "event_id": event.event_id, "version": event.version},
        },
    )


def _occurred(delivery: Delivery) -> datetime:
    assert delivery.event is not None
    try:
        return datetime.fromisoformat(delivery.event.occurred_at.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return datetime.now(UTC)  # a bad timestamp says nothing about lag


def _measure_depth(channel: Any) -> None:
    """Messages waiting in the indexer's queue, retry queue and dead-letter queue (passive
    declares: three round trips to the broker every DEPTH_EVERY seconds)."""
    queue = topology.consumer(QUEUE)
    for name in (queue.name, queue.retry_queue, queue.dead_queue):
        declared = channel.queue_declare(name, passive=True)
        metrics.QUEUE_MESSAGES.labels(name).set(declared.method.message_count)
