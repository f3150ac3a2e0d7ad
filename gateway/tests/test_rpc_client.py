"""The gateway's RPC client against a real RabbitMQ (the rest of these tests use a stand-in)."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import urllib.parse
import urllib.request

import pika
import pytest
from prometheus_client import REGISTRY

from gateway.rpc import RemoteError, RpcClient, ServiceUnavailable
from parentnet_kit import request_ids, testing


@pytest.fixture
def broker():
    vhost, uri = testing.create_vhost("gateway")
    yield uri
    testing.delete_vhost(vhost)


def serve(uri: str, ready: threading.Event, stop: threading.Event, busy: threading.Event | None = None) -> None:
    """A responder for service "adder" speaking nameko's protocol: add(a, b), fail(), and
    slow(seconds), which sets ``busy`` when it arrives."""
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    channel.exchange_declare("nameko-rpc", "topic", durable=True)
    channel.queue_declare("rpc-adder", durable=True)
    channel.queue_bind("rpc-adder", "nameko-rpc", "adder.*")
    ready.set()
    for method, properties, body in channel.consume("rpc-adder", inactivity_timeout=0.1):
        if stop.is_set():
            break
        if method is None:
            continue
        request = json.loads(body)
        if method.routing_key == "adder.add":
            reply = {"result": sum(request["args"]), "error": None}
        elif method.routing_key == "adder.request_id":  # the request id the call carried
            reply = {"result": (properties.headers or {}).get("x-request-id"), "error": None}
        elif method.routing_key == "adder.slow":  # answers after a while (blocking this responder)
            if busy is not None:
                busy.set()
            deadline = time.monotonic() + request["args"][0]
            while time.monotonic() < deadline:
                connection.sleep(0.05)
            reply = {"result": "late", "error": None}
        else:
            reply = {"result": None, "error": {"exc_type": "ValueError", "value": "no"}}
        out = pika.BasicProperties(correlation_id=properties.correlation_id, content_type="application/json")
        channel.basic_publish("nameko-rpc", properties.reply_to, json.dumps(reply), out)
        channel.basic_ack(method.delivery_tag)
    connection.close()


def test_calls_replies_errors_and_a_service_nobody_serves(broker):
    ready, stop = threading.Event(), threading.Event()
    server = threading.Thread(target=serve, args=(broker, ready, stop))
    server.start()
    assert ready.wait(30)

    async def scenario() -> None:
        client = RpcClient(broker, default_timeout=30)
        await client.connect()
        try:
            assert await client.call("adder", "add", 2, 3) == 5
            assert await asyncio.gather(*(client.call("adder", "add", i, 1) for i in range(20))) == list(range(1, 21))
            with pytest.raises(RemoteError) as failed:
                await client.call("adder", "fail")
            assert failed.value.exc_type == "ValueError"
            # No queue takes it: the broker returns it, and the call fails with that reason,
            # not after its 30 s deadline.
            with pytest.raises(ServiceUnavailable, match="no instance has ever served it"):
                await client.call("nobody", "ping")
        finally:
            await client.close()

    try:
        asyncio.run(scenario())
    finally:
        stop.set()
        server.join()


def test_a_call_carries_the_bound_request_id_and_is_counted(broker):
    ready, stop = threading.Event(), threading.Event()
    server = threading.Thread(target=serve, args=(broker, ready, stop))
    server.start()
    assert ready.wait(30)

    def count(outcome: str) -> float:
        labels = {"service": "adder", "method": "request_id", "outcome": outcome}
        return REGISTRY.get_sample_value("parentnet_gateway_rpc_calls_total", labels) or 0.0

    async def scenario() -> None:
        client = RpcClient(broker, default_timeout=30)
        await client.connect()
        try:
            before = count("ok")
            with request_ids.bound("req-from-client"):
                assert await client.call("adder", "request_id") == "req-from-client"
            assert await client.call("adder", "request_id") is None
            assert count("ok") == before + 2
        finally:
            await client.close()

    try:
        asyncio.run(scenario())
    finally:
        stop.set()
        server.join()


def test_checking_a_service_that_never_started_thousands_of_times_leaks_no_channel(broker, monkeypatch):
    """A gateway polled by a load balancer while a service has not started yet asks RabbitMQ
    each time; each refused check used to leave a robust channel reopening itself, until the
    broker's 2,047 channels per connection closed the gateway's connection (the soak saw it)."""
    monkeypatch.setattr("gateway.rpc.SERVING_CHECK_SECONDS", 0.0)
    ready, stop = threading.Event(), threading.Event()
    server = threading.Thread(target=serve, args=(broker, ready, stop))
    server.start()
    assert ready.wait(30)

    async def scenario() -> None:
        client = RpcClient(broker, default_timeout=30)
        await client.connect()
        try:
            for _ in range(2_100):
                with pytest.raises(ServiceUnavailable, match="no instance has ever served it"):
                    await client.call("nobody", "ping")
            assert client.connected
            assert await client.call("adder", "add", 2, 3) == 5
        finally:
            await client.close()

    try:
        asyncio.run(scenario())
    finally:
        stop.set()
        server.join()


def management(method: str, path: str) -> object:
    """RabbitMQ's management API (the one ``parentnet_kit.testing`` uses): JSON answer or None."""
    parsed = urllib.parse.urlsplit(testing.management_url())
    request = urllib.request.Request(f"{parsed.scheme}://{parsed.hostname}:{parsed.port}/api/{path}", method=method)
    token = base64.b64encode(f"{parsed.username or 'guest'}:{parsed.password or 'guest'}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


def connections_of(vhost_uri: str, product: str) -> list[str]:
    """The names of the connections of ``product`` (the client library's name) in the vhost, as
    the management API lists them (it learns of a new one within its 5 s statistics interval)."""
    vhost = urllib.parse.unquote(urllib.parse.urlsplit(vhost_uri).path.lstrip("/"))
    listed = management("GET", f"vhosts/{urllib.parse.quote(vhost, safe='')}/connections")
    assert isinstance(listed, list)
    return [c["name"] for c in listed if product in str((c.get("client_properties") or {}).get("product", ""))]


def test_a_connection_the_broker_closes_still_answers_the_call_in_flight_and_serves_the_next(broker):
    """As a RabbitMQ restart does to every connection: the call in flight gets its answer, which
    the responder sends after the client has declared its reply queue again (under the same
    name); a call made right after the loss (while the connection is re-opened, or once it is)
    waits for it and is served
    (it used to fail at once, as an unhandled RuntimeError: an HTTP 500 from the API)."""
    ready, stop, busy = threading.Event(), threading.Event(), threading.Event()
    server = threading.Thread(target=serve, args=(broker, ready, stop, busy))
    server.start()
    assert ready.wait(30)

    async def scenario() -> None:
        client = RpcClient(broker, default_timeout=30)
        await client.connect()
        try:
            listed = await asyncio.to_thread(
                testing.wait_for, lambda: connections_of(broker, "aiormq"), 15, 0.2, "the client's connection listed"
            )
            assert len(listed) == 1
            in_flight = asyncio.create_task(client.call("adder", "slow", 3))
            assert await asyncio.to_thread(busy.wait, 15)  # sent, and the responder is at it
            await asyncio.to_thread(management, "DELETE", f"connections/{urllib.parse.quote(listed[0], safe='')}")
            # Until the client has noticed. Not ``broker_up`` False: on a loaded machine the
            # management call can return after the client has already reconnected (CI, stop 27).
            deadline = time.monotonic() + 15
            while client.connection_losses == 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert client.connection_losses == 1
            next_call = asyncio.create_task(client.call("adder", "add", 2, 3))
            assert await in_flight == "late"
            assert await next_call == 5
            assert await client.call("adder", "add", 4, 3) == 7
        finally:
            await client.close()

    try:
        asyncio.run(scenario())
    finally:
        stop.set()
        server.join()
