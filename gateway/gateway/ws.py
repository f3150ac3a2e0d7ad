"""GraphQL over WebSocket with the ``graphql-transport-ws`` protocol (the one Apollo Client,
urql and graphql-ws speak), on the same path as HTTP.

Messages: connection_init (its payload may carry ``Authorization: Bearer <token>`` and
``Accept-Language``, else the handshake's header is used) →
connection_ack; ping/pong; subscribe {id, payload} → next* → complete; complete from the
client stops an operation. Protocol faults close the socket with the protocol's codes.
Queries and mutations may be sent too: they answer once, then complete.

Errors (``error`` messages and ``next`` payloads' ``errors``) are written in the connection's
language, like HTTP ``userErrors``: connection_init's ``Accept-Language``, else the upgrade
request's header, else English (``localize``). graphql-core's own parse and validation messages,
which name the document's fields, stay in English.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError, OperationType, execute, subscribe
from starlette.websockets import WebSocket, WebSocketDisconnect

from parentnet_kit import i18n
from parentnet_kit.i18n import t

from .auth import Authenticator, BadToken, client_address
from .context import Context
from .graphql_http import Runner, budget_key, client_error, format_execution_error, shape_result
from .observe import log_operation
from .rpc import CountingRpc, RpcClient, ServiceUnavailable

log = logging.getLogger(__name__)

PROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT = 10.0
MAX_OPERATIONS = 25
ALL_OPERATIONS = frozenset(OperationType)
VIEWER_REFRESH_SECONDS = 30.0
# How long a subscribe may hold the connection's next message while its checks run.
LISTEN_DEADLINE = 10.0


# Sentences other modules raise in English (resolvers, the HTTP layer's refusals): marked here so
# that the catalogues hold them and this connection can write them in its language.
KNOWN_SENTENCES = frozenset(
    (
        t("Sign in to do this."),
        t("Sign in again: your account was not found."),
        t("You may not do this."),
        t("Internal server error."),
        t("No such thread."),
        t("No such question."),
        t("No such outing."),
        t("outingId is not an outing's ID."),
        t("near must be a valid point and radiusKm more than 0 and at most 100."),
        t("The request has no query."),
        t("variables must be a JSON object."),
        t("operationName must be a string."),
    )
)
# Sentences with a value in them, as graphql_http writes them: (its pattern, its msgid).
PATTERNS = (
    (re.compile(r"The (?P<service>\w+) service is unavailable; try again shortly\."), "service_unavailable"),
    (re.compile(r"Too many requests; try again in (?P<seconds>\d+) s\."), "rate_limited"),
    (re.compile(r"The query is too large: at most (?P<tokens>\d+) tokens\."), "too_large"),
)


def _pattern_message(name: str, values: dict[str, str]) -> i18n.Message:
    if name == "service_unavailable":
        return t("The {service} service is unavailable; try again shortly.", service=values["service"])
    if name == "rate_limited":
        return t("Too many requests; try again in {seconds} s.", seconds=int(values["seconds"]))
    return t("The query is too large: at most {tokens} tokens.", tokens=int(values["tokens"]))


def localize(errors: list[dict[str, Any]], language: str) -> list[dict[str, Any]]:
    """``errors`` (``{message, ...}``) with each message written in ``language``: a marked one
    (``i18n.t``) from its msgid and values, a known English sentence from the catalogues; any
    other text (graphql-core's, or one already written in the caller's language) as it is."""
    if language == i18n.DEFAULT:
        return errors
    shown = []
    for error in errors:
        message = error.get("message")
        if isinstance(message, i18n.Message):
            text = i18n.render(message, language)
        elif isinstance(message, str) and message in KNOWN_SENTENCES:
            text = i18n.translations(language).gettext(message)
        else:
            text = message
            for pattern, name in PATTERNS:
                found = pattern.fullmatch(message) if isinstance(message, str) else None
                if found:
                    text = i18n.render(_pattern_message(name, found.groupdict()), language)
                    break
        shown.append({**error, "message": text})
    return shown


class Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class Connection:
    def __init__(
        self,
        socket: WebSocket,
        runner: Runner,
        rpc: RpcClient,
        authenticator: Authenticator,
        feed: Any,
        max_message_bytes: int = 64 * 1024,
        trust_forwarded: bool = False,
    ) -> None:
        self.socket, self.runner, self.schema, self.rpc = socket, runner, runner.schema, rpc
        self.authenticator, self.feed = authenticator, feed
        # The same bound as an HTTP body (uvicorn's ws_max_size stops larger frames earlier).
        self.max_message_bytes = max_message_bytes
        # Behind a proxy, the same client address as HTTP's, so both spend one budget.
        self.trust_forwarded = trust_forwarded
        self.acked = False
        self.viewer_id: str | None = None
        self.session_id: str | None = None
        self.accept_language: str | None = None
        self.language = i18n.DEFAULT  # errors are written in it (connection_init, else the upgrade's header)
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.send_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        payload = message.get("payload")
        if message.get("type") == "next" and isinstance(payload, dict) and payload.get("errors"):
            message = {**message, "payload": {**payload, "errors": localize(payload["errors"], self.language)}}
        async with self.send_lock:
            await self.socket.send_text(orjson.dumps(message).decode())

    async def send_error(self, op_id: str, errors: list[dict[str, Any]]) -> None:
        """The protocol's ``error`` message: that operation is over, the connection stays."""
        await self.send({"type": "error", "id": op_id, "payload": localize(errors, self.language)})

    async def serve(self) -> None:
        if PROTOCOL not in self.socket.scope.get("subprotocols", []):
            await self.socket.close(4406, "Subprotocol not acceptable")
            return
        await self.socket.accept(subprotocol=PROTOCOL)
        try:
            await asyncio.wait_for(self._first_message(), INIT_TIMEOUT)
            while True:
                await self._handle(await self._receive())
        except TimeoutError:
            await self._close(4408, "Connection initialisation timeout")
        except Closed as closed:
            await self._close(closed.code, closed.reason)
        except WebSocketDisconnect:
            pass
        finally:
            for task in self.operations.values():
                task.cancel()

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await self.socket.close(code, reason)

    async def _receive(self) -> dict[str, Any]:
        while True:
            text = await self.socket.receive_text()
            if len(text) > self.max_message_bytes and len(text.encode("utf-8", "replace")) > self.max_message_bytes:
                raise Closed(1009, f"Message too big: at most {self.max_message_bytes} bytes")
            try:
                message = orjson.loads(text)
            except ValueError:
                message = await self._not_unicode(text)
                if message is None:
                    continue
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                raise Closed(4400, "Message has no type")
            return message

    async def _not_unicode(self, text: str) -> None:
        """A message orjson refused: JSON with a lone surrogate (``\\ud800``) fails that one
        operation; anything else is a protocol fault."""
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):
            raise Closed(4400, "Message is not JSON") from None
        op_id = message.get("id") if isinstance(message, dict) else None
        if not isinstance(op_id, str) or message.get("type") != "subscribe" or not self.acked:
            raise Closed(4400, "Message is not valid JSON in UTF-8")
        message = t(
            "The message holds a string that is not valid Unicode (a lone surrogate such as {example}).",
            example="\\ud800",
        )
        await self.send_error(op_id, [client_error(message, "BAD_USER_INPUT")])
        return None

    async def _first_message(self) -> None:
        message = await self._receive()
        if message["type"] != "connection_init":
            raise Closed(4401, "Unauthorized")
        await self._handle(message)

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "connection_init":
            await self._init(message.get("payload") or {})
        elif kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "subscribe":
            await self._subscribe(message)
        elif kind == "complete":
            task = self.operations.pop(str(message.get("id")), None)
            if task:
                task.cancel()
        else:
            raise Closed(4400, f"Unknown message type {kind}")

    async def _init(self, payload: Any) -> None:
        if self.acked:
            raise Closed(4429, "Too many initialisation requests")
        header = None
        if isinstance(payload, dict):
            header = payload.get("Authorization") or payload.get("authorization")
            if header is None and payload.get("token"):
                header = f"Bearer {payload['token']}"
        try:
            viewer = await self.authenticator.from_header(header)
        except BadToken:
            raise Closed(4403, "Forbidden") from None
        except ServiceUnavailable:
            raise Closed(1011, "Sign-in check unavailable") from None
        if viewer is not None:
            self.viewer_id, self.session_id = viewer.member_id, viewer.session_id
        language = None
        if isinstance(payload, dict):
            language = payload.get("Accept-Language") or payload.get("accept-language")
        self.accept_language = language if isinstance(language, str) else self.socket.headers.get("accept-language")
        self.language = i18n.negotiate(i18n.accept_language(self.accept_language))
        self.acked = True
        await self.send({"type": "connection_ack"})

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if not self.acked:
            raise Closed(4401, "Unauthorized")
        op_id, payload = message.get("id"), message.get("payload")
        if not isinstance(op_id, str) or not op_id or not isinstance(payload, dict):
            raise Closed(4400, "subscribe needs an id and a payload")
        if op_id in self.operations:
            raise Closed(4409, f"Subscriber for {op_id} already exists")
        if len(self.operations) >= MAX_OPERATIONS:
            refusal = client_error(t("Too many operations on this connection."), "TOO_MANY_OPERATIONS")
            await self.send_error(op_id, [refusal])
            return
        context = Context(
            request=None,
            rpc=CountingRpc(self.rpc),
            viewer_id=self.viewer_id,
            session_id=self.session_id,
            client=client_address(self.socket, self.trust_forwarded),
            authenticator=self.authenticator,
            feed=self.feed,
            refresh_viewer_after=VIEWER_REFRESH_SECONDS,
            accept_language=self.accept_language,
            listening=asyncio.Event(),
        )
        # The same steps and budget as over HTTP: size, limits, variables, cost.
        variables, operation_name = payload.get("variables"), payload.get("operationName")
        refused, document, operation, cost = await self.runner.prepare(
            payload.get("query"), variables, operation_name, budget_key(context), ALL_OPERATIONS
        )
        if refused is not None:
            await self.send_error(op_id, refused.errors)
            return
        if op_id in self.operations:  # sent again while this one was being checked
            raise Closed(4409, f"Subscriber for {op_id} already exists")
        task = asyncio.create_task(self._run(op_id, document, operation, variables, operation_name, context, cost))
        self.operations[op_id] = task
        if operation is not None and operation.operation == OperationType.SUBSCRIPTION and context.listening:
            # The connection's next message waits until the subscription listens (its checks
            # done, its queue registered) or has ended: what the client sends after a subscribe,
            # a ping or a mutation, comes after the subscription started, as the client sent it.
            listening = asyncio.ensure_future(context.listening.wait())
            try:
                await asyncio.wait({listening, task}, timeout=LISTEN_DEADLINE, return_when=asyncio.FIRST_COMPLETED)
            finally:
                listening.cancel()

    async def _run(
        self, op_id: str, document: Any, operation: Any, variables: Any, name: Any, context: Context, cost: int
    ) -> None:
        budget = self.runner.budget(budget_key(context), cost)
        try:
            if operation.operation == OperationType.SUBSCRIPTION:
                stream = await subscribe(
                    self.schema, document, context_value=context, variable_values=variables, operation_name=name
                )
                if isinstance(stream, ExecutionResult):
                    await self.send_error(op_id, [format_execution_error(e) for e in stream.errors or []])
                    return
                try:
                    async for result in stream:
                        await self.send({"type": "next", "id": op_id, "payload": shape_result(result, False)})
                except (asyncio.CancelledError, WebSocketDisconnect):
                    raise
                except Exception as exc:  # noqa: BLE001 - the subscription's resolver refused or failed
                    # Raised by the source stream before or between events (a missing sign-in, a bad
                    # argument): the client hears it as this operation's error, not as silence.
                    message = exc.message if isinstance(exc, GraphQLError) else str(exc)
                    error = GraphQLError(message, path=[operation_field(operation)], original_error=exc)
                    await self.send_error(op_id, [format_execution_error(error)])
                    return
                finally:
                    await stream.aclose()
            else:
                mutation = operation.operation == OperationType.MUTATION
                if mutation and self.runner.mutation_timeout and isinstance(context.rpc, CountingRpc):
                    context.rpc.timeout = self.runner.mutation_timeout
                began = time.perf_counter()
                result = execute(
                    self.schema, document, context_value=context, variable_values=variables, operation_name=name
                )
                if not isinstance(result, ExecutionResult):
                    result = await result
                payload = shape_result(result, mutation, budget)
                calls = context.rpc.calls if isinstance(context.rpc, CountingRpc) else 0
                # Queries and mutations only: a subscription's time is how long the client stays.
                log_operation(operation, name, payload, 200, time.perf_counter() - began, calls, "websocket")
                await self.send({"type": "next", "id": op_id, "payload": payload})
            await self.send({"type": "complete", "id": op_id})
        except asyncio.CancelledError:
            raise
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            self.operations.pop(op_id, None)


def operation_field(operation: Any) -> str:
    """The response key of an operation's first field (a subscription has exactly one)."""
    first = operation.selection_set.selections[0]
    node = getattr(first, "alias", None) or getattr(first, "name", None)
    return node.value if node is not None else "subscription"
