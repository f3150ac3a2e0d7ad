"""GraphQL over WebSocket with the ``graphql-transport-ws`` protocol (the one Apollo Client,
urql and graphql-ws speak), on the same path as HTTP.

Messages: connection_init (its payload may carry ``Authorization: Bearer <token>``) →
connection_ack; ping/pong; subscribe {id, payload} → next* → complete; complete from the
client stops an operation. Protocol faults close the socket with the protocol's codes.
Queries and mutations may be sent too: they answer once, then complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from graphql import ExecutionResult, GraphQLSchema, OperationType, execute, get_operation_ast, subscribe
from starlette.websockets import WebSocket, WebSocketDisconnect

from .auth import Authenticator, BadToken
from .context import Context
from .graphql_http import DocumentCache, format_execution_error
from .limits import request_errors
from .rpc import RpcClient, ServiceUnavailable

log = logging.getLogger(__name__)

PROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT = 10.0
MAX_OPERATIONS = 25
VIEWER_REFRESH_SECONDS = 30.0


class Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class Connection:
    def __init__(
        self,
        socket: WebSocket,
        schema: GraphQLSchema,
        cache: DocumentCache,
        rpc: RpcClient,
        authenticator: Authenticator,
        feed: Any,
    ) -> None:
        self.socket, self.schema, self.cache, self.rpc = socket, schema, cache, rpc
        self.authenticator, self.feed = authenticator, feed
        self.acked = False
        self.viewer_id: str | None = None
        self.session_id: str | None = None
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.send_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.socket.send_text(json.dumps(message))

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
        text = await self.socket.receive_text()
        try:
            message = json.loads(text)
        except ValueError:
            raise Closed(4400, "Message is not JSON") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise Closed(4400, "Message has no type")
        return message

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
            await self.send(
                {
                    "type": "error",
                    "id": op_id,
                    "payload": [
                        {
                            "message": "Too many operations on this connection.",
                            "extensions": {"code": "TOO_MANY_OPERATIONS"},
                        }
                    ],
                }
            )
            return
        query = payload.get("query")
        document, errors = self.cache.get(query) if isinstance(query, str) else (None, [{"message": "No query."}])
        if document is None:
            await self.send({"type": "error", "id": op_id, "payload": errors})
            return
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName")
        _, refused = request_errors(
            document, operation_name, variables if isinstance(variables, dict) else {}, self.cache.limits
        )
        if refused:
            await self.send({"type": "error", "id": op_id, "payload": refused})
            return
        context = Context(
            request=None,
            rpc=self.rpc,
            viewer_id=self.viewer_id,
            session_id=self.session_id,
            client=self.socket.client.host if self.socket.client else "unknown",
            authenticator=self.authenticator,
            feed=self.feed,
            refresh_viewer_after=VIEWER_REFRESH_SECONDS,
        )
        operation = get_operation_ast(document, operation_name)
        task = asyncio.create_task(self._run(op_id, document, operation, variables, operation_name, context))
        self.operations[op_id] = task

    async def _run(
        self, op_id: str, document: Any, operation: Any, variables: Any, name: Any, context: Context
    ) -> None:
        try:
            if operation is not None and operation.operation == OperationType.SUBSCRIPTION:
                stream = await subscribe(
                    self.schema, document, context_value=context, variable_values=variables, operation_name=name
                )
                if isinstance(stream, ExecutionResult):
                    await self.send(
                        {
                            "type": "error",
                            "id": op_id,
                            "payload": [format_execution_error(e) for e in stream.errors or []],
                        }
                    )
                    return
                try:
                    async for result in stream:
                        await self.send({"type": "next", "id": op_id, "payload": _payload(result)})
                finally:
                    await stream.aclose()
            else:
                result = execute(
                    self.schema, document, context_value=context, variable_values=variables, operation_name=name
                )
                if not isinstance(result, ExecutionResult):
                    result = await result
                await self.send({"type": "next", "id": op_id, "payload": _payload(result)})
            await self.send({"type": "complete", "id": op_id})
        except asyncio.CancelledError:
            raise
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            self.operations.pop(op_id, None)


def _payload(result: ExecutionResult) -> dict[str, Any]:
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [format_execution_error(e) for e in result.errors]
    return payload
