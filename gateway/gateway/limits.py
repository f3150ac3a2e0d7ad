"""Limits checked before anything executes, so no request reaches a service when it is refused.

Every transport (POST, GET, websocket, persisted queries) runs the same four steps, in this order:

- Before and while parsing: at most ``max_tokens`` lexical tokens (counted by a regular
  expression first, then by graphql-core's parser), so parsing is bounded by the limit, not by
  the body size (graphql-core's lexer costs ~10 µs a token).
- Before validation (``shape_errors``, one pass that spreads each fragment once, memoised):
  operations per document, fields once fragments are spread (``max_fields``), fields sharing
  one response key in one selection set (``max_same_key``: graphql-core's "overlapping fields"
  rule compares those pairwise, 1,000 of them took 1.8 s), aliases, and the shape of
  introspection. A document of fragments each spreading the one before twice is 2^levels fields
  spread: it is refused from its counts, never walked (18 levels held the event loop 2.5 s).
- After validation (``depth_errors``): depth, by graphene's ``depth_limit_validator`` (a
  graphql-core validation rule). It walks every fragment spread again (no memo) and follows
  spreads without checking for cycles or unknown fragments, so it runs only on a document that
  ``shape_errors`` bounded (at most ``max_fields`` fields spread) and validation accepted (no
  cycles, every fragment known).
- Per request (they depend on variables): every ``first`` between 1 and 100, and the query's
  cost. A field costs 1; a field taking ``first`` (a connection or a page) costs 1 plus
  ``first`` times what is under it, so nested pages multiply, as they would in the services.
  ``__schema`` costs ``schema_cost`` (1,000) more: the full introspection query is ~170 ms of
  work the first time a text is seen; ``pictureAdd`` costs ``upload_cost`` (9,900) more, the
  CPU of decoding its file (at most 20 a minute at the default budget). The same cost is spent
  from each client's budget.

Introspection (``__schema``, ``__type``) does not count against ``max_depth`` (the library rule
skips fields whose name starts with ``__``, past the depth where it checks them): the standard
queries (graphql-js ``getIntrospectionQuery()``, graphql-core ``get_introspection_query()``,
what GraphiQL, gql and codegen send) are 14 levels deep. It has its own rule instead, the
standard shape: on any path at most one of ``fields``/``inputFields``/``interfaces``/
``possibleTypes``/``enumValues`` (a second one multiplies the answer by every type's fields
again) and at most ``max_of_type`` nested ``ofType``.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from graphene.validation import depth_limit_validator
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    TypeInfo,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
)

PAGE_MIN, PAGE_MAX, PAGE_DEFAULT = 1, 100, 20
INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
# Mutations whose work is decoding a file (pictures.py): each costs Limits.upload_cost more.
UPLOAD_FIELDS = frozenset({"pictureAdd"})
# __Type's fields that list other types' parts: one per path is the standard shape.
TYPE_EXPANSIONS = frozenset({"fields", "inputFields", "interfaces", "possibleTypes", "enumValues"})


@dataclass(frozen=True)
class Limits:
    """What one document may ask for. Counts, not bytes: see the module's docstring."""

    max_depth: int = 12
    max_aliases: int = 30
    max_operations: int = 10
    max_cost: int = 25_000
    rate_points_per_minute: int = 200_000
    max_tokens: int = 3_000  # the largest docs/ query has 207, the full introspection query 191
    max_fields: int = 2_000
    max_same_key: int = 20
    max_of_type: int = 10  # graphql-js and graphql-core nest 9 by default (typeDepth)
    # What a __schema field costs besides its fields: the full introspection query runs ~170 ms
    # of pure Python (once per text: the result is kept), so a client may make few new ones.
    schema_cost: int = 1_000
    # What a mutation taking a file costs besides its fields: a 12 MP photo is ~0.6-3.5 s of one
    # of the two decode threads. 9,900 (with its fields, ~9,916) lets one client add at most 20
    # pictures a minute at the default budget of 200,000 points.
    upload_cost: int = 9_900


def limit_error(message: str, code: str, **extra: Any) -> dict[str, Any]:
    """A top-level error: ``{"message", "extensions": {"code", **extra}}``."""
    return {"message": message, "extensions": {"code": code, **extra}}


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


@dataclass
class _Shape:
    """What a selection set amounts to once its fragments are spread (numbers capped, see ``_cap``)."""

    fields: int = 0
    aliases: int = 0
    keys: Counter[str] = field(default_factory=Counter)  # response keys at this level
    expansions: int = 0  # most TYPE_EXPANSIONS on one path (introspection)
    of_types: int = 0  # most ofType on one path (introspection)
    worst_same_key: int = 0  # most fields sharing a response key, in any selection set below


class _ShapeWalk:
    """One pass over a document; each fragment's shape is computed once (cycles count as empty:
    validation reports them)."""

    def __init__(self, document: DocumentNode, limits: Limits) -> None:
        self.fragments = _fragments(document)
        self.limits = limits
        self.cap = limits.max_fields + 1
        self.memo: dict[str, _Shape] = {}
        self.open: set[str] = set()

    def _cap(self, value: int) -> int:
        # 2^levels grows without bound; every limit is far below the cap.
        return min(value, self.cap)

    def selection_set(self, selection_set: SelectionSetNode | None, introspection: bool) -> _Shape:
        shape = _Shape()
        if selection_set is None:
            return shape
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                inner_introspection = introspection or name in INTROSPECTION_ROOTS
                inner = self.selection_set(selection.selection_set, inner_introspection)
                shape.fields = self._cap(shape.fields + 1 + inner.fields)
                shape.aliases = self._cap(shape.aliases + (selection.alias is not None) + inner.aliases)
                shape.keys[(selection.alias or selection.name).value] += 1
                shape.worst_same_key = max(shape.worst_same_key, inner.worst_same_key)
                if inner_introspection:
                    shape.expansions = max(shape.expansions, (name in TYPE_EXPANSIONS) + inner.expansions)
                    shape.of_types = max(shape.of_types, (name == "ofType") + inner.of_types)
            else:
                if isinstance(selection, InlineFragmentNode):
                    inner = self.selection_set(selection.selection_set, introspection)
                elif isinstance(selection, FragmentSpreadNode):
                    inner = self.fragment(selection.name.value, introspection)
                else:  # pragma: no cover - graphql-core has no other selection
                    continue
                shape.fields = self._cap(shape.fields + inner.fields)
                shape.aliases = self._cap(shape.aliases + inner.aliases)
                for key, count in inner.keys.items():
                    shape.keys[key] = self._cap(shape.keys[key] + count)
                shape.worst_same_key = max(shape.worst_same_key, inner.worst_same_key)
                shape.expansions = max(shape.expansions, inner.expansions)
                shape.of_types = max(shape.of_types, inner.of_types)
        if shape.keys:
            shape.worst_same_key = max(shape.worst_same_key, max(shape.keys.values()))
        return shape

    def fragment(self, name: str, introspection: bool) -> _Shape:
        key = f"{name}:{introspection}"
        if key in self.memo:
            return self.memo[key]
        definition = self.fragments.get(name)
        if definition is None or key in self.open:
            return _Shape()
        self.open.add(key)
        shape = self.selection_set(definition.selection_set, introspection)
        self.open.discard(key)
        self.memo[key] = shape
        return shape


def shape_errors(document: DocumentNode, limits: Limits) -> list[dict[str, Any]]:
    """Errors for a document too big or too nested to validate or run; [] when it is within the
    limits. Costs one pass over the document's text, whatever its fragments spread to."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) > limits.max_operations:
        return [limit_error(f"At most {limits.max_operations} operations per request.", "TOO_MANY_OPERATIONS")]
    walk = _ShapeWalk(document, limits)
    shapes = [walk.selection_set(operation.selection_set, False) for operation in operations]
    # Fragments no operation uses are still validated: their size counts too.
    unused = [walk.fragment(name, False) for name in walk.fragments]
    total = max(sum(s.fields for s in shapes), max((s.fields for s in unused), default=0))
    errors = []
    if total > limits.max_fields or any(s.worst_same_key > limits.max_same_key for s in shapes + unused):
        errors.append(
            limit_error(
                f"The query is too large: at most {limits.max_fields} fields once fragments are spread, and at "
                f"most {limits.max_same_key} fields with the same name or alias side by side.",
                "QUERY_TOO_LARGE",
            )
        )
        return errors
    if max((s.expansions for s in shapes), default=0) > 1 or max((s.of_types for s in shapes), default=0) > (
        limits.max_of_type
    ):
        errors.append(
            limit_error(
                "Introspection goes beyond the standard introspection query's shape: at most one of fields, "
                f"inputFields, interfaces, possibleTypes, enumValues per path and {limits.max_of_type} nested ofType.",
                "QUERY_TOO_DEEP",
            )
        )
    if sum(s.aliases for s in shapes) > limits.max_aliases:
        errors.append(limit_error(f"At most {limits.max_aliases} aliases per request.", "TOO_MANY_ALIASES"))
    return errors


@cache
def _depth_rule(max_depth: int) -> type[ValidationRule]:
    # The library counts the levels below the root fields: its N lets N + 1 levels of fields
    # through, ours (and the message's) is the number of levels.
    rule: type[ValidationRule] = depth_limit_validator(max_depth=max_depth - 1)
    return rule


def depth_errors(schema: GraphQLSchema, document: DocumentNode, limits: Limits) -> list[dict[str, Any]]:
    """``[QUERY_TOO_DEEP]`` when an operation nests fields more than ``max_depth`` levels
    (``{ a { b } }`` is 2; introspection's fields do not count), else [].

    graphene's ``depth_limit_validator`` decides; its errors (one per field too deep, in its
    own words) become one error in ours. ``document`` must have passed ``shape_errors`` and
    graphql-core's validation: see the module's docstring.

    The rule does all its work when it is made (it has no visitor methods), so it is made on a
    ValidationContext as ``validate`` would, without ``validate``'s walk over the whole
    document that would visit nothing: 55 µs instead of 2.5 ms for docs/queries/outing.graphql."""
    found: list[GraphQLError] = []
    _depth_rule(limits.max_depth)(ValidationContext(schema, document, TypeInfo(schema), found.append))
    if found:
        return [limit_error(f"The query is nested too deep: at most {limits.max_depth} levels.", "QUERY_TOO_DEEP")]
    return []


def _size(field: FieldNode, variables: dict[str, Any], name: str) -> tuple[bool, Any]:
    """Whether the field is given the page argument ``name`` (first, last) here, and its value:
    an int, PAGE_DEFAULT for an absent variable, None when given as null (refused: a page has a size)."""
    for argument in field.arguments or ():
        if argument.name.value != name:
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return True, int(value.value)
        if isinstance(value, VariableNode):
            return True, variables.get(value.name.value, PAGE_DEFAULT)
        return True, None  # null
    return False, None


def _ids(field: FieldNode, variables: dict[str, Any]) -> int | None:
    """How many ids a ``nodes(ids:)`` asks for, or None for another field."""
    for argument in field.arguments or ():
        if argument.name.value == "ids":
            value = argument.value
            if isinstance(value, ListValueNode):
                return len(value.values)
            if isinstance(value, VariableNode):
                ids = variables.get(value.name.value)
                return len(ids) if isinstance(ids, list) else 1
            return 1
    return None


def _typed_fields(
    selection_set: SelectionSetNode | None,
    parent: GraphQLNamedType | None,
    schema: GraphQLSchema | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str],
) -> Iterator[tuple[FieldNode, GraphQLField | None]]:
    """``(field node, its definition or None)`` of a selection set, fragments spread in (each once
    per path), each looked up in the type it is selected on (a fragment's type condition)."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            fields = getattr(parent, "fields", None) or {}
            yield selection, fields.get(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            on = schema.get_type(condition.name.value) if condition and schema else parent
            yield from _typed_fields(selection.selection_set, on, schema, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                fragment = fragments[name]
                on = schema.get_type(fragment.type_condition.name.value) if schema else None
                yield from _typed_fields(fragment.selection_set, on, schema, fragments, seen | {name})


def request_errors(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
    limits: Limits,
    schema: GraphQLSchema | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """The cost of ``operation`` (points) with its coerced ``variables``, and errors for pages
    out of range or a cost too high. ``document`` must have passed ``shape_errors``.

    A field costs 1, plus what its selection costs times how many it may return: its page size
    (``first`` or ``last``; with ``schema``, a paged field left without either costs its default
    size, as that is what it returns), the number of ``ids`` of ``nodes``, else 1."""
    fragments = _fragments(document)
    errors: list[dict[str, Any]] = []
    root = schema.get_root_type(operation.operation) if schema else None

    def cost(selection_set: SelectionSetNode | None, path: tuple[str, ...], parent: GraphQLNamedType | None) -> int:
        total = 0
        for field_node, definition in _typed_fields(selection_set, parent, schema, fragments, frozenset()):
            name = (field_node.alias or field_node.name).value
            many, paged = 1, False
            for argument in ("first", "last"):
                given, size = _size(field_node, variables, argument)
                if not given:
                    continue
                paged = True
                if not isinstance(size, int) or isinstance(size, bool) or not PAGE_MIN <= size <= PAGE_MAX:
                    errors.append(
                        limit_error(
                            f"{argument} must be between {PAGE_MIN} and {PAGE_MAX} (at {'.'.join((*path, name))}).",
                            "BAD_USER_INPUT",
                            field=argument,
                            path=[*path, name],
                        )
                    )
                    size = PAGE_MAX
                many = max(many, size)
            first = definition.args.get("first") if definition is not None else None
            if first is not None and not paged:
                many = first.default_value if isinstance(first.default_value, int) else PAGE_DEFAULT
            if field_node.name.value == "nodes":
                many = max(many, _ids(field_node, variables) or 1)
            inner_type = get_named_type(definition.type) if definition is not None else None
            inner = cost(field_node.selection_set, (*path, name), inner_type) if field_node.selection_set else 0
            total += 1 + many * inner
            if field_node.name.value == "__schema":
                total += limits.schema_cost
            if not path and field_node.name.value in UPLOAD_FIELDS:
                total += limits.upload_cost
        return total

    spent = cost(operation.selection_set, (), root)
    if spent > limits.max_cost and not errors:
        errors.append(
            limit_error(
                f"The query costs {spent}; at most {limits.max_cost} per request.", "QUERY_TOO_COSTLY", cost=spent
            )
        )
    return spent, errors


class RateLimiter:
    """Per-client budgets of query cost, refilled continuously (a token bucket per client).

    Kept per process: with two gateways a client has twice the budget (each bucket refills on
    its own); a shared store would be needed to hold one budget across instances."""

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

    def remaining(self, client: str) -> int:
        """Points ``client`` could spend now (the budget refills at points_per_minute / 60 a second)."""
        level, at = self._buckets.get(client, (self.capacity, time.monotonic()))
        return int(min(self.capacity, level + (time.monotonic() - at) * self.rate))
