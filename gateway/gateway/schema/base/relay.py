"""Relay: the ``Node`` interface and the registry ``node(id:)`` reads, connections and edges,
page arguments, and global ids turned back into a type's local id."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import graphene

from parentnet_kit.i18n import t

from ... import cursors, ids
from ...errors import bad_input
from ...limits import PAGE_DEFAULT, PAGE_MAX, PAGE_MIN
from .errors import UserError

# Each module registers the types ``node(id:)`` can return, by GraphQL type name, and how
# to load one for the viewer (None when it does not exist or the viewer may not see it).
NODE_TYPES: dict[str, type] = {}
NODE_LOADERS: dict[str, Callable[[graphene.ResolveInfo, str], Awaitable[dict[str, Any] | None]]] = {}


class Node(graphene.Interface):
    """An object with an opaque global ID, fetchable with ``node(id:)``."""

    id = graphene.ID(required=True, description="Opaque global ID: pass it back as it is, never parse it.")

    @classmethod
    def resolve_type(cls, instance: dict[str, Any], info: graphene.ResolveInfo) -> type:
        return NODE_TYPES[instance["__typename"]]


class PageInfo(graphene.ObjectType):
    """Where a page sits in its list (Relay)."""

    has_next_page = graphene.Boolean(required=True, description="More items follow: ask with after: endCursor.")
    has_previous_page = graphene.Boolean(
        required=True, description="Items come before this page (it was asked with after, or before a later one)."
    )
    start_cursor = graphene.String(description="The first edge's cursor; null for an empty page.")
    end_cursor = graphene.String(description="The last edge's cursor, for the next page's after; null when empty.")


def page_info(
    edges: list[dict[str, Any]], has_next_page: bool, after: str | None, has_previous_page: bool | None = None
) -> dict[str, Any]:
    return {
        "has_next_page": has_next_page,
        "has_previous_page": after is not None if has_previous_page is None else has_previous_page,
        "start_cursor": edges[0]["cursor"] if edges else None,
        "end_cursor": edges[-1]["cursor"] if edges else None,
    }


def connection(
    edges: list[dict[str, Any]],
    has_next_page: bool,
    after: str | None,
    total: int,
    has_previous_page: bool | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A Relay connection: edges, nodes, pageInfo and totalCount, plus the type's own fields."""
    return {
        "edges": edges,
        "nodes": [e["node"] for e in edges],
        "page_info": page_info(edges, has_next_page, after, has_previous_page),
        "total_count": total,
        **extra,
    }


CURSOR_DOC = "Where this item is in the list: pass it as after (or before) to page on. Opaque."


def edge_type(name: str, node: Any, what: str, **fields: Any) -> type[graphene.ObjectType]:
    """A Relay edge type: ``cursor``, ``node`` (described as ``what``) and the edge's own fields."""
    return type(
        name,
        (graphene.ObjectType,),
        {
            "__doc__": f"One item of a list of {what}, with its cursor.",
            "cursor": graphene.String(required=True, description=CURSOR_DOC),
            "node": graphene.Field(node, required=True, description="The item."),
            **fields,
        },
    )


def connection_type(name: str, edge: Any, node: Any, what: str, **fields: Any) -> type[graphene.ObjectType]:
    """A Relay connection type: ``edges``, ``nodes``, ``pageInfo``, ``totalCount`` and its own fields."""
    return type(
        name,
        (graphene.ObjectType,),
        {
            "__doc__": f"A page of {what}.",
            "edges": graphene.List(
                graphene.NonNull(edge), required=True, description="The page's items with their cursors."
            ),
            "nodes": graphene.List(
                graphene.NonNull(node), required=True, description="The page's items, when cursors are not needed."
            ),
            "page_info": graphene.Field(PageInfo, required=True, description="How to ask for the next page."),
            "total_count": graphene.Int(required=True, description="Items in the whole list, all pages together."),
            **fields,
        },
    )


def deprecated_user_errors() -> graphene.List:
    """The page-level ``userErrors`` that argument mistakes used to travel in."""
    return graphene.List(
        graphene.NonNull(UserError),
        required=True,
        description="Always empty.",
        deprecation_reason=(
            "Argument mistakes are top-level errors with extensions.code BAD_USER_INPUT and extensions.field "
            "naming the argument, like every other query's. Always empty. Deprecated 2026-11-30."
        ),
    )


def first_argument(default: int = PAGE_DEFAULT, most: int = PAGE_MAX) -> graphene.Argument:
    return graphene.Argument(
        graphene.Int,
        default_value=default,
        description=f"Page size, {PAGE_MIN} to {most} ({default} when left out); null or a number outside is "
        "BAD_USER_INPUT.",
    )


def after_argument() -> graphene.Argument:
    return graphene.Argument(
        graphene.String,
        description=(
            "endCursor of the previous page, from the same query with the same arguments (apart from first); "
            "any other cursor is BAD_USER_INPUT."
        ),
    )


def check_first(info: graphene.ResolveInfo, first: int | None, most: int = PAGE_MAX, name: str = "first") -> int:
    """A page size from 1 to ``most``; BAD_USER_INPUT naming ``name`` otherwise, explicit null included
    (the limits check a literal null as the default's cost, then it reaches here)."""
    if first is None or not PAGE_MIN <= first <= most:
        raise bad_input(
            info, name, t("{name} must be between {page_min} and {most}.", name=name, page_min=PAGE_MIN, most=most)
        )
    return first


def local_id(global_id: Any, type_name: str) -> str | None:
    """The local id in a global ID of ``type_name``; None for anything else (another type, garbage)."""
    decoded = ids.from_global_id(global_id) if isinstance(global_id, str) else None
    return decoded[1] if decoded and decoded[0] == type_name else None


NODES_MAX = PAGE_MAX


async def load_node(info: graphene.ResolveInfo, global_id: str) -> dict[str, Any] | None:
    """The object a global ID names, if the viewer may see it; None otherwise (never an error)."""
    decoded = ids.from_global_id(global_id)
    if decoded is None or decoded[0] not in NODE_LOADERS:
        return None
    return await NODE_LOADERS[decoded[0]](info, decoded[1])


class NodeQueries(graphene.ObjectType):
    nodes = graphene.Field(
        graphene.List(Node),
        required=True,
        ids=graphene.Argument(
            graphene.List(graphene.NonNull(graphene.ID)),
            required=True,
            description=f"Global IDs, at most {NODES_MAX}; more is BAD_USER_INPUT.",
        ),
        description=(
            "Several objects by their global IDs, in the same order: null where an ID names nothing you may see. "
            "Objects of one type are loaded in one call."
        ),
    )

    @staticmethod
    async def resolve_nodes(root: None, info: graphene.ResolveInfo, ids: list[str]) -> list[dict[str, Any] | None]:
        if len(ids) > NODES_MAX:
            raise bad_input(info, "ids", t("ids takes at most {nodes_max} IDs.", nodes_max=NODES_MAX))
        return list(await asyncio.gather(*(load_node(info, global_id) for global_id in ids)))


def service_page(
    info: graphene.ResolveInfo, shape: dict[str, Any], page: dict[str, Any], after: str | None, make: Any
) -> dict[str, Any]:
    """A page from the members service: its cursors rebound to this query, its nodes made by ``make``."""
    cursor = cursors.encoder(info, shape)
    edges = [{**e, "cursor": cursor(cursors.from_service(e["cursor"])), "node": make(e["node"])} for e in page["edges"]]
    return connection(edges, page["has_next_page"], after, page["total"], user_errors=[])


def service_after(info: graphene.ResolveInfo, after: str | None, shape: dict[str, Any], valid: Any) -> str | None:
    """The members service's cursor for ``after`` (BAD_USER_INPUT if it is not this query's)."""
    position = cursors.decode(info, after, shape, valid)
    return None if position is None else cursors.to_service(position)


def global_id_resolver(type_name: str) -> Any:
    """``resolve_id`` of a ``Node`` type: its global ID from the view's ``id``."""

    def resolve(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id(type_name, root["id"])

    return staticmethod(resolve)


def numbered_page(
    info: graphene.ResolveInfo,
    arguments: dict[str, Any],
    after: str | None,
    page: dict[str, Any] | None,
    type_name: str,
    total: int | None = None,
) -> dict[str, Any]:
    """A connection of a service's numbered items (``{items, has_next_page, total}``, each item's
    ``n`` its position), cursors bound to ``arguments``; an empty one when ``page`` is None (the
    list is not the viewer's to see). ``total`` overrides the page's count."""
    if page is None:
        return connection([], False, after, 0)
    cursor = cursors.encoder(info, arguments)
    edges = [{"cursor": cursor(item["n"]), "node": {**item, "__typename": type_name}} for item in page["items"]]
    return connection(edges, page["has_next_page"], after, page["total"] if total is None else total)
