"""The map and the search box: grid clusters and as-you-type suggestions."""

from __future__ import annotations

from typing import Any

import graphene

from . import ids
from .common import GeoPoint, GeoPointInput, UserError, user_errors
from .context import Context
from .members import enum_value

MapKind = graphene.Enum("MapKind", [("OUTINGS", "outings"), ("LISTINGS", "listings")])
SuggestionKind = graphene.Enum(
    "SuggestionKind",
    [("OUTING", "outing"), ("LISTING", "listing"), ("CONTACT", "contact"), ("GROUP", "group"), ("PLACE", "place")],
)
NODE_KIND = {"outing": "Outing", "listing": "Listing", "contact": "Contact", "group": "Group"}


class BoundsInput(graphene.InputObjectType):
    north = graphene.Float(required=True)
    south = graphene.Float(required=True)
    east = graphene.Float(required=True)
    west = graphene.Float(required=True)


class MapCluster(graphene.ObjectType):
    """A map tile's worth of outings or listings: draw one marker with the count at its centre."""

    kind = graphene.Field(MapKind, required=True)
    cell = graphene.String(required=True, description="The tile, zoom/x/y.")
    count = graphene.Int(required=True)
    center = graphene.Field(GeoPoint, required=True, description="The centroid of what is in the tile.")


class MapClusters(graphene.ObjectType):
    clusters = graphene.List(graphene.NonNull(MapCluster), required=True)
    user_errors = graphene.List(graphene.NonNull(UserError), required=True)


class Suggestion(graphene.ObjectType):
    kind = graphene.Field(SuggestionKind, required=True)
    text = graphene.String(required=True, description="What to show in the list.")
    id = graphene.ID(description="A global ID to open with node(id:); a city slug for PLACE.")
    city = graphene.String(description="The city slug, when known.")


class Suggestions(graphene.ObjectType):
    suggestions = graphene.List(graphene.NonNull(Suggestion), required=True)
    user_errors = graphene.List(graphene.NonNull(UserError), required=True)


class DiscoveryQueries(graphene.ObjectType):
    map_clusters = graphene.Field(
        MapClusters,
        bounds=graphene.Argument(BoundsInput, required=True),
        zoom=graphene.Argument(graphene.Int, required=True, description="The map's zoom, 0 to 20."),
        kinds=graphene.Argument(graphene.List(graphene.NonNull(MapKind)), description="Both when absent."),
        description="Outings and listings in the map's bounds, counted per tile on the server.",
    )
    suggest = graphene.Field(
        Suggestions,
        text=graphene.Argument(graphene.String, required=True, description="What was typed so far."),
        near=graphene.Argument(GeoPointInput, description="Rank what is near first."),
        first=graphene.Argument(graphene.Int, default_value=8, description="1 to 20."),
        description="As-you-type suggestions across outings, listings, contacts, groups and places.",
    )

    @staticmethod
    async def resolve_map_clusters(
        root: None, info: graphene.ResolveInfo, bounds: dict[str, float], zoom: int, kinds: list[Any] | None = None
    ) -> dict[str, Any]:
        ctx: Context = info.context
        answer = await ctx.rpc.call(
            "search",
            "map_clusters",
            bounds=dict(bounds),
            zoom=zoom,
            kinds=[enum_value(k) for k in kinds or []] or None,
            viewer_id=ctx.viewer_id,
            viewer_groups=list((await ctx.viewer_context())["groups"]),
        )
        return {
            "clusters": [{**c, "center": c["centre"]} for c in answer["clusters"]],
            "user_errors": user_errors(answer["errors"]),
        }

    @staticmethod
    async def resolve_suggest(
        root: None, info: graphene.ResolveInfo, text: str, near: Any = None, first: int = 8
    ) -> dict[str, Any]:
        ctx: Context = info.context
        answer = await ctx.rpc.call(
            "search",
            "suggest",
            text,
            near={"lat": near.lat, "lon": near.lon} if near is not None else None,
            limit=max(1, min(first, 20)),
            viewer_id=ctx.viewer_id,
            viewer_groups=list((await ctx.viewer_context())["groups"]),
        )
        found = [
            {**s, "id": ids.to_global_id(NODE_KIND[s["kind"]], s["id"]) if s["kind"] in NODE_KIND else s["id"]}
            for s in answer["suggestions"]
        ]
        return {"suggestions": found, "user_errors": user_errors(answer["errors"])}
