"""Subscriptions, fed by domain events from RabbitMQ through the gateway's EventFeed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import graphene
from graphql import GraphQLError

from parentnet_kit.geo import haversine_km

from .. import ids
from ..context import Context
from .base import (
    RADIUS_MAX_KM,
    GeoPointInput,
    require_viewer,
    typed,
    visible_outing,
)


class OutingSubscriptions(graphene.ObjectType):
    """What is pushed as it happens, over the websocket (graphql-transport-ws) on /graphql."""

    notification_received = graphene.Field(
        "gateway.schema.inbox.Notification",
        required=True,
        description="Your new notifications as they happen. Signed in only.",
    )
    outing_published_nearby = graphene.Field(
        "gateway.schema.outings.Outing",
        required=True,
        near=graphene.Argument(GeoPointInput, required=True, description="The point to watch around."),
        radius_km=graphene.Argument(graphene.Float, required=True, description="More than 0, at most 100."),
        description="Outings proposed from now on within radiusKm of a point.",
    )
    outing_attendance_changed = graphene.Field(
        "gateway.schema.outings.Outing",
        required=True,
        outing_id=graphene.Argument(graphene.ID, required=True, description="The outing's global ID."),
        description="The outing each time families join or leave it.",
    )

    @staticmethod
    async def subscribe_notification_received(root: None, info: graphene.ResolveInfo) -> AsyncIterator[dict[str, Any]]:
        viewer = require_viewer(info)
        ctx: Context = info.context
        async for event in ctx.listen("member_notified", lambda e: e["data"].get("recipient_id") == viewer):
            yield {**event["data"], "source": event["source"], "__typename": "Notification"}

    @staticmethod
    async def subscribe_outing_published_nearby(
        root: None, info: graphene.ResolveInfo, near: dict[str, float], radius_km: float
    ) -> AsyncIterator[dict[str, Any]]:
        if not 0 < radius_km <= RADIUS_MAX_KM or not -90 <= near.lat <= 90 or not -180 <= near.lon <= 180:
            raise GraphQLError("near must be a valid point and radiusKm more than 0 and at most 100.")
        ctx: Context = info.context

        def close_enough(event: dict[str, Any]) -> bool:
            where = event["data"].get("location") or {}
            return "lat" in where and haversine_km(near.lat, near.lon, where["lat"], where["lon"]) <= radius_km

        async for event in ctx.listen("outing_published", close_enough):
            view = await visible_outing(ctx, event["data"])
            if view is not None:
                yield typed(
                    "Outing",
                    view,
                    distance_km=haversine_km(near.lat, near.lon, view["location"]["lat"], view["location"]["lon"]),
                )

    @staticmethod
    async def subscribe_outing_attendance_changed(
        root: None, info: graphene.ResolveInfo, outing_id: str
    ) -> AsyncIterator[dict[str, Any]]:
        ctx: Context = info.context
        decoded = ids.from_global_id(outing_id)
        if decoded is None or decoded[0] != "Outing":
            raise GraphQLError("outingId is not an outing's ID.")
        if await visible_outing(ctx, await ctx.loaders.outing.load(decoded[1])) is None:
            raise GraphQLError("No such outing.")
        async for event in ctx.listen("attendance_changed", lambda e: e["aggregate_id"] == decoded[1]):
            view = await visible_outing(ctx, event["data"])
            if view is not None:
                yield typed("Outing", view)
