"""Group activities near you, in the schema: what the groups you can see are doing around a point."""

from __future__ import annotations

import asyncio
from typing import Any

import graphene

from ..context import Context
from .base import (
    NODE_LOADERS,
    GeoPointInput,
    argument_errors,
    check_first,
    check_point,
    check_radius,
    enum,
    first_argument,
    key_resolver,
    require_viewer,
)

GroupActivityType = enum(
    "GroupActivityType",
    "What a group activity is.",
    [("COOP_SHIFT", "coop_shift", "A co-op childcare shift."), ("TRIP", "trip", "A school run or an activity trip.")],
)


class GroupActivity(graphene.ObjectType):
    """A co-op shift or a school run of one of your groups, near where you look."""

    type = graphene.Field(GroupActivityType, required=True, description="A co-op shift or a trip.")
    kind = graphene.String(
        required=True,
        description="coop_shift or trip.",
        deprecation_reason="Use type, an enum of the same values in upper case. Deprecated 2026-11-30.",
    )
    distance_km = graphene.Float(required=True, description="To the shift's ~1 km area or the trip's meeting point.")
    shift = graphene.Field("gateway.schema.coop.CoopShift", description="The shift, when type is COOP_SHIFT.")
    trip = graphene.Field("gateway.schema.trips.Trip", description="The trip, when type is TRIP.")

    resolve_type = key_resolver("kind")

    @staticmethod
    async def resolve_shift(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await NODE_LOADERS["CoopShift"](info, root["id"]) if root["kind"] == "coop_shift" else None

    @staticmethod
    async def resolve_trip(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await NODE_LOADERS["Trip"](info, root["id"]) if root["kind"] == "trip" else None


class CommunityQueries(graphene.ObjectType):
    nearby_group_activities = graphene.List(
        graphene.NonNull(GroupActivity),
        near=graphene.Argument(GeoPointInput, required=True, description="The point to look around."),
        radius_km=graphene.Argument(graphene.Float, required=True, description="More than 0, at most 100."),
        first=first_argument(),
        description=(
            "Co-op shifts to come and school runs of your groups, nearest first. Signed in only. A bad argument "
            "is a top-level BAD_USER_INPUT error naming it in extensions.field."
        ),
    )

    @staticmethod
    async def resolve_nearby_group_activities(
        root: None, info: graphene.ResolveInfo, near: Any, radius_km: float, first: int = 20
    ) -> list[dict[str, Any]]:
        require_viewer(info)
        ctx: Context = info.context
        first = check_first(info, first)
        point, radius = check_point(info, near), check_radius(info, radius_km)
        groups = list((await ctx.viewer_context())["groups"])
        if not groups:
            return []
        apart = await ctx.apart()
        page = await ctx.search.nearby_activities(
            near=point,
            radius_km=radius,
            viewer_groups=groups,
            first=first,
            apart_ids=apart,  # a host's or organizer's block at once (search's copy lags it)
        )
        argument_errors(info, page["errors"])
        edges = page["edges"]
        if apart:
            shown = await asyncio.gather(*(_shown_despite_no_members(info, e["node"], set(apart)) for e in edges))
            edges = [e for e, keep in zip(edges, shown, strict=True) if keep]
        return [
            {"id": e["node"]["id"], "kind": e["node"]["kind"], "distance_km": round(e["distance_km"], 1)} for e in edges
        ]


async def _shown_despite_no_members(info: graphene.ResolveInfo, node: dict[str, Any], apart: set[str]) -> bool:
    """Whether an activity search found may be listed to a viewer kept ``apart`` from some members.
    Search leaves out those whose ``member_ids`` (host, organizer) are apart; a document indexed
    before it named them has none, so for that one only the owner (events) is asked: a shift of a
    host kept apart (events hides it: None) or a trip of an organizer kept apart is left out. A
    list, not a page: nothing to count or page on."""
    if "member_ids" in node:
        return True
    if node.get("kind") == "coop_shift":
        shift = await NODE_LOADERS["CoopShift"](info, node["id"])
        return shift is not None and shift.get("host_id") not in apart
    trip = await NODE_LOADERS["Trip"](info, node["id"])
    return trip is not None and trip.get("created_by") not in apart
