"""Parents taking turns, in the schema: co-op childcare shifts and credits, school runs and rotas.
Everything here is for the members of the group it belongs to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import graphene

from parentnet_kit.i18n import t

from .. import ids
from ..context import Context, context_of
from ..errors import Forbidden
from . import members as members_schema
from .base import (
    NODE_LOADERS,
    NODE_TYPES,
    GeoPoint,
    GeoPointInput,
    Node,
    argument_errors,
    check_first,
    check_point,
    check_radius,
    enum,
    first_argument,
    require_viewer,
    user_errors,
    user_errors_field,
)
from .members import Group, enum_value, local_id
from .outings import AgeRange, AgeRangeInput, _local

TripMode = enum(
    "TripMode",
    "How the children get there.",
    [("WALK", "walk", "On foot, a parent walking the group."), ("CAR", "car", "By car, a parent driving.")],
)
CoopShiftState = enum(
    "CoopShiftState",
    "Where a co-op shift is.",
    [
        ("OPEN", "open", "To come, or under way: bookable while places are left and it has not started."),
        ("DONE", "done", "Over, and the host was credited."),
    ],
)
CoopBookingState = enum(
    "CoopBookingState",
    "Where a booking of a co-op shift is.",
    [
        ("PENDING", "pending", "Being paid for: credits are moving to the escrow (seconds)."),
        ("CONFIRMED", "confirmed", "Booked and paid for."),
        ("CANCELLED", "cancelled", "Cancelled before the shift; the credits came back."),
    ],
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
GroupActivityType = enum(
    "GroupActivityType",
    "What a group activity is.",
    [("COOP_SHIFT", "coop_shift", "A co-op childcare shift."), ("TRIP", "trip", "A school run or an activity trip.")],
)
_DEPRECATED = "Use {new}, an enum of the same values in upper case. Deprecated 2026-11-30."


def _hours(minutes: int) -> float:
    return round(minutes / 60, 2)


async def _member(info: graphene.ResolveInfo, member_id: str | None) -> dict[str, Any] | None:
    if not member_id or member_id == "escrow":
        return None
    return members_schema.as_member(await info.context.loaders.member.load(member_id))


class CoopShift(graphene.ObjectType):
    """A parent minding other members' children at home, for credits."""

    class Meta:
        interfaces = (Node,)

    group = graphene.Field(Group, description="The group it is for.")
    host = graphene.Field(lambda: members_schema.Member, description="The parent minding the children.")
    starts_at = graphene.DateTime(required=True, description="Start, with the city's UTC offset.")
    ends_at = graphene.DateTime(required=True, description="End, with the city's UTC offset.")
    places = graphene.Int(required=True, description="Children in all.")
    places_left = graphene.Int(required=True, description="Children's places not booked yet.")
    age_range = graphene.Field(AgeRange, description="Children's ages it suits; null when any.")
    place_note = graphene.String(required=True, description="Where, for the group's members.")
    child_hours = graphene.Float(required=True, description="What one child's place costs (and earns the host).")
    state = graphene.Field(CoopShiftState, required=True, description="Open, or done once the host was credited.")
    status = graphene.String(
        required=True,
        description="open, or done once the host was credited.",
        deprecation_reason=_DEPRECATED.format(new="state"),
    )

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("CoopShift", root["id"])

    @staticmethod
    def resolve_state(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return root["status"]

    @staticmethod
    async def resolve_group(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return members_schema.as_group(await info.context.loaders.group.load(root["group_id"]))

    @staticmethod
    async def resolve_host(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await _member(info, root["host_id"])

    @staticmethod
    def resolve_starts_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime:
        return _local(root["starts_at"], root["time_zone"])

    @staticmethod
    def resolve_ends_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime:
        return _local(root["ends_at"], root["time_zone"])

    @staticmethod
    def resolve_age_range(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        if root.get("age_min") is None and root.get("age_max") is None:
            return None
        return {"min_years": root.get("age_min"), "max_years": root.get("age_max")}

    @staticmethod
    def resolve_child_hours(root: dict[str, Any], info: graphene.ResolveInfo) -> float:
        return _hours(root["child_minutes"])


class CoopBooking(graphene.ObjectType):
    """Places booked for your children in a co-op shift."""

    id = graphene.ID(required=True, description="Opaque ID, for coopBookingCancel.")
    children = graphene.Int(required=True, description="Children booked.")
    child_hours = graphene.Float(required=True, description="What it costs, in child-hours.")
    state = graphene.Field(CoopBookingState, required=True, description="Pending, confirmed or cancelled.")
    status = graphene.String(
        required=True,
        description="pending, confirmed or cancelled.",
        deprecation_reason=_DEPRECATED.format(new="state"),
    )

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("CoopBooking", root["id"])

    @staticmethod
    def resolve_state(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return root["status"]

    @staticmethod
    def resolve_child_hours(root: dict[str, Any], info: graphene.ResolveInfo) -> float:
        return _hours(root["child_minutes"])


class CoopAccount(graphene.ObjectType):
    """One member's credits in a group's co-op (or the escrow's)."""

    member = graphene.Field(lambda: members_schema.Member, description="Null for the escrow.")
    is_escrow = graphene.Boolean(required=True, description="Credits held for shifts not yet done.")
    child_hours = graphene.Float(required=True, description="The balance, in child-hours; negative in debt.")

    @staticmethod
    async def resolve_member(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await _member(info, root["member_id"])


class CoopBalance(graphene.ObjectType):
    """Your credits in a group's co-op."""

    child_hours = graphene.Float(required=True, description="Your balance, in child-hours; negative in debt.")
    floor_child_hours = graphene.Float(required=True, description="Below it you must host before you book.")


class TripRider(graphene.ObjectType):
    """A family whose children ride along."""

    member = graphene.Field(lambda: members_schema.Member, description="The parent.")
    children = graphene.List(graphene.NonNull(graphene.String), required=True, description="First names.")

    @staticmethod
    async def resolve_member(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await _member(info, root["member_id"])


class RotaDay(graphene.ObjectType):
    """One day of a trip's rota."""

    date = graphene.String(required=True, description="YYYY-MM-DD in the city's calendar.")
    driver = graphene.Field(lambda: members_schema.Member, description="Who drives or walks; null when nobody yet.")

    @staticmethod
    async def resolve_driver(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await _member(info, root.get("driver_id"))


class Trip(graphene.ObjectType):
    """A school run or activity trip the group's parents take turns on."""

    class Meta:
        interfaces = (Node,)

    group = graphene.Field(Group, description="The group it is for.")
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

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("Trip", root["id"])

    @staticmethod
    async def resolve_group(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return members_schema.as_group(await info.context.loaders.group.load(root["group_id"]))

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
        deprecation_reason=_DEPRECATED.format(new="state"),
    )

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("TripSwap", root["id"])

    @staticmethod
    def resolve_state(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return root["status"]


async def _in_group(info: graphene.ResolveInfo, group_id: str | None) -> bool:
    return bool(group_id) and await info.context.group_role(group_id) is not None


async def load_shift(info: graphene.ResolveInfo, shift_id: str) -> dict[str, Any] | None:
    shift = await context_of(info).events.coop_shift(shift_id=shift_id)
    return {**shift, "__typename": "CoopShift"} if shift and await _in_group(info, shift["group_id"]) else None


async def load_trip(info: graphene.ResolveInfo, trip_id: str) -> dict[str, Any] | None:
    trip = await context_of(info).events.trip_get(trip_id=trip_id)
    return {**trip, "__typename": "Trip"} if trip and await _in_group(info, trip["group_id"]) else None


NODE_TYPES.update(CoopShift=CoopShift, Trip=Trip)
NODE_LOADERS.update(CoopShift=load_shift, Trip=load_trip)


async def _group_only(info: graphene.ResolveInfo, group: dict[str, Any]) -> None:
    if not await _in_group(info, group["id"]):
        raise Forbidden("Only the group's members see this.")


async def resolve_coop_shifts(root: dict[str, Any], info: graphene.ResolveInfo) -> list[dict[str, Any]]:
    await _group_only(info, root)
    return [{**s, "__typename": "CoopShift"} for s in await context_of(info).events.coop_shifts(group_id=root["id"])]


async def resolve_trips(root: dict[str, Any], info: graphene.ResolveInfo) -> list[dict[str, Any]]:
    await _group_only(info, root)
    return [{**t, "__typename": "Trip"} for t in await context_of(info).events.group_trips(group_id=root["id"])]


async def resolve_viewer_coop_balance(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any]:
    await _group_only(info, root)
    answer = await context_of(info).events.coop_balance(group_id=root["id"], member_id=info.context.viewer_id)
    return {"child_hours": _hours(answer["balance"]), "floor_child_hours": _hours(answer["floor"])}


async def resolve_coop_balances(root: dict[str, Any], info: graphene.ResolveInfo) -> list[dict[str, Any]]:
    if await info.context.group_role(root["id"]) != "admin":
        raise Forbidden("Only the group's admins see everyone's balance.")
    balances = await context_of(info).events.coop_balances(group_id=root["id"])
    return [{"member_id": m, "is_escrow": m == "escrow", "child_hours": _hours(v)} for m, v in sorted(balances.items())]


# The group's own fields for this (added to Group, which the members module defines).
Group._meta.fields.update(
    {
        "coop_shifts": graphene.Field(
            graphene.List(graphene.NonNull(CoopShift)),
            resolver=resolve_coop_shifts,
            description="Upcoming shifts (members only).",
        ),
        "trips": graphene.Field(
            graphene.List(graphene.NonNull(Trip)),
            resolver=resolve_trips,
            description="School runs and trips (members only).",
        ),
        "viewer_coop_balance": graphene.Field(
            CoopBalance, resolver=resolve_viewer_coop_balance, description="Your credits here."
        ),
        "coop_balances": graphene.Field(
            graphene.List(graphene.NonNull(CoopAccount)),
            resolver=resolve_coop_balances,
            description="Everyone's credits (admins only); they sum to zero.",
        ),
    }
)


def _not_found(field: str, what: str) -> dict[str, Any]:
    return {
        "user_errors": [{"field": ["input", field], "message": t("No such {what}.", what=what), "code": "NOT_FOUND"}]
    }


class GroupActivity(graphene.ObjectType):
    """A co-op shift or a school run of one of your groups, near where you look."""

    type = graphene.Field(GroupActivityType, required=True, description="A co-op shift or a trip.")
    kind = graphene.String(
        required=True,
        description="coop_shift or trip.",
        deprecation_reason="Use type, an enum of the same values in upper case. Deprecated 2026-11-30.",
    )
    distance_km = graphene.Float(required=True, description="To the shift's ~1 km area or the trip's meeting point.")
    shift = graphene.Field(CoopShift, description="The shift, when type is COOP_SHIFT.")
    trip = graphene.Field(Trip, description="The trip, when type is TRIP.")

    @staticmethod
    def resolve_type(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return root["kind"]

    @staticmethod
    async def resolve_shift(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await load_shift(info, root["id"]) if root["kind"] == "coop_shift" else None

    @staticmethod
    async def resolve_trip(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await load_trip(info, root["id"]) if root["kind"] == "trip" else None


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
        page = await ctx.search.nearby_activities(near=point, radius_km=radius, viewer_groups=groups, first=first)
        argument_errors(info, page["errors"])
        return [
            {"id": e["node"]["id"], "kind": e["node"]["kind"], "distance_km": round(e["distance_km"], 1)}
            for e in page["edges"]
        ]


class CoopShiftOfferInput(graphene.InputObjectType):
    """A shift you offer to host."""

    group_id = graphene.ID(required=True, description="A group of yours.")
    city = graphene.String(required=True, description="A city slug, as in `cities`.")
    starts_at = graphene.String(required=True, description="ISO 8601; without an offset, in the city's time zone.")
    ends_at = graphene.String(required=True, description="As startsAt; after it.")
    places = graphene.Int(required=True, description="Children, 1 to 12.")
    age_range = graphene.Field(AgeRangeInput, description="Children's ages you can mind.")
    place_note = graphene.String(description="Where: shown to the group's members only.")
    location = graphene.Field(
        GeoPointInput, description="Roughly where; only a fixed ~1 km area is shown and searched."
    )


class CoopShiftPayload(graphene.ObjectType):
    """The shift and the booking after the mutation."""

    shift = graphene.Field(CoopShift, description="The shift as it is now, when the mutation is about one.")
    booking = graphene.Field(CoopBooking, description="The booking the mutation made or changed.")
    user_errors = user_errors_field()


class CoopShiftOffer(graphene.Mutation):
    """Offer to mind other members' children; you earn credits per child-hour once it is done."""

    class Arguments:
        input = CoopShiftOfferInput(required=True, description="The shift.")

    Output = CoopShiftPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        group_id = local_id(input["group_id"], "Group")
        if group_id is None or not await _in_group(info, group_id):
            return _not_found("groupId", t("group of yours"))
        fields = {k: v for k, v in input.items() if k not in ("group_id", "age_range", "location") and v is not None}
        if input.get("location") is not None:
            fields["location"] = {"lat": input["location"].lat, "lon": input["location"].lon}
        if input.get("age_range"):
            fields["age_min"], fields["age_max"] = (
                input["age_range"].get("min_years"),
                input["age_range"].get("max_years"),
            )
        result = (
            await context_of(info)
            .events.using(headers=info.context.once(info))
            .coop_offer(host_id=viewer, group_id=group_id, fields=fields, protected=await info.context.protected())
        )
        shift = {**result["shift"], "__typename": "CoopShift"} if result["shift"] else None
        return {"shift": shift, "user_errors": user_errors(result["errors"], ("input",))}


class CoopShiftBookInput(graphene.InputObjectType):
    """Places to book."""

    shift_id = graphene.ID(required=True, description="The shift's ID.")
    children = graphene.Int(required=True, description="How many of your children, 1 to the places left.")


class CoopShiftBook(graphene.Mutation):
    """Book places for your children; it costs credits (FULL, BELOW_FLOOR, CLOSED in userErrors)."""

    class Arguments:
        input = CoopShiftBookInput(required=True, description="The shift and how many children.")

    Output = CoopShiftPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        shift_id = local_id(input["shift_id"], "CoopShift")
        if shift_id is None or await load_shift(info, shift_id) is None:
            return _not_found("shiftId", t("shift"))
        result = (
            await context_of(info)
            .events.using(headers=info.context.once(info))
            .coop_book(shift_id=shift_id, member_id=viewer, children=input["children"])
        )
        return {
            "booking": result["booking"],
            "shift": await load_shift(info, shift_id),
            "user_errors": user_errors(result["errors"], ("input",)),
        }


class CoopBookingCancelInput(graphene.InputObjectType):
    """Which booking."""

    booking_id = graphene.ID(required=True, description="The booking's ID.")


class CoopBookingCancel(graphene.Mutation):
    """Cancel before the shift starts; your credits come back."""

    class Arguments:
        input = CoopBookingCancelInput(required=True, description="Which booking.")

    Output = CoopShiftPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        booking_id = local_id(input["booking_id"], "CoopBooking")
        if booking_id is None:
            return _not_found("bookingId", t("booking"))
        result = await context_of(info).events.coop_cancel(booking_id=booking_id, member_id=viewer)
        return {"booking": result["booking"], "user_errors": user_errors(result["errors"], ("input",))}


class CoopFloorSetInput(graphene.InputObjectType):
    """A group's new floor."""

    group_id = graphene.ID(required=True, description="A group you are an admin of.")
    floor_child_hours = graphene.Float(required=True, description="0 or below, e.g. -10.")


class CoopFloorSet(graphene.Mutation):
    """Admins: how far in debt a member may go before they must host."""

    class Arguments:
        input = CoopFloorSetInput(required=True, description="The group and its floor.")

    Output = members_schema.GroupPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        require_viewer(info)
        group_id = local_id(input["group_id"], "Group")
        if group_id is None or await info.context.group_role(group_id) != "admin":
            return {
                "user_errors": [
                    {"field": ["input", "groupId"], "message": t("Only the group's admins can."), "code": "FORBIDDEN"}
                ]
            }
        floor = input["floor_child_hours"]
        if not -100 <= floor <= 0:
            return {
                "user_errors": [
                    {"field": ["input", "floorChildHours"], "message": t("from -100 to 0"), "code": "OUT_OF_RANGE"}
                ]
            }
        await context_of(info).events.coop_set_floor(group_id=group_id, floor_minutes=round(floor * 60))
        return {"group": members_schema.as_group(await info.context.loaders.group.load(group_id)), "user_errors": []}


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


class TripCreate(graphene.Mutation):
    """Start a school run or trip in one of your groups; members then join and take days."""

    class Arguments:
        input = TripCreateInput(required=True, description="The trip.")

    Output = TripPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        group_id = local_id(input["group_id"], "Group")
        if group_id is None or not await _in_group(info, group_id):
            return _not_found("groupId", t("group of yours"))
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


class TripJoin(graphene.Mutation):
    """Have your children ride along on a trip of your group."""

    class Arguments:
        input = TripJoinInput(required=True, description="The trip and your children.")

    Output = TripPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        trip_id = await _trip_id(info, input["trip_id"])
        if trip_id is None:
            return _not_found("tripId", t("trip"))
        result = await context_of(info).events.trip_join(
            trip_id=trip_id, member_id=viewer, children=list(input["children"])
        )
        return await _trip_result(info, trip_id, result)


class TripVolunteer(graphene.Mutation):
    """Take a day: you drive or walk the children then."""

    class Arguments:
        input = TripDayInput(required=True, description="The trip and the day.")

    Output = TripPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        trip_id = await _trip_id(info, input["trip_id"])
        if trip_id is None:
            return _not_found("tripId", t("trip"))
        result = await context_of(info).events.trip_volunteer(trip_id=trip_id, member_id=viewer, date=input["date"])
        return await _trip_result(info, trip_id, result)


class TripSwapPropose(graphene.Mutation):
    """Offer your day for another parent's; they accept with tripSwapAccept."""

    class Arguments:
        input = TripSwapProposeInput(required=True, description="The trip and the two days.")

    Output = TripPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        trip_id = await _trip_id(info, input["trip_id"])
        if trip_id is None:
            return _not_found("tripId", t("trip"))
        result = (
            await context_of(info)
            .events.using(headers=info.context.once(info))
            .trip_swap_propose(
                trip_id=trip_id, member_id=viewer, my_date=input["my_date"], their_date=input["their_date"]
            )
        )
        return await _trip_result(info, trip_id, result)


class TripSwapAccept(graphene.Mutation):
    """Accept a swap: both days change and everyone on them is told."""

    class Arguments:
        input = TripSwapAcceptInput(required=True, description="Which swap.")

    Output = TripPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        trip_id = await _trip_id(info, input["trip_id"])
        swap_id = local_id(input["swap_id"], "TripSwap")
        if trip_id is None or swap_id is None:
            return _not_found("swapId", "swap")
        result = await context_of(info).events.trip_swap_accept(swap_id=swap_id, member_id=viewer)
        return await _trip_result(info, trip_id, result)


class CommunityMutations(graphene.ObjectType):
    coop_shift_offer = CoopShiftOffer.Field()
    coop_shift_book = CoopShiftBook.Field()
    coop_booking_cancel = CoopBookingCancel.Field()
    coop_floor_set = CoopFloorSet.Field()
    trip_create = TripCreate.Field()
    trip_join = TripJoin.Field()
    trip_volunteer = TripVolunteer.Field()
    trip_swap_propose = TripSwapPropose.Field()
    trip_swap_accept = TripSwapAccept.Field()
