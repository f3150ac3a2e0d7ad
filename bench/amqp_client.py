"""A blocking client for nameko's RPC protocol, for the bench process (pika, no eventlet).

The same client calls nameko services and the raw AMQP echo, so that measurement 3 compares
the two servers and nothing else. Requests go out as the gateway sends them: transient,
``mandatory``, with publisher confirms.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pika

RPC_EXCHANGE = "nameko-rpc"


class RpcError(RuntimeError):
    pass


class BlockingRpc:
    def __init__(self, amqp_uri: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(RPC_EXCHANGE, "topic", durable=True)
        self.channel.confirm_delivery()
        self.reply_key = f"bench-{uuid.uuid4().hex}"
        queue = self.channel.queue_declare(f"rpc.reply-{self.reply_key}", exclusive=True, auto_delete=True)
        self.channel.queue_bind(queue.method.queue, RPC_EXCHANGE, routing_key=self.reply_key)
        self.channel.basic_consume(queue.method.queue, self._on_reply, auto_ack=True)
        self._waiting: str | None = None
        self._reply: bytes | None = None

    def _on_reply(self, channel: Any, method: Any, properties: pika.BasicProperties, body: bytes) -> None:
        if properties.correlation_id == self._waiting:
            self._reply = body

    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        self._waiting, self._reply = uuid.uuid4().hex, None
        properties = pika.BasicProperties(
            content_type="application/json", correlation_id=self._waiting, reply_to=self.reply_key, expiration="10000"
        )
        body = json.dumps({"args": list(args), "kwargs": kwargs}).encode()
        self.channel.basic_publish(RPC_EXCHANGE, f"{service}.{method}", body, properties, mandatory=True)
        while self._reply is None:
            self.connection.process_data_events(time_limit=None)
        reply = json.loads(self._reply)
        if reply.get("error"):
            raise RpcError(f"{service}.{method}: {reply['error']}")
        return reply["result"]

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()
