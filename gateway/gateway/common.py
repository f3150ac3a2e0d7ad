"""Types and helpers every part of the schema shares: errors, Node, geo, cities, pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import graphene

from parentnet_kit import cities as city_catalogue

from .errors import Unauthenticated

# Each module registers the types ``node(id:)`` can return, by GraphQL type name, and how
# to load one for the viewer (None when it does not exist or the viewer may not see it).
NODE_TYPES: dict[str, type] = {}
NODE_LOADERS: dict[str, Callable[[graphene.ResolveInfo, str], Awaitable[dict[str, Any] | None]]] = {}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def user_errors(errors: list[dict[str, Any]], prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Domain errors (snake_case field paths) as GraphQL ``userErrors`` (camelCase paths)."""
    return [
        {
            "field": [*prefix, *(camel(part) for seg in e["field"] for part in seg.split("."))],
            "message": e["message"],
            "code": e["code"],
        }
        for e in errors
    ]


class UserError(graphene.ObjectType):
    """A problem with the input that the user can fix."""

    field = graphene.List(
        graphene.NonNull(graphene.String), description="Path to the input field at fault, e.g. [input, title]."
    )
    message = graphene.String(required=True, description="A sentence to show the user.")
    code = graphene.String(required=True, description="Stable machine-readable code, e.g. REQUIRED, OUT_OF_RANGE.")


class Node(graphene.Interface):
    """An object with an opaque global ID, fetchable with ``node(id:)``."""

    id = graphene.ID(required=True)

    @classmethod
    def resolve_type(cls, instance: dict[str, Any], info: graphene.ResolveInfo) -> type:
        return NODE_TYPES[instance["__typename"]]


class GeoPoint(graphene.ObjectType):
    lat = graphene.Float(required=True)
    lon = graphene.Float(required=True)


class GeoPointInput(graphene.InputObjectType):
    lat = graphene.Float(required=True, description="Latitude, -90 to 90.")
    lon = graphene.Float(required=True, description="Longitude, -180 to 180.")


class City(graphene.ObjectType):
    """A city of the network, with the time zone its outings are given in."""

    slug = graphene.String(required=True)
    name = graphene.String(required=True)
    country = graphene.String(required=True, description="ISO 3166-1 alpha-2 code.")
    time_zone = graphene.String(required=True, description="IANA time zone, e.g. Europe/Paris.")
    languages = graphene.List(graphene.NonNull(graphene.String), required=True)
    center = graphene.Field(GeoPoint, required=True)

    @staticmethod
    def resolve_center(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, float]:
        return {"lat": root["lat"], "lon": root["lon"]}


class PageInfo(graphene.ObjectType):
    has_next_page = graphene.Boolean(required=True)
    has_previous_page = graphene.Boolean(required=True)
    start_cursor = graphene.String()
    end_cursor = graphene.String()


def page_info(edges: list[dict[str, Any]], has_next_page: bool, after: str | None) -> dict[str, Any]:
    return {
        "has_next_page": has_next_page,
        "has_previous_page": after is not None,
        "start_cursor": edges[0]["cursor"] if edges else None,
        "end_cursor": edges[-1]["cursor"] if edges else None,
    }


def connection(
    edges: list[dict[str, Any]], has_next_page: bool, after: str | None, total: int, **extra: Any
) -> dict[str, Any]:
    """A Relay connection: edges, nodes, pageInfo and totalCount, plus the type's own fields."""
    return {
        "edges": edges,
        "nodes": [e["node"] for e in edges],
        "page_info": page_info(edges, has_next_page, after),
        "total_count": total,
        **extra,
    }


def resolve_city(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
    """The ``city`` field of anything that carries a city slug."""
    city = city_catalogue.get(root["city"])
    return city.to_dict() if city else None


def viewer_id(info: graphene.ResolveInfo) -> str | None:
    return info.context.viewer_id


def require_viewer(info: graphene.ResolveInfo) -> str:
    """The signed-in member's id, or a top-level UNAUTHENTICATED error."""
    member_id = info.context.viewer_id
    if member_id is None:
        raise Unauthenticated("Sign in to do this.")
    return member_id


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time from a service (``...Z``) as an aware datetime, for ``DateTime`` fields."""
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))
