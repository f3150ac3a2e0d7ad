"""The GraphQL schema: types, queries and mutations, shaped for front-end teams.

Conventions: ``Node`` with opaque global IDs; Relay connections with ``totalCount``;
object-first mutations taking one ``input`` and returning a payload with ``userErrors``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import graphene

from parentnet_kit import cities as city_catalogue
from parentnet_kit.contracts import OUTING_CATEGORIES

from . import ids
from .context import Context


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


NODE_TYPES: dict[str, type] = {"Outing": Outing}


def as_outing(view: dict[str, Any] | None, **extra: Any) -> dict[str, Any] | None:
    return None if view is None else {**view, **extra, "__typename": "Outing"}


class PageInfo(graphene.ObjectType):
    has_next_page = graphene.Boolean(required=True)
    has_previous_page = graphene.Boolean(required=True)
    start_cursor = graphene.String()
    end_cursor = graphene.String()


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
        "page_info": {
            "has_next_page": page["has_next_page"],
            "has_previous_page": after is not None,
            "start_cursor": edges[0]["cursor"] if edges else None,
            "end_cursor": edges[-1]["cursor"] if edges else None,
        },
        "total_count": page["total"],
        "user_errors": errors,
    }


class Query(graphene.ObjectType):
    node = graphene.Field(Node, id=graphene.ID(required=True), description="Any object by its global ID.")
    # Nullable, so that when search is down the rest of the response still resolves.
    nearby_outings = graphene.Field(
        OutingConnection,
        near=graphene.Argument(GeoPointInput, required=True),
        radius_km=graphene.Argument(graphene.Float, required=True, description="More than 0, at most 100."),
        first=graphene.Argument(graphene.Int, default_value=20, description="Page size, 1 to 100."),
        after=graphene.Argument(graphene.String, description="endCursor of the previous page."),
        description="Upcoming outings around a point, nearest first.",
    )
    cities = graphene.List(graphene.NonNull(City), required=True, description="The network's cities.")

    @staticmethod
    async def resolve_node(root: None, info: graphene.ResolveInfo, id: str) -> dict[str, Any] | None:
        decoded = ids.from_global_id(id)
        if decoded is None:
            return None
        type_name, local_id = decoded
        ctx: Context = info.context
        if type_name == "Outing":
            return as_outing(await ctx.loaders.outing.load(local_id))
        return None

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
        )
        return connection(page, after, user_errors(page["errors"]))

    @staticmethod
    def resolve_cities(root: None, info: graphene.ResolveInfo) -> list[dict[str, Any]]:
        return [city.to_dict() for city in city_catalogue.CITIES.values()]


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
    """Propose an outing. Nothing is stored when ``userErrors`` is not empty."""

    class Arguments:
        input = OutingCreateInput(required=True)

    Output = OutingCreatePayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
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
        result = await ctx.rpc.call("events", "create_outing", fields, organizer_id=ctx.viewer_id)
        return {"outing": as_outing(result["outing"]), "user_errors": user_errors(result["errors"], ("input",))}


class Mutation(graphene.ObjectType):
    outing_create = OutingCreate.Field()


schema = graphene.Schema(query=Query, mutation=Mutation, types=[Outing])
