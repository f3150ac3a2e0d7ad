"""Outings in the schema: the type, nearby search and proposing one."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import graphene

from parentnet_kit import cities as city_catalogue
from parentnet_kit.contracts import OUTING_CATEGORIES

from . import ids
from . import members as members_schema
from .common import (
    NODE_LOADERS,
    NODE_TYPES,
    City,
    GeoPoint,
    GeoPointInput,
    Node,
    PageInfo,
    UserError,
    page_info,
    require_viewer,
    user_errors,
)
from .context import Context

OutingCategory = graphene.Enum(
    "OutingCategory",
    [(name.upper(), name) for name in OUTING_CATEGORIES],
    description="What kind of outing it is.",
)


def _local(iso_utc: str, zone: str) -> datetime:
    return datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))


class Outing(graphene.ObjectType):
    """An outing a parent proposes to other families, at a public place."""

    class Meta:
        interfaces = (Node,)

    title = graphene.String(required=True)
    description = graphene.String(required=True)
    language = graphene.String(required=True, description="Language tag of title and description.")
    category = graphene.Field(OutingCategory, required=True)
    starts_at = graphene.DateTime(required=True, description="Start, with the city's UTC offset.")
    ends_at = graphene.DateTime(required=True, description="End, with the city's UTC offset.")
    time_zone = graphene.String(required=True)
    venue_name = graphene.String(required=True)
    location = graphene.Field(GeoPoint, required=True, description="The public meeting place.")
    city = graphene.Field(City, required=True)
    status = graphene.String(required=True, description="published or cancelled.")
    distance_km = graphene.Float(description="Distance from the point searched around, in km; null elsewhere.")
    organizer = graphene.Field(
        lambda: members_schema.Member, description="The parent who proposed it; null if unknown or not visible to you."
    )

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("Outing", root["id"])

    @staticmethod
    def resolve_starts_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime:
        return _local(root["starts_at"], root["time_zone"])

    @staticmethod
    def resolve_ends_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime:
        return _local(root["ends_at"], root["time_zone"])

    @staticmethod
    def resolve_city(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        city = city_catalogue.get(root["city"])
        return city.to_dict() if city else None

    @staticmethod
    def resolve_distance_km(root: dict[str, Any], info: graphene.ResolveInfo) -> float | None:
        value = root.get("distance_km")
        return None if value is None else round(value, 3)

    @staticmethod
    async def resolve_organizer(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        organizer_id = root.get("organizer_id")
        if not organizer_id:
            return None
        ctx: Context = info.context
        return members_schema.as_member(await ctx.loaders.member.load(organizer_id))


async def load_outing(info: graphene.ResolveInfo, outing_id: str) -> dict[str, Any] | None:
    """An outing by id, unless its organizer blocked the viewer."""
    ctx: Context = info.context
    view = await ctx.loaders.outing.load(outing_id)
    if view is None or view.get("organizer_id") in await ctx.blocked_by():
        return None
    return as_outing(view)


NODE_TYPES["Outing"] = Outing
NODE_LOADERS["Outing"] = load_outing


def as_outing(view: dict[str, Any] | None, **extra: Any) -> dict[str, Any] | None:
    return None if view is None else {**view, **extra, "__typename": "Outing"}


class OutingEdge(graphene.ObjectType):
    cursor = graphene.String(required=True)
    node = graphene.Field(Outing, required=True)


class OutingConnection(graphene.ObjectType):
    edges = graphene.List(graphene.NonNull(OutingEdge), required=True)
    nodes = graphene.List(graphene.NonNull(Outing), required=True)
    page_info = graphene.Field(PageInfo, required=True)
    total_count = graphene.Int(required=True)
    user_errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Problems with the arguments; the page is empty then."
    )


def connection(page: dict[str, Any], after: str | None, errors: list[dict[str, Any]]) -> dict[str, Any]:
    edges = [{"cursor": e["cursor"], "node": as_outing(e["node"], distance_km=e["distance_km"])} for e in page["edges"]]
    return {
        "edges": edges,
        "nodes": [e["node"] for e in edges],
        "page_info": page_info(edges, page["has_next_page"], after),
        "total_count": page["total"],
        "user_errors": errors,
    }


class OutingQueries(graphene.ObjectType):
    # Nullable, so that when search is down the rest of the response still resolves.
    nearby_outings = graphene.Field(
        OutingConnection,
        near=graphene.Argument(GeoPointInput, required=True),
        radius_km=graphene.Argument(graphene.Float, required=True, description="More than 0, at most 100."),
        first=graphene.Argument(graphene.Int, default_value=20, description="Page size, 1 to 100."),
        after=graphene.Argument(graphene.String, description="endCursor of the previous page."),
        description="Upcoming outings around a point, nearest first.",
    )

    @staticmethod
    async def resolve_nearby_outings(
        root: None,
        info: graphene.ResolveInfo,
        near: dict[str, float],
        radius_km: float,
        first: int = 20,
        after: str | None = None,
    ) -> dict[str, Any]:
        ctx: Context = info.context
        page = await ctx.rpc.call(
            "search",
            "nearby_outings",
            near={"lat": near.lat, "lon": near.lon},
            radius_km=radius_km,
            first=first,
            after=after,
            viewer_id=ctx.viewer_id,
        )
        return connection(page, after, user_errors(page["errors"]))


class OutingCreateInput(graphene.InputObjectType):
    title = graphene.String(required=True, description="1 to 140 characters, any language.")
    description = graphene.String(description="Up to 5,000 characters.")
    language = graphene.String(description="Language tag of title and description; defaults to the city's first.")
    category = graphene.Field(OutingCategory, required=True)
    starts_at = graphene.String(
        required=True, description="ISO 8601 date-time; without an offset it is read in the city's time zone."
    )
    ends_at = graphene.String(required=True, description="As startsAt; after it.")
    venue_name = graphene.String(required=True, description="The public place where families meet.")
    location = graphene.Field(GeoPointInput, required=True)
    city = graphene.String(required=True, description="A city slug, as in `cities`.")


class OutingCreatePayload(graphene.ObjectType):
    outing = graphene.Field(Outing)
    user_errors = graphene.List(graphene.NonNull(UserError), required=True)


class OutingCreate(graphene.Mutation):
    """Propose an outing, as its organizer (signed in). Nothing is stored when ``userErrors`` is not empty."""

    class Arguments:
        input = OutingCreateInput(required=True)

    Output = OutingCreatePayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        organizer = require_viewer(info)
        fields = {
            "title": input.get("title"),
            "description": input.get("description"),
            "language": input.get("language"),
            # graphene hands enum inputs over as enum members; the services speak values.
            "category": getattr(input.get("category"), "value", input.get("category")),
            "starts_at": input.get("starts_at"),
            "ends_at": input.get("ends_at"),
            "venue_name": input.get("venue_name"),
            "location": {"lat": input["location"].lat, "lon": input["location"].lon},
            "city": input.get("city"),
        }
        result = await ctx.rpc.call("events", "create_outing", fields, organizer_id=organizer)
        return {"outing": as_outing(result["outing"]), "user_errors": user_errors(result["errors"], ("input",))}
