"""The map and the search box: grid clusters and as-you-type suggestions."""

from __future__ import annotations

from typing import Any

import graphene

from .. import ids
from ..context import Context
from .base import (
    GeoPoint,
    GeoPointInput,
    NodeQueries,
    argument_errors,
    check_first,
    check_point,
    deprecated_user_errors,
    enum,
    enum_value,
)

MapKind = enum(
    "MapKind",
    "What a map shows.",
    [("OUTINGS", "outings", "Upcoming outings."), ("LISTINGS", "listings", "Available listings.")],
)
SuggestionKind = enum(
    "SuggestionKind",
    "What a suggestion opens.",
    [
        ("OUTING", "outing", "An outing: open it with node(id:)."),
        ("LISTING", "listing", "A listing: open it with node(id:)."),
        ("CONTACT", "contact", "A trusted contact: open it with node(id:)."),
        ("GROUP", "group", "A group: open it with node(id:)."),
        ("PLACE", "place", "A city: its id is the city's slug."),
    ],
)
NODE_KIND = {"outing": "Outing", "listing": "Listing", "contact": "Contact", "group": "Group"}
SUGGEST_MAX = 20


class BoundsInput(graphene.InputObjectType):
    """The map's visible area, in degrees."""

    north = graphene.Float(required=True, description="Top edge's latitude, -90 to 90, above south.")
    south = graphene.Float(required=True, description="Bottom edge's latitude, -90 to 90.")
    east = graphene.Float(required=True, description="Right edge's longitude, -180 to 180.")
    west = graphene.Float(required=True, description="Left edge's longitude, -180 to 180.")


class MapCluster(graphene.ObjectType):
    """A map tile's worth of outings or listings: draw one marker with the count at its centre."""

    kind = graphene.Field(MapKind, required=True, description="Outings or listings.")
    cell = graphene.String(required=True, description="The tile, zoom/x/y.")
    count = graphene.Int(required=True, description="How many are in the tile.")
    center = graphene.Field(GeoPoint, required=True, description="The centroid of what is in the tile.")


class MapClusters(graphene.ObjectType):
    """What to draw on a map."""

    clusters = graphene.List(graphene.NonNull(MapCluster), required=True, description="One per tile with something.")
    user_errors = deprecated_user_errors()


class Suggestion(graphene.ObjectType):
    """One line of the as-you-type list."""

    kind = graphene.Field(SuggestionKind, required=True, description="What it opens.")
    text = graphene.String(required=True, description="What to show in the list.")
    id = graphene.ID(description="A global ID to open with node(id:); a city slug for PLACE.")
    city = graphene.String(description="The city slug, when known.")


class Suggestions(graphene.ObjectType):
    """Suggestions for what was typed."""

    suggestions = graphene.List(graphene.NonNull(Suggestion), required=True, description="Best first.")
    user_errors = deprecated_user_errors()


class DiscoveryQueries(NodeQueries, graphene.ObjectType):
    map_clusters = graphene.Field(
        MapClusters,
        bounds=graphene.Argument(BoundsInput, required=True, description="The map's visible area."),
        zoom=graphene.Argument(graphene.Int, required=True, description="The map's zoom, 0 to 20."),
        kinds=graphene.Argument(graphene.List(graphene.NonNull(MapKind)), description="Both when absent."),
        description="Outings and listings in the map's bounds, counted per tile on the server.",
    )
    suggest = graphene.Field(
        Suggestions,
        text=graphene.Argument(graphene.String, required=True, description="What was typed so far."),
        near=graphene.Argument(GeoPointInput, description="Rank what is near first."),
        first=graphene.Argument(
            graphene.Int, default_value=8, description="How many, 1 to 20; a number outside is BAD_USER_INPUT."
        ),
        description="As-you-type suggestions across outings, listings, contacts, groups and places.",
    )

    @staticmethod
    async def resolve_map_clusters(
        root: None, info: graphene.ResolveInfo, bounds: dict[str, float], zoom: int, kinds: list[Any] | None = None
    ) -> dict[str, Any]:
        ctx: Context = info.context
        answer = await ctx.search.map_clusters(
            bounds=dict(bounds),
            zoom=zoom,
            kinds=[enum_value(k) for k in kinds or []] or None,
            viewer_id=ctx.viewer_id,
            viewer_groups=list((await ctx.viewer_context())["groups"]),
            apart_ids=await ctx.apart(),  # a block at once in the counts (search's copy lags it)
        )
        argument_errors(info, answer["errors"])
        return {"clusters": [{**c, "center": c["centre"]} for c in answer["clusters"]], "user_errors": []}

    @staticmethod
    async def resolve_suggest(
        root: None, info: graphene.ResolveInfo, text: str, near: Any = None, first: int = 8
    ) -> dict[str, Any]:
        ctx: Context = info.context
        first = check_first(info, first, SUGGEST_MAX)
        answer = await ctx.search.suggest(
            text=text,
            near=check_point(info, near) if near is not None else None,
            limit=first,
            viewer_id=ctx.viewer_id,
            viewer_groups=list((await ctx.viewer_context())["groups"]),
            # An outing's organizer, a listing's owner kept apart by a block: gone at once (search's copy lags it).
            apart_ids=await ctx.apart(),
        )
        argument_errors(info, answer["errors"])
        found = [
            {**s, "id": ids.to_global_id(NODE_KIND[s["kind"]], s["id"]) if s["kind"] in NODE_KIND else s["id"]}
            for s in answer["suggestions"]
        ]
        return {"suggestions": found, "user_errors": []}
