"""One GraphQL request, whatever the transport (POST, GET, websocket): parse and validate once per
distinct document, check limits and the client's budget, coerce variables, execute, shape errors.

Top-level ``errors`` carry ``extensions.code``. A client's mistake says so with graphql-core's own
words (``GRAPHQL_PARSE_FAILED``, ``GRAPHQL_VALIDATION_FAILED``, ``BAD_USER_INPUT``, a limit's
code); ``INTERNAL_SERVER_ERROR`` is only for what the server did wrong. Problems the user can fix
in a mutation's input travel as ``userErrors`` inside payloads instead.

Every answer carries ``extensions.cost``: ``{"requested": points, "maximum": points per request,
"remaining": points left in the client's budget, "restorePerSecond": points}`` (as GitHub's and
Shopify's APIs do), so apps slow down before a 429.
"""

from __future__ import annotations

import asyncio
import logging
import re
import traceback
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.validation import NoSchemaIntrospectionCustomRule

from .errors import Forbidden, Unauthenticated
from .limits import Limits, RateLimiter, depth_errors, request_errors, shape_errors
from .rpc import CountingRpc, OutcomeUnknown, RemoteError, ServiceUnavailable
from .uploads import Upload

log = logging.getLogger(__name__)
# "Did you mean ...?" hints would describe the schema to a client that may not see it.
_SUGGESTION = re.compile(r"\s*Did you mean .*$")
# A count of a document's tokens by regular expressions (C speed, ~1 ms for 60 KB): strings
# and comments are dropped, then names, numbers and punctuators counted. It refuses a document
# far past max_tokens before graphql-core's lexer (Python, ~10 µs a token) reads any of it.
_STRINGS = re.compile(r'"""(?:\\"""|[^"]|"(?!""))*"""|"(?:\\.|[^"\\\n])*"|#[^\n]*')
_TOKENS = re.compile(r"[_A-Za-z][_0-9A-Za-z]*|-?\d[\w.+-]*|\.\.\.|[!$&()\[\]{}:=@|]")
Compiled = tuple[DocumentNode | None, list[dict[str, Any]]]


# What a refused document costs its client (points; the budget refills 200,000 a minute): a
# refusal is cheap (0.2-110 ms, the limits bound it) but not free, and 40 a minute per client is
# more than any app that works sends.
REFUSED_COST = 5_000


class DocumentCache:
    """Parsed and validated documents by query text, least recently used evicted.

    A document not seen before is compiled on a worker thread, so the event loop keeps serving
    other clients meanwhile (the interpreter switches threads every 5 ms); the limits in
    ``limits`` bound that work to a few tens of milliseconds whatever the document."""

    def __init__(
        self, schema: GraphQLSchema, introspection: bool, size: int = 512, limits: Limits | None = None
    ) -> None:
        self.schema = schema
        self.limits = limits or Limits()
        self.rules = list(specified_rules) + ([] if introspection else [NoSchemaIntrospectionCustomRule])
        self.size = size
        self._entries: OrderedDict[str, Compiled] = OrderedDict()
        self.hits = 0
        self.misses = 0
        # One thread: documents compile one at a time, so however many a client sends, the
        # event loop shares the interpreter with one compilation at most.
        self._compiler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="graphql-compile")

    def _cached(self, query: str) -> Compiled | None:
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
            self.hits += 1
        return entry

    def _store(self, query: str, entry: Compiled) -> Compiled:
        self.misses += 1
        self._entries[query] = entry
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry

    async def compile(self, query: str) -> Compiled:
        """The document and [], or None and the errors for the client; a new document is
        compiled on the compile thread."""
        cached = self._cached(query)
        if cached is not None:
            return cached
        if len(_TOKENS.findall(_STRINGS.sub(" ", query))) > self.limits.max_tokens:
            return self._too_large()
        compiled = await asyncio.get_running_loop().run_in_executor(self._compiler, self._compile, query)
        return self._store(query, compiled)

    def _too_large(self) -> Compiled:
        return None, [
            client_error(f"The query is too large: at most {self.limits.max_tokens} tokens.", "QUERY_TOO_LARGE")
        ]

    def _compile(self, query: str) -> Compiled:
        if len(query) > self.limits.max_tokens * 64:  # far beyond any document within max_tokens
            return self._too_large()
        try:
            document = parse(query, max_tokens=self.limits.max_tokens)
        except GraphQLError as error:
            if "tokens" in error.message:  # graphql-core's max_tokens: "Document contains more than N tokens."
                return self._too_large()
            return None, [client_error(error.message, "GRAPHQL_PARSE_FAILED", error)]
        # Bounded before validation: graphql-core's rules are quadratic in some shapes.
        refused = shape_errors(document, self.limits)
        if refused:
            return None, refused
        errors = validate(self.schema, document, self.rules)
        if any(e.message.startswith("GraphQL introspection has been disabled") for e in errors):
            message = "Introspection is switched off on this server (GATEWAY_INTROSPECTION=false)."
            return None, [client_error(message, "INTROSPECTION_DISABLED")]
        if errors:
            return None, [client_error(_SUGGESTION.sub("", e.message), "GRAPHQL_VALIDATION_FAILED", e) for e in errors]
        # After validation: the depth rule assumes no fragment cycles and no unknown fragments.
        refused = depth_errors(self.schema, document, self.limits)
        if refused:
            return None, refused
        return document, []


def client_error(message: str, code: str, error: GraphQLError | None = None) -> dict[str, Any]:
    """A top-level error for the client: ``{"message", "extensions": {"code"}, "locations"?}``."""
    formatted: dict[str, Any] = {"message": message, "extensions": {"code": code}}
    if error is not None and error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    return formatted


def _raised_by_graphql_core(error: BaseException) -> bool:
    """Whether graphql-core itself raised ``error`` (e.g. a scalar that cannot serialize what a
    resolver returned: the server's fault) rather than the gateway's own code."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and f"{'/'}graphql{'/'}" in frames[-1].filename.replace("\\", "/")


def format_execution_error(error: GraphQLError, mutation: bool = False) -> dict[str, Any]:
    """An error from execution as the client sees it. ``mutation``: the operation changes
    something, so a call whose answer did not come in time has an unknown outcome."""
    original = error.original_error
    formatted: dict[str, Any] = {"message": error.message, "path": error.path}
    if error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if isinstance(original, Unauthenticated | Forbidden):
        formatted["extensions"] = {"code": "UNAUTHENTICATED" if isinstance(original, Unauthenticated) else "FORBIDDEN"}
    elif isinstance(original, RemoteError) and original.exc_type == "Forbidden":
        # A service refused to act for this viewer (parentnet_kit.identity); what it knows stays there.
        log.warning("%s refused at %s: %s", original.service, error.path, original)
        formatted["message"] = "You may not do this."
        formatted["extensions"] = {"code": "FORBIDDEN"}
    elif isinstance(original, OutcomeUnknown) and mutation:
        formatted["message"] = (
            f"The {original.service} service did not answer in time: the change may or may not have been made. "
            "Retry with the same Idempotency-Key header to get its outcome without making it twice."
        )
        formatted["extensions"] = {"code": "OUTCOME_UNKNOWN", "service": original.service}
    elif isinstance(original, ServiceUnavailable):
        formatted["message"] = f"The {original.service} service is unavailable; try again shortly."
        formatted["extensions"] = {"code": "SERVICE_UNAVAILABLE", "service": original.service}
    elif original is None or (isinstance(original, GraphQLError) and not _raised_by_graphql_core(original)):
        # Arguments that cannot be coerced, or a resolver refusing its input on purpose.
        # Keep what the resolver said of it (``field``: the argument at fault).
        formatted["extensions"] = {**(error.extensions or {}), "code": "BAD_USER_INPUT"}
    else:
        if isinstance(original, RemoteError):
            log.error("remote error at %s: %s", error.path, original)
        else:
            log.error("resolver failed at %s", error.path, exc_info=original)
        formatted["message"] = "Internal server error."
        formatted["extensions"] = {"code": "INTERNAL_SERVER_ERROR"}
    return formatted


@dataclass
class Answer:
    """What one request comes to. ``request_error``: refused before execution (no ``data``),
    answered 400 with application/graphql-response+json and 200 with application/json, as the
    GraphQL-over-HTTP spec says. ``status``: a fixed HTTP status (405, 429, ...) instead."""

    body: dict[str, Any]
    request_error: bool = False
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # The operation executed (None when refused before it was known): for the access log.
    operation: OperationDefinitionNode | None = None

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.body.get("errors", [])


def request_error(*errors: dict[str, Any]) -> Answer:
    return Answer({"errors": list(errors)}, request_error=True)


def surrogate_free(value: Any) -> bool:
    """Whether every string in a decoded JSON value is valid Unicode (no lone surrogate, which
    Python's json accepts from ``\\ud800`` and nothing downstream can encode)."""
    try:
        orjson.dumps(value, default=_upload_as_null)
    except TypeError:
        return False
    return True


def _upload_as_null(value: Any) -> None:
    """A file of a multipart request among variables: no text to check in it."""
    if isinstance(value, Upload):
        return None
    raise TypeError(type(value).__name__)


class Runner:
    """Runs GraphQL requests against one schema with one set of limits and budgets."""

    def __init__(
        self,
        schema: GraphQLSchema,
        cache: DocumentCache,
        rate_limiter: RateLimiter | None = None,
        mutation_timeout: float | None = None,
    ) -> None:
        self.schema, self.cache, self.rate_limiter = schema, cache, rate_limiter
        self.mutation_timeout = mutation_timeout
        self._introspections: OrderedDict[tuple[str, Any, bytes], ExecutionResult] = OrderedDict()

    def budget(self, client: str, requested: int) -> dict[str, Any]:
        """``extensions.cost`` for a client after a request of ``requested`` points."""
        cost: dict[str, Any] = {"requested": requested, "maximum": self.cache.limits.max_cost}
        if self.rate_limiter is not None:
            cost["remaining"] = self.rate_limiter.remaining(client)
            cost["restorePerSecond"] = round(self.rate_limiter.rate, 3)
        return cost

    async def prepare(
        self, query: Any, variables: Any, operation_name: Any, client: str, allowed: frozenset[OperationType]
    ) -> tuple[Answer | None, DocumentNode | None, OperationDefinitionNode | None, int]:
        """Everything before execution: an Answer refusing the request, or the document, the
        operation to execute and its cost in points (already spent from ``client``'s budget)."""
        if not isinstance(query, str) or not query.strip():
            refusal = client_error("The request has no query.", "BAD_REQUEST")
            return Answer({"errors": [refusal]}, status=400), None, None, 0
        if variables is not None and not isinstance(variables, dict):
            refusal = client_error("variables must be a JSON object.", "BAD_REQUEST")
            return Answer({"errors": [refusal]}, status=400), None, None, 0
        if operation_name is not None and not isinstance(operation_name, str):
            refusal = client_error("operationName must be a string.", "BAD_REQUEST")
            return Answer({"errors": [refusal]}, status=400), None, None, 0
        if variables and not surrogate_free(variables):
            message = "variables hold a string that is not valid Unicode (a lone surrogate such as \\ud800)."
            return request_error(client_error(message, "BAD_USER_INPUT")), None, None, 0
        if self.rate_limiter is not None and self.rate_limiter.remaining(client) <= 0:
            return self._too_many(client, 0, self.rate_limiter.spend(client, 1) or 1.0), None, None, 0
        document, errors = await self.cache.compile(query)
        if document is None:
            # Refusing a document took parsing and checking it: that is paid from the budget too,
            # or a client looping refused documents would cost others for nothing.
            wait = self.rate_limiter.spend(client, REFUSED_COST) if self.rate_limiter is not None else None
            if wait is not None:
                return self._too_many(client, 0, wait), None, None, 0
            return request_error(*errors), None, None, 0
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            message = (
                f"No operation named {operation_name!r} in the document."
                if operation_name
                else "The document has several operations: say which one with operationName."
            )
            return request_error(client_error(message, "BAD_REQUEST")), None, None, 0
        if operation.operation not in allowed:
            if operation.operation == OperationType.SUBSCRIPTION:
                message = "Subscriptions run over the websocket (graphql-transport-ws) on this path."
            else:
                message = "Only queries may be sent with GET; send mutations with POST."
            refusal = client_error(message, "METHOD_NOT_ALLOWED")
            return Answer({"errors": [refusal]}, status=405, headers={"Allow": "POST"}), None, None, 0
        coerced = get_variable_values(
            self.schema, operation.variable_definitions or (), variables or {}, hide_suggestions=True
        )
        if isinstance(coerced, list):
            return request_error(*(client_error(e.message, "BAD_USER_INPUT", e) for e in coerced)), None, None, 0
        cost, errors = request_errors(document, operation, coerced, self.cache.limits, self.schema)
        if errors:
            return request_error(*errors), None, None, 0
        if self.rate_limiter is not None:
            wait = self.rate_limiter.spend(client, cost)
            if wait is not None:
                return self._too_many(client, cost, wait), None, None, 0
        return None, document, operation, cost

    def _too_many(self, client: str, cost: int, wait: float) -> Answer:
        refusal = client_error(f"Too many requests; try again in {wait:.0f} s.", "RATE_LIMITED")
        seconds = int(wait + 0.999)
        refusal["extensions"]["retryAfterSeconds"] = seconds
        body = {"errors": [refusal], "extensions": {"cost": self.budget(client, cost)}}
        return Answer(body, status=429, headers={"Retry-After": str(seconds)})

    async def run(
        self,
        query: Any,
        variables: Any,
        operation_name: Any,
        context: Any,
        allowed: frozenset[OperationType] = frozenset({OperationType.QUERY, OperationType.MUTATION}),
    ) -> Answer:
        """One request, start to end. ``context.client`` names whose budget pays."""
        client = budget_key(context)
        refused, document, operation, cost = await self.prepare(query, variables, operation_name, client, allowed)
        if refused is not None:
            refused.body.setdefault("extensions", {}).setdefault("cost", self.budget(client, 0))
            return refused
        assert document is not None and operation is not None
        mutation = operation.operation == OperationType.MUTATION
        if mutation and self.mutation_timeout and isinstance(context.rpc, CountingRpc):
            context.rpc.timeout = self.mutation_timeout
        if introspection_only(operation):
            result = await self.introspect(query, document, variables, operation_name)
        else:
            result = execute(
                self.schema, document, variable_values=variables, operation_name=operation_name, context_value=context
            )
            if not isinstance(result, ExecutionResult):
                result = await result
        return Answer(shape_result(result, mutation, self.budget(client, cost)), operation=operation)

    async def introspect(self, query: str, document: DocumentNode, variables: Any, name: Any) -> ExecutionResult:
        """An introspection-only operation's result, computed once per text and variables on the
        compile thread (the full query takes ~170 ms of pure Python: on the event loop, a client
        repeating it within its budget could stall everyone) and kept: the schema never changes
        in a running process."""
        key = (query, name, orjson.dumps(variables or {}, default=_upload_as_null, option=orjson.OPT_SORT_KEYS))
        cached = self._introspections.get(key)
        if cached is not None:
            self._introspections.move_to_end(key)
            return cached
        result = await asyncio.get_running_loop().run_in_executor(
            self.cache._compiler,
            lambda: execute(self.schema, document, variable_values=variables, operation_name=name),
        )
        assert isinstance(result, ExecutionResult)  # introspection resolves synchronously
        if not result.errors:
            self._introspections[key] = result
            if len(self._introspections) > 32:
                self._introspections.popitem(last=False)
        return result


def introspection_only(operation: OperationDefinitionNode) -> bool:
    """Whether every root field is ``__schema``, ``__type`` or ``__typename`` (fragments aside:
    such an operation just runs normally)."""
    selections = operation.selection_set.selections
    return operation.operation == OperationType.QUERY and all(
        isinstance(s, FieldNode) and s.name.value in ("__schema", "__type", "__typename") for s in selections
    )


def budget_key(context: Any) -> str:
    """Whose budget a request spends: the member when signed in, else the client's address."""
    return context.viewer_id or f"addr:{context.client}"


def shape_result(result: ExecutionResult, mutation: bool, cost: dict[str, Any] | None = None) -> dict[str, Any]:
    """An execution result as the JSON body (or websocket payload) the client gets."""
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [format_execution_error(e, mutation) for e in result.errors]
    if cost is not None:
        body["extensions"] = {"cost": cost}
    return body
