"""Measurement 3, the raw side: an AMQP request-reply responder on pika and nothing else.

It speaks nameko's wire protocol (a queue bound to the ``nameko-rpc`` topic exchange, the
reply published there under the request's ``reply_to``) with the settings the services'
responder uses (``parentnet_kit.nameko_rpc.LeanResponder``): transient replies without
publisher confirms, the request acked after the reply is sent, a prefetch of 10 (nameko's
default ``max_workers``).
"""

from __future__ import annotations

import json
import sys

import pika

NAME = "bench_raw_echo"


def main(amqp_uri: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.exchange_declare("nameko-rpc", "topic", durable=True)
    queue = f"rpc-{NAME}"
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, "nameko-rpc", f"{NAME}.*")
    channel.basic_qos(prefetch_count=10)

    def answer(
        ch: pika.channel.Channel, method: pika.spec.Basic.Deliver, props: pika.BasicProperties, body: bytes
    ) -> None:
        request = json.loads(body)
        reply = json.dumps({"result": request["args"][0] if request["args"] else None, "error": None}).encode()
        out = pika.BasicProperties(
            content_type="application/json",
            correlation_id=props.correlation_id,
            delivery_mode=pika.DeliveryMode.Transient,
        )
        channel.basic_publish("nameko-rpc", props.reply_to, reply, out)
        channel.basic_ack(method.delivery_tag)

    channel.basic_consume(queue, answer)
    print("ready", flush=True)
    channel.start_consuming()


if __name__ == "__main__":
    main(sys.argv[1])
