"""Parent co-op childcare in the schema: shifts a parent offers, bookings, and the credits (in
child-hours) that balance them; for the members of the group it belongs to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import graphene

from parentnet_kit.i18n import t

from ..context import context_of
from ..errors import Forbidden
from .base import (
    ENUM_INSTEAD,
    NODE_LOADERS,
    NODE_TYPES,
    GeoPointInput,
    InputMutation,
    Node,
    enum,
    global_id_resolver,
    group_of,
    group_only,
    in_group,
    key_resolver,
    local_id,
    local_time,
    member_of,
    not_found,
    require_viewer,
    user_errors,
    user_errors_field,
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


def _hours(minutes: int) -> float:
    return round(minutes / 60, 2)


async def _member(info: graphene.ResolveInfo, member_id: str | None) -> dict[str, Any] | None:
    if not member_id or member_id == "escrow":
        return None
    return await member_of(info, member_id)


class CoopShift(graphene.ObjectType):
    """A parent minding other members' children at home, for credits."""

    class Meta:
        interfaces = (Node,)

    group = graphene.Field("gateway.schema.groups.Group", description="The group it is for.")
    host = graphene.Field("gateway.schema.members.Member", description="The parent minding the children.")
    starts_at = graphene.DateTime(required=True, description="Start, with the city's UTC offset.")
    ends_at = graphene.DateTime(required=True, description="End, with the city's UTC offset.")
    places = graphene.Int(required=True, description="Children in all.")
    places_left = graphene.Int(required=True, description="Children's places not booked yet.")
    age_range = graphene.Field(
        "gateway.schema.outings.AgeRange", description="Children's ages it suits; null when any."
    )
    place_note = graphene.String(required=True, description="Where, for the group's members.")
    child_hours = graphene.Float(required=True, description="What one child's place costs (and earns the host).")
    state = graphene.Field(CoopShiftState, required=True, description="Open, or done once the host was credited.")
    status = graphene.String(
        required=True,
        description="open, or done once the host was credited.",
        deprecation_reason=ENUM_INSTEAD.format(new="state"),
    )

    resolve_id = global_id_resolver("CoopShift")

    resolve_state = key_resolver("status")

    @staticmethod
    async def resolve_group(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await group_of(info, root["group_id"])

    @staticmethod
    async def resolve_host(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await _member(info, root["host_id"])

    @staticmethod
    def resolve_starts_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime:
        return local_time(root["starts_at"], root["time_zone"])

    @staticmethod
    def resolve_ends_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime:
        return local_time(root["ends_at"], root["time_zone"])

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
        deprecation_reason=ENUM_INSTEAD.format(new="state"),
    )

    resolve_id = global_id_resolver("CoopBooking")

    resolve_state = key_resolver("status")

    @staticmethod
    def resolve_child_hours(root: dict[str, Any], info: graphene.ResolveInfo) -> float:
        return _hours(root["child_minutes"])


class CoopAccount(graphene.ObjectType):
    """One member's credits in a group's co-op (or the escrow's)."""

    member = graphene.Field("gateway.schema.members.Member", description="Null for the escrow.")
    is_escrow = graphene.Boolean(required=True, description="Credits held for shifts not yet done.")
    child_hours = graphene.Float(required=True, description="The balance, in child-hours; negative in debt.")

    @staticmethod
    async def resolve_member(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await _member(info, root["member_id"])


class CoopBalance(graphene.ObjectType):
    """Your credits in a group's co-op."""

    child_hours = graphene.Float(required=True, description="Your balance, in child-hours; negative in debt.")
    floor_child_hours = graphene.Float(required=True, description="Below it you must host before you book.")


async def load_shift(info: graphene.ResolveInfo, shift_id: str) -> dict[str, Any] | None:
    shift = await context_of(info).events.coop_shift(shift_id=shift_id)
    return {**shift, "__typename": "CoopShift"} if shift and await in_group(info, shift["group_id"]) else None


async def resolve_coop_shifts(root: dict[str, Any], info: graphene.ResolveInfo) -> list[dict[str, Any]]:
    await group_only(info, root)
    return [{**s, "__typename": "CoopShift"} for s in await context_of(info).events.coop_shifts(group_id=root["id"])]


async def resolve_viewer_coop_balance(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any]:
    await group_only(info, root)
    answer = await context_of(info).events.coop_balance(group_id=root["id"], member_id=info.context.viewer_id)
    return {"child_hours": _hours(answer["balance"]), "floor_child_hours": _hours(answer["floor"])}


async def resolve_coop_balances(root: dict[str, Any], info: graphene.ResolveInfo) -> list[dict[str, Any]]:
    if await info.context.group_role(root["id"]) != "admin":
        raise Forbidden("Only the group's admins see everyone's balance.")
    balances = await context_of(info).events.coop_balances(group_id=root["id"])
    return [{"member_id": m, "is_escrow": m == "escrow", "child_hours": _hours(v)} for m, v in sorted(balances.items())]


class CoopShiftOfferInput(graphene.InputObjectType):
    """A shift you offer to host."""

    group_id = graphene.ID(required=True, description="A group of yours.")
    city = graphene.String(required=True, description="A city slug, as in `cities`.")
    starts_at = graphene.String(required=True, description="ISO 8601; without an offset, in the city's time zone.")
    ends_at = graphene.String(required=True, description="As startsAt; after it.")
    places = graphene.Int(required=True, description="Children, 1 to 12.")
    age_range = graphene.Field(
        "gateway.schema.outing_changes.AgeRangeInput", description="Children's ages you can mind."
    )
    place_note = graphene.String(description="Where: shown to the group's members only.")
    location = graphene.Field(
        GeoPointInput, description="Roughly where; only a fixed ~1 km area is shown and searched."
    )


class CoopShiftPayload(graphene.ObjectType):
    """The shift and the booking after the mutation."""

    shift = graphene.Field(CoopShift, description="The shift as it is now, when the mutation is about one.")
    booking = graphene.Field(CoopBooking, description="The booking the mutation made or changed.")
    user_errors = user_errors_field()


class CoopShiftOffer(InputMutation, input=CoopShiftOfferInput, about="The shift.", output=CoopShiftPayload):
    """Offer to mind other members' children; you earn credits per child-hour once it is done."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        group_id = local_id(input["group_id"], "Group")
        if group_id is None or not await in_group(info, group_id):
            return {"user_errors": not_found("groupId", t("group of yours"))}
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


class CoopShiftBook(
    InputMutation, input=CoopShiftBookInput, about="The shift and how many children.", output=CoopShiftPayload
):
    """Book places for your children; it costs credits (FULL, BELOW_FLOOR, CLOSED in userErrors)."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        shift_id = local_id(input["shift_id"], "CoopShift")
        if shift_id is None or await load_shift(info, shift_id) is None:
            return {"user_errors": not_found("shiftId", t("shift"))}
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


class CoopBookingCancel(InputMutation, input=CoopBookingCancelInput, about="Which booking.", output=CoopShiftPayload):
    """Cancel before the shift starts; your credits come back."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        booking_id = local_id(input["booking_id"], "CoopBooking")
        if booking_id is None:
            return {"user_errors": not_found("bookingId", t("booking"))}
        result = await context_of(info).events.coop_cancel(booking_id=booking_id, member_id=viewer)
        return {"booking": result["booking"], "user_errors": user_errors(result["errors"], ("input",))}


class CoopFloorSetInput(graphene.InputObjectType):
    """A group's new floor."""

    group_id = graphene.ID(required=True, description="A group you are an admin of.")
    floor_child_hours = graphene.Float(required=True, description="0 or below, e.g. -10.")


class CoopFloorSet(
    InputMutation,
    input=CoopFloorSetInput,
    about="The group and its floor.",
    output="gateway.schema.groups.GroupPayload",
):
    """Admins: how far in debt a member may go before they must host."""

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
        return {"group": await group_of(info, group_id), "user_errors": []}


NODE_TYPES.update(CoopShift=CoopShift)
NODE_LOADERS.update(CoopShift=load_shift)


class CoopMutations(graphene.ObjectType):
    coop_shift_offer = CoopShiftOffer.Field()
    coop_shift_book = CoopShiftBook.Field()
    coop_booking_cancel = CoopBookingCancel.Field()
    coop_floor_set = CoopFloorSet.Field()
