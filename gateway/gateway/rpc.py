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

Across a RabbitMQ restart (tests/reliability/test_broker_restart.py measures it): the connection
is robust and tries again every ``RECONNECT_SECONDS`` (aio_pika's default, 5 s, left requests
failing for up to 5 s after the broker was back); a call made while it is away waits for it up
to ``RECOVERY_WAIT_SECONDS``; a call whose request was sent before the connection closed keeps
waiting for its answer until its deadline: the reply queue is declared again under the same name
once the connection is back, and a service that finishes the request then replies to it (in
fault 2 at volume, with the broker away 11 s, 999 of 1,000 creates were confirmed that way;
failing them at once when the connection closed made those 8 in flight ``OUTCOME_UNKNOWN``); and
for ``SETTLING_SECONDS`` after a reconnection a service that has no consumer yet is waited for
as well, since the services are reconnecting too (``parentnet_kit.nameko_run``). Outside that
window a service without a consumer is refused at once, as before.
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
from aio_pika.exceptions import ChannelNotFoundEntity, DeliveryError

from parentnet_kit import identity as internal_identity
from parentnet_kit import request_ids
from parentnet_kit.identity import IdentitySigner

from .observe import observe_rpc

log = logging.getLogger(__name__)
RPC_EXCHANGE = "nameko-rpc"
SERVING_CHECK_SECONDS = 1.0
# How often the robust connection tries again once the broker is away.
RECONNECT_SECONDS = 1.0
# The longest a call waits for the connection (or, while settling, for its service's consumer)
# before SERVICE_UNAVAILABLE; never past the call's own deadline.
RECOVERY_WAIT_SECONDS = 5.0
# After a reconnection: how long a service without a consumer is taken for one reconnecting,
# and how often it is asked again meanwhile.
SETTLING_SECONDS = 30.0
SETTLING_CHECK_SECONDS = 0.2


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
        # How many times the connection was lost since ``connect`` (each loss counted once,
        # however many close callbacks it fires): for logs and tests, which cannot rely on
        # seeing ``broker_up`` False, as a reconnection may take less than their polling.
        self.connection_losses = 0
        self._probe: aio_pika.abc.AbstractChannel | None = None
        # service -> (checked at, has a consumer; None: its queue does not exist)
        self._serving: dict[str, tuple[float, bool | None]] = {}
        # Set while the connection and its channels are up (cleared when it closes, set again
        # once the robust connection has restored them, reply queue and consumer included).
        self._up = asyncio.Event()
        self._settling_until = 0.0  # monotonic: while settling after a reconnection

    async def connect(self) -> None:
        self._connection = await aio_pika.connect_robust(self.amqp_uri, reconnect_interval=RECONNECT_SECONDS)
        self._connection.close_callbacks.add(self._on_connection_lost)
        self._connection.reconnect_callbacks.add(self._on_reconnected)
        # A request no queue takes comes back (it is ``mandatory``) and fails its call at once;
        # aiormq matches the return to the publish by message id, so every request has one.
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        # Same arguments as nameko declares it with.
        self._exchange = await channel.declare_exchange(RPC_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(f"rpc.reply-{self.reply_key}", exclusive=True, auto_delete=True)
        await queue.bind(self._exchange, routing_key=self.reply_key)
        await queue.consume(self._on_reply, no_ack=True)
        self._up.set()

    def _on_connection_lost(self, _connection: Any, exc: BaseException | None = None) -> None:
        """The broker is away: new calls wait for it (``_until_up``); calls in flight keep
        waiting for their answers, which may come once the reply queue is declared again."""
        if self._up.is_set():
            self.connection_losses += 1
            log.warning("RabbitMQ connection lost (%s): %d calls in flight", exc, len(self._pending))
        self._up.clear()
        self._serving.clear()

    def _on_reconnected(self, _connection: Any) -> None:
        self._serving.clear()
        self._settling_until = time.monotonic() + SETTLING_SECONDS
        self._up.set()
        log.info("RabbitMQ connection restored; waiting up to %g s for services to reconnect", SETTLING_SECONDS)

    async def _until_up(self, service: str, until: float) -> None:
        """Return once the connection is up; ServiceUnavailable if it is not by ``until``."""
        if self._up.is_set():
            return
        try:
            await asyncio.wait_for(self._up.wait(), max(0.0, until - time.monotonic()))
        except TimeoutError:
            raise ServiceUnavailable(service, "the gateway is not connected to RabbitMQ") from None

    async def _until_served(self, service: str, until: float) -> None:
        """Return once an instance of ``service`` takes requests. Refused at once when none does,
        unless the gateway has just reconnected: then its instances are probably reconnecting
        too, and it is asked again until ``until``."""
        while True:
            try:
                if await self._has_consumer(service):
                    return
            except ServiceUnavailable:
                raise
            except Exception as exc:  # the probe only talks to the broker: any failure is its
                # (aiormq fails a pending command with a bare ``Exception`` when the connection closes)
                raise ServiceUnavailable(service, f"RabbitMQ: {exc!r}") from exc
            now = time.monotonic()
            if now >= min(self._settling_until, until):
                raise ServiceUnavailable(service, "no instance is running")
            await asyncio.sleep(SETTLING_CHECK_SECONDS)

    async def _has_consumer(self, service: str) -> bool:
        """Whether an instance of ``service`` takes requests now (its nameko queue ``rpc-<service>``
        has a consumer), asked of RabbitMQ at most once a second per service.

        A request sent while no instance runs waits in the queue until its expiration and runs
        if one comes back in time: its caller could only be told "outcome unknown" after the
        whole deadline (30 s for a mutation). Asked first, a service that is down is refused at
        once with nothing sent, which is the truth."""
        now = time.monotonic()
        checked = self._serving.get(service)
        fresh = SETTLING_CHECK_SECONDS if now < self._settling_until else SERVING_CHECK_SECONDS
        if checked is not None and now - checked[0] < fresh:
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
    def broker_up(self) -> bool:
        """Whether the connection and its channels are up now (False from the moment it closes
        until the robust connection has restored them, reply queue included)."""
        return self._up.is_set()

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
        started = time.monotonic()
        deadline = timeout or self.default_timeout
        waits_until = started + min(deadline, RECOVERY_WAIT_SECONDS)
        await self._until_up(service, waits_until)
        await self._until_served(service, waits_until)
        # What is left of the deadline after waiting for the broker or the service.
        remaining = max(0.001, started + deadline - time.monotonic())
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
            expiration=remaining,
        )
        self.calls += 1
        try:
            try:
                await self._exchange.publish(message, routing_key=f"{service}.{method}", mandatory=True)
            except DeliveryError as exc:
                raise ServiceUnavailable(service, "no instance has ever served it") from exc
            except Exception as exc:  # the publish only talks to the broker: any failure is its
                # The channel closed under it, or is re-opening after a broker restart (aiormq fails
                # a pending confirm with a bare ``Exception``; aio_pika: "Connection was not opened").
                raise ServiceUnavailable(service, f"RabbitMQ: {exc!r}") from exc
            try:
                reply = await asyncio.wait_for(future, remaining)
            except TimeoutError as exc:
                raise OutcomeUnknown(service, f"no answer within {deadline:g} s") from exc
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
