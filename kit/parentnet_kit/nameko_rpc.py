"""nameko's ``@rpc``, made to survive a broker restart. Import it in services only (it pulls
in nameko and eventlet; the gateway never imports it).

nameko 2.14 publishes an RPC reply with three retries; when the broker is away longer, the
exception escapes the worker and *kills the whole service container* (seen in the fault
suite: a RabbitMQ restart during 1,000 requests took the events service down for good).
Here a reply that cannot be sent is logged and dropped instead: the caller has timed out by
then, and the request itself stays unacknowledged, so the broker redelivers it once it is
back, unless its deadline (the message's expiry) has passed. Requests that change state are
safe to run twice: creation takes an idempotency key, the rest are conditional.
"""

from __future__ import annotations

import logging
from typing import Any

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko.rpc import Rpc, RpcConsumer

log = logging.getLogger(__name__)

BROKER_ERRORS = (OSError, OperationalError, AmqpConnectionError)


class ResilientRpcConsumer(RpcConsumer):
    def handle_result(self, message: Any, result: Any, exc_info: Any) -> tuple[Any, Any]:
        try:
            return super().handle_result(message, result, exc_info)
        except BROKER_ERRORS as exc:
            log.warning(
                "RPC reply not sent, the broker is away (%s); the request will be redelivered if still alive", exc
            )
            return result, exc_info


class ResilientRpc(Rpc):
    rpc_consumer = ResilientRpcConsumer()


rpc = ResilientRpc.decorator
