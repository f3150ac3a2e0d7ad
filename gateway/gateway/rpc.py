"""An asyncio client for nameko's RPC protocol over RabbitMQ.

A call is a message to the ``nameko-rpc`` topic exchange with routing key
``<service>.<method>``, a ``reply_to`` routing key and a ``correlation_id``; the body is
``{"args": [...], "kwargs": {...}}``. The service publishes ``{"result", "error"}`` back to
the same exchange with our ``reply_to`` as routing key, so our reply queue is bound there.
Bodies are JSON, written and read with orjson (a page of search results is ~15 KB).
Every call carries the request id bound for the client's request (``x-request-id`` header,
which the service's worker binds in turn) and is counted and timed (``observe.observe_rpc``).
A call made for a signed-in viewer carries who they are as an identity token signed for the
service called (``x-parentnet-identity``, ``parentnet_kit.identity``), which the service verifies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

import aio_pika
import orjson
from aio_pika.abc import AbstractIncomingMessage
from aio_pika.exceptions import AMQPError, ChannelNotFoundEntity, DeliveryError
from aiormq.exceptions import ChannelInvalidStateError

from parentnet_kit import identity as internal_identity
from parentnet_kit import request_ids
from parentnet_kit.identity import IdentitySigner

from .observe import observe_rpc

log = logging.getLogger(__name__)
RPC_EXCHANGE = "nameko-rpc"
SERVING_CHECK_SECONDS = 1.0


class ServiceUnavailable(RuntimeError):
    """The service did not answer within its deadline, or nobody serves it."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} is unavailable: {reason}")
        self.service = service


class OutcomeUnknown(ServiceUnavailable):
    """The request was sent but no answer came within the deadline: the service may have done
    the work (a long change) or not. A query can just be asked again; a mutation should be
    retried with the same idempotency key."""


class RemoteError(RuntimeError):
    """The service raised; carries nameko's exception type and message."""

    def __init__(self, service: str, exc_type: str, value: str) -> None:
        super().__init__(f"{service} raised {exc_type}: {value}")
        self.service = service
        self.exc_type = exc_type


class RpcClient:
    def __init__(self, amqp_uri: str, default_timeout: float = 5.0, signer: IdentitySigner | None = None) -> None:
        self.amqp_uri = amqp_uri
        # Signs the viewer's identity for each service called; None: no identity is sent.
        self.signer = signer
        self.default_timeout = default_timeout
        self.reply_key = f"gateway-{uuid.uuid4().hex}"
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None
        self.calls = 0  # counted per process, for tests of batching
        self._probe: aio_pika.abc.AbstractChannel | None = None
        # service -> (checked at, has a consumer; None: its queue does not exist)
        self._serving: dict[str, tuple[float, bool | None]] = {}

    async def connect(self) -> None:
        self._connection = await aio_pika.connect_robust(self.amqp_uri)
        # A request no queue takes comes back (it is ``mandatory``) and fails its call at once;
        # aiormq matches the return to the publish by message id, so every request has one.
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        # Same arguments as nameko declares it with.
        self._exchange = await channel.declare_exchange(RPC_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(f"rpc.reply-{self.reply_key}", exclusive=True, auto_delete=True)
        await queue.bind(self._exchange, routing_key=self.reply_key)
        await queue.consume(self._on_reply, no_ack=True)

    async def _has_consumer(self, service: str) -> bool:
        """Whether an instance of ``service`` takes requests now (its nameko queue ``rpc-<service>``
        has a consumer), asked of RabbitMQ at most once a second per service.

        A request sent while no instance runs waits in the queue until its expiration and runs
        if one comes back in time: its caller could only be told "outcome unknown" after the
        whole deadline (30 s for a mutation). Asked first, a service that is down is refused at
        once with nothing sent, which is the truth."""
        now = time.monotonic()
        checked = self._serving.get(service)
        if checked is not None and now - checked[0] < SERVING_CHECK_SECONDS:
            if checked[1] is None:
                raise ServiceUnavailable(service, "no instance has ever served it")
            return checked[1]
        assert self._connection is not None
        try:
            if self._probe is None or self._probe.is_closed:
                # Its own channel: a passive declare of a queue that does not exist closes it.
                self._probe = await self._connection.channel()
            # robust=False: a robust channel answers a passive declare of a queue it declared
            # before from its cache, with the consumer count of that first answer.
            queue = await self._probe.declare_queue(f"rpc-{service}", passive=True, robust=False)  # type: ignore[call-arg]
            serving = bool(queue.declaration_result.consumer_count)
        except ChannelNotFoundEntity as exc:
            # The broker closed the channel. It is a robust one, which would reopen itself and
            # stay open beside the next probe's: closed here, or every check while a service
            # has never started leaks a channel until RabbitMQ's 2,047 per connection close the
            # gateway's connection (seen by the soak while events adopted data for minutes).
            probe, self._probe = self._probe, None
            if probe is not None:
                with contextlib.suppress(Exception):
                    await probe.close()
            self._serving[service] = (now, None)
            raise ServiceUnavailable(service, "no instance has ever served it") from exc
        self._serving[service] = (now, serving)
        return serving

    async def close(self) -> None:
        for future in self._pending.values():
            future.cancel()
        if self._connection is not None:
            await self._connection.close()

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.pop(message.correlation_id or "", None)
        if future is None or future.done():
            return  # a reply after its deadline: the caller has moved on
        try:
            future.set_result(orjson.loads(message.body))
        except ValueError as exc:
            future.set_exception(exc)

    async def call(
        self,
        service: str,
        method: str,
        *args: Any,
        timeout: float | None = None,
        headers: dict[str, str] | None = None,
        identity: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Call ``service.method(*args, **kwargs)``; ``headers`` go with the request (e.g. the
        client's idempotency key for one operation), and the bound request id as ``x-request-id``.
        ``identity``: the signed-in viewer's member id, sent signed for ``service``.

        Raises ``ServiceUnavailable`` (``OutcomeUnknown`` after the deadline) or ``RemoteError``."""
        request_id = request_ids.current()
        if request_id is not None:
            headers = {**(headers or {}), request_ids.HEADER: request_id}
        if identity is not None and self.signer is not None:
            headers = {**(headers or {}), internal_identity.HEADER: self.signer.token(identity, service)}
        started = time.perf_counter()
        outcome = "error"  # the service raised, or its answer was not JSON
        try:
            result = await self._call(service, method, args, kwargs, timeout, headers)
            outcome = "ok"
            return result
        except OutcomeUnknown:
            outcome = "timeout"
            raise
        except ServiceUnavailable:
            outcome = "unavailable"
            raise
        finally:
            observe_rpc(service, method, outcome, time.perf_counter() - started)

    async def _call(
        self,
        service: str,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        timeout: float | None,
        headers: dict[str, str] | None,
    ) -> Any:
        if self._exchange is None:
            raise ServiceUnavailable(service, "the gateway is not connected to RabbitMQ")
        deadline = timeout or self.default_timeout
        try:
            if not await self._has_consumer(service):
                raise ServiceUnavailable(service, "no instance is running")
        except (AMQPError, ConnectionError, ChannelInvalidStateError) as exc:
            raise ServiceUnavailable(service, f"RabbitMQ: {exc}") from exc
        correlation_id = uuid.uuid4().hex
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        message = aio_pika.Message(
            orjson.dumps({"args": list(args), "kwargs": kwargs}),
            content_type="application/json",
            correlation_id=correlation_id,
            message_id=correlation_id,
            reply_to=self.reply_key,
            headers={**headers} if headers is not None else None,
            # A request nobody took within its deadline must not run later, after the
            # caller was told the service is unavailable.
            expiration=deadline,
        )
        self.calls += 1
        try:
            await self._exchange.publish(message, routing_key=f"{service}.{method}", mandatory=True)
            reply = await asyncio.wait_for(future, deadline)
        except DeliveryError as exc:
            raise ServiceUnavailable(service, "no instance has ever served it") from exc
        except TimeoutError as exc:
            raise OutcomeUnknown(service, f"no answer within {deadline:g} s") from exc
        except (AMQPError, ConnectionError, ChannelInvalidStateError) as exc:
            # Also while the robust connection is re-opening its channel after a broker restart.
            raise ServiceUnavailable(service, f"RabbitMQ: {exc}") from exc
        finally:
            self._pending.pop(correlation_id, None)
        error = reply.get("error")
        if error:
            raise RemoteError(service, error.get("exc_type", "Error"), str(error.get("value", "")))
        return reply.get("result")


class CountingRpc:
    """One request's view of the RPC client, counting its calls (``GATEWAY_TRACE_RPC`` shows them)."""

    def __init__(self, rpc: RpcClient, timeout: float | None = None, viewer_id: str | None = None) -> None:
        self.rpc = rpc
        self.calls = 0
        # The signed-in viewer every call is made for (``Context`` sets it).
        self.viewer_id = viewer_id
        # Set for a mutation: a long change (a 52-week series) gets longer than a read.
        self.timeout = timeout

    async def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """``RpcClient.call``, counted, for this request's viewer; with this request's deadline
        unless the call sets one."""
        self.calls += 1
        if self.timeout is not None and kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if self.viewer_id is not None:
            kwargs.setdefault("identity", self.viewer_id)
        return await self.rpc.call(service, method, *args, **kwargs)
