"""The services' RPC replies (parentnet_kit.nameko_rpc.LeanResponder), on a real broker."""

from __future__ import annotations

import json
import socket
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pika
import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from parentnet_kit.contracts import IDEMPOTENCY_HEADER
from parentnet_kit.nameko_rpc import RequestId, ResilientRpcConsumer, once_id, rpc
from parentnet_kit.testing import call_twice


class Replier:
    name = "replier"
    request_id = RequestId()

    @rpc
    def new_id(self, who):
        return once_id(self.request_id, "thing", who)

    @rpc
    def echo(self, value):
        return value

    @rpc
    def unsendable(self):
        return object()

    @rpc
    def typed(self):
        return {"price": Decimal("4.50"), "at": datetime(2030, 1, 1, 9, 0, tzinfo=UTC), 3: "three"}

    @rpc
    def fails(self):
        raise ValueError("the input was wrong")


@pytest.fixture
def replier(container_factory, service_config):
    container = container_factory(Replier, service_config)
    container.start()
    return service_config


def test_results_and_errors_reach_the_caller(replier):
    with ClusterRpcProxy(replier) as cluster:
        value = {"title": "Pique-nique", "places": [1, 2, 3], "free": True, "note": "café ☕"}
        assert cluster.replier.echo(value) == value
        with pytest.raises(RemoteError) as failed:
            cluster.replier.fails()
        assert failed.value.exc_type == "ValueError"
        assert "the input was wrong" in str(failed.value)
        with pytest.raises(RemoteError) as unsendable:
            cluster.replier.unsendable()
        assert unsendable.value.exc_type == "UnserializableValueError"
        # What kombu's encoder wrote, the services' replies still write.
        assert cluster.replier.typed() == {"price": "4.50", "at": "2030-01-01T09:00:00+00:00", "3": "three"}
        # The service lives on after all of these.
        assert cluster.replier.echo(1) == 1


def test_a_reply_is_transient(replier):
    connection = pika.BlockingConnection(pika.URLParameters(replier["AMQP_URI"]))
    channel = connection.channel()
    reply_key = f"test-{uuid.uuid4().hex}"
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, "nameko-rpc", routing_key=reply_key)
    channel.basic_publish(
        "nameko-rpc",
        "replier.echo",
        json.dumps({"args": ["hello"], "kwargs": {}}).encode(),
        pika.BasicProperties(content_type="application/json", correlation_id="c1", reply_to=reply_key),
    )
    for method, properties, body in channel.consume(queue, auto_ack=True, inactivity_timeout=10):
        assert method is not None, "no reply within 10 s"
        assert json.loads(body) == {"result": "hello", "error": None}
        assert properties.correlation_id == "c1"
        assert properties.delivery_mode == 1  # transient: the reply queue is not durable either
        break
    channel.cancel()
    connection.close()


def test_replies_survive_a_dropped_reply_connection(container_factory, service_config):
    container = container_factory(Replier, service_config)
    container.start()
    (consumer,) = {e for e in container.subextensions if isinstance(e, ResilientRpcConsumer)}
    with ClusterRpcProxy(service_config, timeout=10) as cluster:
        assert cluster.replier.echo("first") == "first"
        # The broker's side of the reply connection is gone (as after a broker restart).
        consumer.replies._connection.connection.transport.sock.shutdown(socket.SHUT_RDWR)
        assert cluster.replier.echo("second") == "second"
        assert cluster.replier.echo("third") == "third"


def test_a_redelivered_request_makes_the_same_id_and_no_other_request_does(replier):
    first, again = call_twice(replier["AMQP_URI"], "replier", "new_id", who="m1")
    assert first == again
    other, _ = call_twice(replier["AMQP_URI"], "replier", "new_id", who="m1")
    someone_else, _ = call_twice(replier["AMQP_URI"], "replier", "new_id", who="m2")
    assert len({first, other, someone_else}) == 3
    with ClusterRpcProxy(replier, timeout=10) as cluster:
        assert len({cluster.replier.new_id("m1"), cluster.replier.new_id("m1")}) == 2


def test_a_client_key_makes_two_calls_one_request(replier):
    uri = replier["AMQP_URI"]
    first, retried = call_twice(uri, "replier", "new_id", headers={IDEMPOTENCY_HEADER: "k1:outingCreate"}, who="m1")
    assert first == retried
    other_key, _ = call_twice(uri, "replier", "new_id", headers={IDEMPOTENCY_HEADER: "k2:outingCreate"}, who="m1")
    other_member, _ = call_twice(uri, "replier", "new_id", headers={IDEMPOTENCY_HEADER: "k1:outingCreate"}, who="m2")
    assert len({first, other_key, other_member}) == 3
    # A caller cannot pose as another request by sending the worker's own field as a header.
    forged_a, forged_b = call_twice(uri, "replier", "new_id", headers={"parentnet.request_id": "x"}, who="m1")
    assert forged_a != forged_b
