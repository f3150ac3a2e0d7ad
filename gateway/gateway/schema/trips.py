"""School runs and trips in the schema: a rota of drivers or walkers, riders, and swapping days;
for the members of the group it belongs to."""

from __future__ import annotations

from typing import Any

import graphene

from parentnet_kit.i18n import t

from ..context import context_of
from .base import (
    ENUM_INSTEAD,
    NODE_LOADERS,
    NODE_TYPES,
    GeoPoint,
    GeoPointInput,
    InputMutation,
    Node,
    enum,
    enum_value,
    global_id_resolver,
    group_of,
    group_only,
    in_group,
    key_resolver,
    local_id,
    member_resolver,
    not_found,
    require_viewer,
    user_errors,
    user_errors_field,
)

TripMode = enum(
    "TripMode",
    "How the children get there.",
    [("WALK", "walk", "On foot, a parent walking the group."), ("CAR", "car", "By car, a parent driving.")],
)


TripSwapState = enum(
    "TripSwapState",
    "Where a proposed swap of two rota days is.",
    [
        ("PROPOSED", "proposed", "Waiting for the other parent to accept."),
        ("ACCEPTED", "accepted", "Accepted, being applied (a moment)."),
        ("DONE", "done", "Both days changed hands."),
        ("STALE", "stale", "One of its days changed hands before it was accepted: nothing moved."),
        ("CONFLICT", "conflict", "A day changed hands while it was applied: nothing moved."),
    ],
)


class TripRider(graphene.ObjectType):
    """A family whose children ride along."""

    member = graphene.Field("gateway.schema.members.Member", description="The parent.")
    children = graphene.List(graphene.NonNull(graphene.String), required=True, description="First names.")

    resolve_member = member_resolver("member_id")


class RotaDay(graphene.ObjectType):
    """One day of a trip's rota."""

    date = graphene.String(required=True, description="YYYY-MM-DD in the city's calendar.")
    driver = graphene.Field("gateway.schema.members.Member", description="Who drives or walks; null when nobody yet.")

    resolve_driver = member_resolver("driver_id")


class Trip(graphene.ObjectType):
    """A school run or activity trip the group's parents take turns on."""

    class Meta:
        interfaces = (Node,)

    group = graphene.Field("gateway.schema.groups.Group", description="The group it is for.")
    title = graphene.String(required=True, description="e.g. Morning run to Jules Ferry school.")
    mode = graphene.Field(TripMode, required=True, description="Walk or car.")
    weekdays = graphene.List(graphene.NonNull(graphene.Int), required=True, description="0 is Monday.")
    time = graphene.String(required=True, description="Local HH:MM.")
    meeting_point = graphene.String(required=True, description="Where the children meet, for the group's members.")
    meeting_location = graphene.Field(GeoPoint, required=True, description="The meeting point on the map.")
    destination = graphene.String(required=True, description="A school, a dance class...")
    seats = graphene.Int(required=True, description="Children per trip.")
    riders = graphene.List(graphene.NonNull(TripRider), required=True, description="Families whose children ride.")
    rota = graphene.List(graphene.NonNull(RotaDay), required=True, description="The coming six weeks.")

    resolve_id = global_id_resolver("Trip")

    @staticmethod
    async def resolve_group(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await group_of(info, root["group_id"])

    @staticmethod
    async def resolve_riders(root: dict[str, Any], info: graphene.ResolveInfo) -> list[dict[str, Any]]:
        return await context_of(info).events.trip_riders(trip_id=root["id"])

    @staticmethod
    async def resolve_rota(root: dict[str, Any], info: graphene.ResolveInfo) -> list[dict[str, Any]]:
        return await context_of(info).events.trip_rota(trip_id=root["id"]) or []


class TripSwap(graphene.ObjectType):
    """Two parents trading rota days."""

    id = graphene.ID(required=True, description="Opaque ID, for tripSwapAccept.")
    from_date = graphene.String(required=True, description="The proposer's day, YYYY-MM-DD.")
    to_date = graphene.String(required=True, description="The other parent's day, YYYY-MM-DD.")
    state = graphene.Field(TripSwapState, required=True, description="Proposed, then done (or stale, or conflict).")
    status = graphene.String(
        required=True,
        description="proposed, then done; stale (nothing moved) when one of its days changed hands before it was "
        "accepted, conflict when that happened while it was being applied (nothing moved either).",
        deprecation_reason=ENUM_INSTEAD.format(new="state"),
    )

    resolve_id = global_id_resolver("TripSwap")

    resolve_state = key_resolver("status")


async def load_trip(info: graphene.ResolveInfo, trip_id: str) -> dict[str, Any] | None:
    trip = await context_of(info).events.trip_get(trip_id=trip_id)
    return {**trip, "__typename": "Trip"} if trip and await in_group(info, trip["group_id"]) else None


async def resolve_trips(root: dict[str, Any], info: graphene.ResolveInfo) -> list[dict[str, Any]]:
    await group_only(info, root)
    return [{**t, "__typename": "Trip"} for t in await context_of(info).events.group_trips(group_id=root["id"])]


class TripCreateInput(graphene.InputObjectType):
    """A new school run or activity trip."""

    group_id = graphene.ID(required=True, description="A group of yours.")
    title = graphene.String(required=True, description="1 to 140 characters.")
    mode = graphene.Field(TripMode, required=True, description="Walk or car.")
    weekdays = graphene.List(graphene.NonNull(graphene.Int), required=True, description="0 is Monday.")
    time = graphene.String(required=True, description="Local HH:MM.")
    city = graphene.String(required=True, description="A city slug, as in `cities`.")
    meeting_point = graphene.String(required=True, description="Where the children meet.")
    meeting_location = graphene.Field(GeoPointInput, required=True, description="The meeting point on the map.")
    destination = graphene.String(required=True, description="A school, a dance class...")
    seats = graphene.Int(required=True, description="Children per trip (a car's seats, a walking group's size).")


class TripPayload(graphene.ObjectType):
    """The trip (and swap) after the mutation."""

    trip = graphene.Field(Trip, description="The trip as it is now; null when nothing was found or made.")
    swap = graphene.Field(TripSwap, description="The swap the mutation made or accepted.")
    user_errors = user_errors_field()


async def _trip_result(info: graphene.ResolveInfo, trip_id: str, result: dict[str, Any]) -> dict[str, Any]:
    return {
        "trip": await load_trip(info, trip_id),
        "swap": result.get("swap"),
        "user_errors": user_errors(result["errors"], ("input",)),
    }


class TripCreate(InputMutation, input=TripCreateInput, about="The trip.", output=TripPayload):
    """Start a school run or trip in one of your groups; members then join and take days."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        group_id = local_id(input["group_id"], "Group")
        if group_id is None or not await in_group(info, group_id):
            return {"user_errors": not_found("groupId", t("group of yours"))}
        fields = {k: enum_value(v) for k, v in input.items() if k != "group_id"}
        fields["meeting_location"] = {"lat": input["meeting_location"].lat, "lon": input["meeting_location"].lon}
        result = (
            await context_of(info)
            .events.using(headers=info.context.once(info))
            .trip_create(creator_id=viewer, group_id=group_id, fields=fields)
        )
        trip = {**result["trip"], "__typename": "Trip"} if result["trip"] else None
        return {"trip": trip, "user_errors": user_errors(result["errors"], ("input",))}


class TripJoinInput(graphene.InputObjectType):
    """Your children riding along."""

    trip_id = graphene.ID(required=True, description="The trip's ID.")
    children = graphene.List(
        graphene.NonNull(graphene.String), required=True, description="Your children's first names."
    )


class TripDayInput(graphene.InputObjectType):
    """A day of a trip."""

    trip_id = graphene.ID(required=True, description="The trip's ID.")
    date = graphene.String(required=True, description="One of the trip's coming days, YYYY-MM-DD.")


class TripSwapProposeInput(graphene.InputObjectType):
    """Your day for another parent's."""

    trip_id = graphene.ID(required=True, description="The trip's ID.")
    my_date = graphene.String(required=True, description="A day you drive or walk, YYYY-MM-DD.")
    their_date = graphene.String(required=True, description="A day another parent has, YYYY-MM-DD.")


class TripSwapAcceptInput(graphene.InputObjectType):
    """Which swap."""

    swap_id = graphene.ID(required=True, description="The swap's ID.")
    trip_id = graphene.ID(required=True, description="Its trip's ID.")


async def _trip_id(info: graphene.ResolveInfo, global_id: Any) -> str | None:
    trip_id = local_id(global_id, "Trip")
    return trip_id if trip_id and await load_trip(info, trip_id) else None


class TripJoin(InputMutation, input=TripJoinInput, about="The trip and your children.", output=TripPayload):
    """Have your children ride along on a trip of your group."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        trip_id = await _trip_id(info, input["trip_id"])
        if trip_id is None:
            return {"user_errors": not_found("tripId", t("trip"))}
        result = await context_of(info).events.trip_join(
            trip_id=trip_id, member_id=viewer, children=list(input["children"])
        )
        return await _trip_result(info, trip_id, result)


class TripVolunteer(InputMutation, input=TripDayInput, about="The trip and the day.", output=TripPayload):
    """Take a day: you drive or walk the children then."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        trip_id = await _trip_id(info, input["trip_id"])
        if trip_id is None:
            return {"user_errors": not_found("tripId", t("trip"))}
        result = await context_of(info).events.trip_volunteer(trip_id=trip_id, member_id=viewer, date=input["date"])
        return await _trip_result(info, trip_id, result)


class TripSwapPropose(
    InputMutation, input=TripSwapProposeInput, about="The trip and the two days.", output=TripPayload
):
    """Offer your day for another parent's; they accept with tripSwapAccept."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        trip_id = await _trip_id(info, input["trip_id"])
        if trip_id is None:
            return {"user_errors": not_found("tripId", t("trip"))}
        result = (
            await context_of(info)
            .events.using(headers=info.context.once(info))
            .trip_swap_propose(
                trip_id=trip_id, member_id=viewer, my_date=input["my_date"], their_date=input["their_date"]
            )
        )
        return await _trip_result(info, trip_id, result)


class TripSwapAccept(InputMutation, input=TripSwapAcceptInput, about="Which swap.", output=TripPayload):
    """Accept a swap: both days change and everyone on them is told."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        trip_id = await _trip_id(info, input["trip_id"])
        swap_id = local_id(input["swap_id"], "TripSwap")
        if trip_id is None or swap_id is None:
            return {"user_errors": not_found("swapId", "swap")}
        result = await context_of(info).events.trip_swap_accept(swap_id=swap_id, member_id=viewer)
        return await _trip_result(info, trip_id, result)


NODE_TYPES.update(Trip=Trip)
NODE_LOADERS.update(Trip=load_trip)


class TripMutations(graphene.ObjectType):
    trip_create = TripCreate.Field()
    trip_join = TripJoin.Field()
    trip_volunteer = TripVolunteer.Field()
    trip_swap_propose = TripSwapPropose.Field()
    trip_swap_accept = TripSwapAccept.Field()
