"""Limits checked before anything executes, so no request reaches a service when it is refused.

- Static, per document (cached with it): depth, aliases, operations per document.
- Per request (they depend on variables): every ``first`` between 1 and 100, and the
  query's cost. A field costs 1; a field taking ``first`` (a connection or a page) costs 1
  plus ``first`` times what is under it, so nested pages multiply, as they would in the
  services. The same cost is spent from each client's rate-limit budget.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

PAGE_MIN, PAGE_MAX, PAGE_DEFAULT = 1, 100, 20


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 30
    max_operations: int = 10
    max_cost: int = 25_000
    rate_points_per_minute: int = 200_000


def limit_error(message: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extra}}


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _fields(selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode], seen: frozenset[str]):  # noqa: ANN202
    """Fields of a selection set, with fragments spread in (each fragment once per path)."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                yield from _fields(fragments[name].selection_set, fragments, seen | {name})


def static_errors(document: DocumentNode, limits: Limits) -> list[dict[str, Any]]:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) > limits.max_operations:
        return [limit_error(f"At most {limits.max_operations} operations per request.", "TOO_MANY_OPERATIONS")]
    fragments = _fragments(document)
    deepest, aliases = 0, 0

    def walk(selection_set: SelectionSetNode | None, depth: int) -> None:
        nonlocal deepest, aliases
        for field in _fields(selection_set, fragments, frozenset()):
            if field.alias is not None:
                aliases += 1
            deepest = max(deepest, depth)
            if depth <= limits.max_depth and aliases <= limits.max_aliases:
                walk(field.selection_set, depth + 1)

    for operation in operations:
        walk(operation.selection_set, 1)
    errors = []
    if deepest > limits.max_depth:
        errors.append(
            limit_error(f"The query is nested too deep: at most {limits.max_depth} levels.", "QUERY_TOO_DEEP")
        )
    if aliases > limits.max_aliases:
        errors.append(limit_error(f"At most {limits.max_aliases} aliases per request.", "TOO_MANY_ALIASES"))
    return errors


def _first(field: FieldNode, variables: dict[str, Any]) -> tuple[bool, Any]:
    for argument in field.arguments or ():
        if argument.name.value != "first":
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return True, int(value.value)
        if isinstance(value, VariableNode):
            return True, variables.get(value.name.value, PAGE_DEFAULT)
        return True, None
    return False, None


def request_errors(
    document: DocumentNode, operation_name: str | None, variables: dict[str, Any], limits: Limits
) -> tuple[int, list[dict[str, Any]]]:
    """The cost of the operation to run, and errors for pages out of range or a cost too high."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if not chosen:
        return 0, []  # execution reports the unknown operation
    fragments = _fragments(document)
    errors: list[dict[str, Any]] = []

    def cost(selection_set: SelectionSetNode | None, path: tuple[str, ...]) -> int:
        total = 0
        for field in _fields(selection_set, fragments, frozenset()):
            name = (field.alias or field.name).value
            has_first, first = _first(field, variables)
            if has_first and first is None:
                first = PAGE_DEFAULT
            if has_first and (
                not isinstance(first, int) or isinstance(first, bool) or not PAGE_MIN <= first <= PAGE_MAX
            ):
                errors.append(
                    limit_error(
                        f"first must be between {PAGE_MIN} and {PAGE_MAX} (at {'.'.join((*path, name))}).",
                        "BAD_USER_INPUT",
                        argument="first",
                        path=[*path, name],
                    )
                )
                first = PAGE_MAX
            inner = cost(field.selection_set, (*path, name)) if field.selection_set else 0
            total += 1 + (first if has_first else 1) * inner
        return total

    spent = cost(chosen[0].selection_set, ())
    if spent > limits.max_cost and not errors:
        errors.append(
            limit_error(
                f"The query costs {spent}; at most {limits.max_cost} per request.", "QUERY_TOO_COSTLY", cost=spent
            )
        )
    return spent, errors


class RateLimiter:
    """Per-client budgets of query cost, refilled continuously (a token bucket per client)."""

    def __init__(self, points_per_minute: int, clients: int = 50_000) -> None:
        self.rate = points_per_minute / 60.0
        self.capacity = float(points_per_minute)
        self.clients = clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def spend(self, client: str, points: int) -> float | None:
        """Spend ``points``; None when allowed, else the seconds to wait."""
        now = time.monotonic()
        level, at = self._buckets.pop(client, (self.capacity, now))
        level = min(self.capacity, level + (now - at) * self.rate)
        if points > level:
            self._buckets[client] = (level, now)
            return max(1.0, (points - level) / self.rate)
        self._buckets[client] = (level - points, now)
        if len(self._buckets) > self.clients:
            self._buckets.popitem(last=False)
        return None
