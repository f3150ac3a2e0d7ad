"""GraphQL over HTTP: parse and validate once per distinct document, execute, shape errors.

Top-level ``errors`` are for client and server faults and carry ``extensions.code``;
problems the user can fix travel as ``userErrors`` inside payloads instead.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    execute,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule

from .errors import Forbidden, Unauthenticated
from .limits import Limits, RateLimiter, request_errors, shape_errors
from .rpc import RemoteError, ServiceUnavailable

log = logging.getLogger(__name__)
# "Did you mean ...?" hints would describe the schema to a client that may not see it.
_SUGGESTION = re.compile(r"\s*Did you mean .*$")


class DocumentCache:
    """Parsed and validated documents by query text, least recently used evicted."""

    def __init__(
        self, schema: GraphQLSchema, introspection: bool, size: int = 512, limits: Limits | None = None
    ) -> None:
        self.schema = schema
        self.limits = limits or Limits()
        self.rules = list(specified_rules) + ([] if introspection else [NoSchemaIntrospectionCustomRule])
        self.size = size
        self._entries: OrderedDict[str, tuple[DocumentNode | None, list[dict[str, Any]]]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, query: str) -> tuple[DocumentNode | None, list[dict[str, Any]]]:
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
            self.hits += 1
            return entry
        self.misses += 1
        entry = self._compile(query)
        self._entries[query] = entry
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry

    def _compile(self, query: str) -> tuple[DocumentNode | None, list[dict[str, Any]]]:
        try:
            document = parse(query, max_tokens=self.limits.max_tokens)
        except GraphQLError as error:
            if "tokens" in error.message:  # graphql-core's max_tokens: "Document contains more than N tokens."
                message = f"The query is too large: at most {self.limits.max_tokens} tokens."
                return None, [client_error(message, "QUERY_TOO_LARGE")]
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
        return document, []


def client_error(message: str, code: str, error: GraphQLError | None = None) -> dict[str, Any]:
    formatted: dict[str, Any] = {"message": message, "extensions": {"code": code}}
    if error is not None and error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    return formatted


def format_execution_error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    formatted: dict[str, Any] = {"message": error.message, "path": error.path}
    if isinstance(original, Unauthenticated | Forbidden):
        formatted["extensions"] = {"code": "UNAUTHENTICATED" if isinstance(original, Unauthenticated) else "FORBIDDEN"}
    elif isinstance(original, ServiceUnavailable):
        formatted["message"] = f"The {original.service} service is unavailable; try again shortly."
        formatted["extensions"] = {"code": "SERVICE_UNAVAILABLE", "service": original.service}
    elif original is None:
        formatted["extensions"] = {"code": "BAD_USER_INPUT"}
    else:
        if isinstance(original, RemoteError):
            log.error("remote error at %s: %s", error.path, original)
        else:
            log.exception("resolver failed at %s", error.path, exc_info=original)
        formatted["message"] = "Internal server error."
        formatted["extensions"] = {"code": "INTERNAL_SERVER_ERROR"}
    return formatted


async def run(
    schema: GraphQLSchema,
    cache: DocumentCache,
    query: Any,
    variables: Any,
    operation_name: Any,
    context: Any,
    rate_limiter: RateLimiter | None = None,
) -> tuple[int, dict[str, Any]]:
    """Execute one request; returns an HTTP status and the JSON response body."""
    if not isinstance(query, str) or not query.strip():
        return 400, {"errors": [client_error("The request has no query.", "BAD_REQUEST")]}
    if variables is not None and not isinstance(variables, dict):
        return 400, {"errors": [client_error("variables must be a JSON object.", "BAD_REQUEST")]}
    if operation_name is not None and not isinstance(operation_name, str):
        return 400, {"errors": [client_error("operationName must be a string.", "BAD_REQUEST")]}
    document, errors = cache.get(query)
    if document is None:
        return 400, {"errors": errors}
    cost, errors = request_errors(document, operation_name, variables or {}, cache.limits)
    if errors:
        return 400, {"errors": errors}
    if rate_limiter is not None:
        wait = rate_limiter.spend(context.viewer_id or f"addr:{context.client}", cost)
        if wait is not None:
            refusal = client_error(f"Too many requests; try again in {wait:.0f} s.", "RATE_LIMITED")
            refusal["extensions"]["retryAfterSeconds"] = int(wait + 0.999)
            return 429, {"errors": [refusal]}
    result = execute(schema, document, variable_values=variables, operation_name=operation_name, context_value=context)
    if not isinstance(result, ExecutionResult):
        result = await result
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [format_execution_error(e) for e in result.errors]
    # Failed before execution (e.g. bad variables): a client fault.
    if result.data is None and result.errors and all(e.original_error is None for e in result.errors):
        return 400, body
    return 200, body
