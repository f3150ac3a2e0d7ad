"""Helpers for tests against the real servers: isolation by vhost, database and prefix."""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pymongo import MongoClient, monitoring
from pymongo.database import Database

from . import config


def management_url() -> str:
    return os.environ.get("RABBITMQ_MANAGEMENT_URL", "http://guest:guest@127.0.0.1:15672")


def _management(method: str, path: str, body: dict[str, Any] | None = None) -> None:
    parsed = urllib.parse.urlsplit(management_url())
    url = f"{parsed.scheme}://{parsed.hostname}:{parsed.port or 15672}/api/{path}"
    request = urllib.request.Request(url, method=method, data=json.dumps(body or {}).encode())
    token = base64.b64encode(f"{parsed.username or 'guest'}:{parsed.password or 'guest'}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10):
        pass


def create_vhost(prefix: str = "test") -> tuple[str, str]:
    """A fresh RabbitMQ virtual host; returns (vhost, AMQP URI pointing at it)."""
    vhost = f"{prefix}-{uuid.uuid4().hex[:10]}"
    quoted = urllib.parse.quote(vhost, safe="")
    _management("PUT", f"vhosts/{quoted}")
    user = urllib.parse.urlsplit(config.amqp_uri()).username or "guest"
    _management("PUT", f"permissions/{quoted}/{user}", {"configure": ".*", "write": ".*", "read": ".*"})
    base = config.amqp_uri().rstrip("/")
    parsed = urllib.parse.urlsplit(base)
    return vhost, urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, "/" + quoted, "", ""))


def delete_vhost(vhost: str) -> None:
    _management("DELETE", f"vhosts/{urllib.parse.quote(vhost, safe='')}")


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll until ``predicate()`` is truthy; returns its value or fails after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def drain_events(amqp_uri: str, queue: str = "search.indexer") -> list[dict[str, Any]]:
    """Every event waiting in ``queue`` (search's, which binds them all), taken off it, in order."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        channel = connection.channel()
        bodies = []
        while (message := channel.basic_get(queue, auto_ack=True))[0] is not None:
            bodies.append(json.loads(message[2]))
        return bodies
    finally:
        connection.close()


def call_twice(
    amqp_uri: str, service: str, method: str, timeout: float = 10, headers: dict[str, str] | None = None, **kwargs: Any
) -> tuple[Any, Any]:
    """The same RPC request, with the same correlation id, sent twice, one after the other:
    what the service sees when the broker redelivers a request whose first delivery it handled
    but never acknowledged. With ``headers``, each goes with its own correlation id instead, as
    two calls do (a client's retry). Returns both results (a remote error raises AssertionError)."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        channel = connection.channel()
        reply_key = unique_name("twice")
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(queue, "nameko-rpc", routing_key=reply_key)
        request_id = uuid.uuid4().hex
        body = json.dumps({"args": [], "kwargs": kwargs}).encode()
        results = []
        for _ in range(2):
            properties = pika.BasicProperties(
                content_type="application/json",
                correlation_id=uuid.uuid4().hex if headers else request_id,
                reply_to=reply_key,
                headers=headers,
            )
            channel.basic_publish("nameko-rpc", f"{service}.{method}", body, properties)
            for delivered, _props, reply in channel.consume(queue, auto_ack=True, inactivity_timeout=timeout):
                assert delivered is not None, f"no reply from {service}.{method} within {timeout:g} s"
                answer = json.loads(reply)
                assert answer["error"] is None, answer["error"]
                results.append(answer["result"])
                break
            channel.cancel()
        return results[0], results[1]
    finally:
        connection.close()


# Commands that select documents, and where each keeps its selector (update and delete: one
# selector per statement).
_SELECTORS = {
    "find": "filter",
    "count": "query",
    "distinct": "query",
    "findAndModify": "query",
    "aggregate": "pipeline",
    "update": "updates",
    "delete": "deletes",
}


@dataclass(frozen=True)
class StoreRead:
    """One selection a client sent: ``command`` (``find``, ``count``, ``distinct``,
    ``findAndModify``, ``aggregate``, ``update``, ``delete``), the ``collection`` it went to, and
    its ``selector``: the filter or query (``{}`` when none), an aggregate's pipeline (a list), an
    update's or delete's ``q`` (one ``StoreRead`` per statement)."""

    command: str
    collection: str
    selector: Any

    def by_id(self, in_allowed: bool = False) -> bool:
        """True for ``{_id: <string>}``, the one shape FerretDB 1.24 serves from an index
        (docs/store.md); with ``in_allowed``, ``{_id: {$in: [...]}}`` too (what
        ``parentnet_kit.lookups.by_ids`` sends to MongoDB)."""
        if not isinstance(self.selector, dict) or set(self.selector) != {"_id"}:
            return False
        value = self.selector["_id"]
        return isinstance(value, str) or (in_allowed and isinstance(value, dict) and set(value) == {"$in"})


class StoreReads(monitoring.CommandListener):
    """A pymongo command listener that records every selection a client sends (``StoreRead``),
    in order, so a test can say what a store method read: how many finds, to which collections,
    with which filters. Other commands (inserts, getMores, index builds) are not recorded as
    reads; ``commands`` counts every command sent by name, those included (what the bench
    scripts report per call). Give it to a ``MongoClient`` (``event_listeners=[reads]``), or use
    ``recording_store``."""

    def __init__(self) -> None:
        self.reads: list[StoreRead] = []
        self.commands: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands[event.command_name] += 1
        field = _SELECTORS.get(event.command_name)
        if field is None:
            return
        name, command = event.command_name, event.command
        collection = str(command.get(name, ""))
        if name in ("update", "delete"):
            selectors = [statement.get("q", {}) for statement in command.get(field, [])]
        else:
            selectors = [command.get(field, {})]
        self.reads.extend(StoreRead(name, collection, selector) for selector in selectors)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def clear(self) -> None:
        """Forget what was recorded (call it after a test's set-up, before what it measures)."""
        self.reads.clear()
        self.commands.clear()

    def finds(self, collection: str | None = None) -> list[Any]:
        """The filters of the ``find`` commands recorded (to ``collection`` only, if named), in order."""
        return [r.selector for r in self.reads if r.command == "find" and collection in (None, r.collection)]

    def finds_per_collection(self) -> dict[str, int]:
        """How many ``find`` commands went to each collection: ``{collection: finds}``."""
        return dict(Counter(r.collection for r in self.reads if r.command == "find"))

    def not_by_id(self, commands: Iterable[str] = tuple(_SELECTORS), in_allowed: bool = False) -> list[StoreRead]:
        """The recorded selections among ``commands`` (default: all) that are not by ``_id``
        (``StoreRead.by_id``): ``[]`` when every one is a point lookup."""
        wanted = set(commands)
        return [r for r in self.reads if r.command in wanted and not r.by_id(in_allowed)]


def drop_database(client: MongoClient[Any], name: str) -> None:
    """Drop database ``name`` and the database of its expiry markers
    (``parentnet_kit.expiry.markers_database``), which a service writes beside it."""
    from .expiry import SUFFIX

    client.drop_database(name)
    client.drop_database(f"{name}{SUFFIX}")


@contextmanager
def recording_store(mongo_uri: str, db_name: str) -> Iterator[tuple[Database, StoreReads]]:
    """A database ``db_name`` on its own client whose selections are recorded, and the record;
    the client is closed on leaving. Usage::

        with recording_store(config.mongo_uri(), name) as (db, reads):
            store = ListingStore(db, None)
            ...  # set-up
            reads.clear()
            store.of_owner("owner", 2, None)
            assert reads.finds_per_collection() == {"listings": 3}
            assert reads.not_by_id() == []
    """
    reads = StoreReads()
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri, tz_aware=True, event_listeners=[reads])
    try:
        yield client[db_name], reads
    finally:
        client.close()
