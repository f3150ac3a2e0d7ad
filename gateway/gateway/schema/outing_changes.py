"""Proposing, changing and cancelling an outing (or a series): the organizer's and group admins'
mutations, and the inputs that describe an outing."""

from __future__ import annotations

from typing import Any

import graphene

from parentnet_kit.i18n import t

from ..context import Context
from .base import (
    GeoPointInput,
    InputMutation,
    enum_value,
    local_id,
    outing_in_view,
    payload,
    refused,
    require_viewer,
    user_errors_field,
)


class AgeRangeInput(graphene.InputObjectType):
    """Children's ages in whole years; leave an end out for no limit."""

    min_years = graphene.Int(description="0 to 18.")
    max_years = graphene.Int(description="0 to 18, at least minYears.")


class MoneyInput(graphene.InputObjectType):
    """An amount of money."""

    amount = graphene.String(required=True, description="A decimal with at most 2 places, e.g. 4.50; 0 is free.")
    currency = graphene.String(description="ISO 4217; defaults to the city's.")


class RecurrenceInput(graphene.InputObjectType):
    """Repeat an outing: each occurrence is an outing of its own, sharing a seriesId."""

    frequency = graphene.Field("gateway.schema.outings.RecurrenceFrequency", required=True, description="How often.")
    count = graphene.Int(required=True, description="Occurrences, 2 to 52, the first included.")


class OutingCreateInput(graphene.InputObjectType):
    """A new outing."""

    title = graphene.String(required=True, description="1 to 140 characters, any language.")
    description = graphene.String(description="Up to 5,000 characters.")
    language = graphene.String(description="Language tag of title and description; defaults to the city's first.")
    category = graphene.Field(
        "gateway.schema.outings.OutingCategory", required=True, description="What kind of outing it is."
    )
    starts_at = graphene.String(
        required=True, description="ISO 8601 date-time; without an offset it is read in the city's time zone."
    )
    ends_at = graphene.String(required=True, description="As startsAt; after it.")
    venue_name = graphene.String(required=True, description="The public place where families meet.")
    location = graphene.Field(
        GeoPointInput, required=True, description="The public place, in the city's area (City.radiusKm)."
    )
    city = graphene.String(
        description=(
            "A city slug, as in `cities`; its area must hold `location`. When absent, the outing belongs to "
            "the open city whose area holds `location` (the nearest centre when several do)."
        )
    )
    capacity = graphene.Int(description="Places in families, 1 to 500; no limit when absent.")
    age_range = graphene.Field(AgeRangeInput, description="Children's ages it suits.")
    with_children = graphene.Boolean(description="False for parents only. Default true.")
    cost = graphene.Field(MoneyInput, description="Per family; free when absent.")
    group_id = graphene.ID(description="A group you are in; the outing is then visible as the group is.")
    recurrence = graphene.Field(RecurrenceInput, description="Repeat it; each occurrence is an outing of its own.")


class OutingCreatePayload(graphene.ObjectType):
    """What outingCreate made."""

    outing = graphene.Field(
        "gateway.schema.outings.Outing", description="The outing, or the first occurrence of a series."
    )
    user_errors = user_errors_field()


def _point(value: Any) -> dict[str, float] | None:
    return None if value is None else {"lat": value.lat, "lon": value.lon}


def outing_fields(input: dict[str, Any]) -> dict[str, Any]:
    """GraphQL input as the events service's fields (enum members as values, inputs as dicts)."""
    fields: dict[str, Any] = {}
    for name in ("title", "description", "language", "starts_at", "ends_at", "venue_name", "city", "capacity"):
        if input.get(name) is not None:
            fields[name] = input[name]
    for name in ("with_children", "free"):
        if input.get(name) is not None:
            fields[name] = input[name]
    if input.get("category") is not None:
        fields["category"] = enum_value(input["category"])
    if input.get("location") is not None:
        fields["location"] = _point(input["location"])
    if input.get("age_range") is not None:
        fields["age_min"], fields["age_max"] = input["age_range"].get("min_years"), input["age_range"].get("max_years")
    if input.get("cost") is not None:
        fields["cost"] = {"amount": input["cost"]["amount"], "currency": input["cost"].get("currency")}
    if input.get("recurrence") is not None:
        recurrence = input["recurrence"]
        fields["recurrence"] = {"frequency": enum_value(recurrence["frequency"]), "count": recurrence["count"]}
    return fields


class OutingCreate(InputMutation, input=OutingCreateInput, about="The outing to propose.", output=OutingCreatePayload):
    """Propose an outing, as its organizer (signed in). Nothing is stored when ``userErrors`` is not empty."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        organizer = require_viewer(info)
        fields = outing_fields(input)
        if input.get("group_id") is not None:
            group_id = local_id(input["group_id"], "Group")
            group = await ctx.loaders.group.load(group_id) if group_id else None
            if group is None or await ctx.group_role(group_id) is None:
                message = t("Choose a group you are a member of.")
                return {
                    "outing": None,
                    "user_errors": [{"field": ["input", "groupId"], "message": message, "code": "NOT_MEMBER"}],
                }
            fields.update(group_id=group_id, group_visibility=group["visibility"])
        result = await ctx.events.using(headers=ctx.once(info)).create_outing(fields=fields, organizer_id=organizer)
        return payload(result, outing="Outing")


class OutingUpdateInput(graphene.InputObjectType):
    """Changes to an outing; fields left out stay as they are. Rules as in OutingCreateInput."""

    outing_id = graphene.ID(required=True, description="The outing to change.")
    scope = graphene.Field(
        "gateway.schema.outings.OutingEditScope", default_value="occurrence", description="For an outing of a series."
    )
    title = graphene.String(description="1 to 140 characters.")
    description = graphene.String(description="Up to 5,000 characters.")
    language = graphene.String(description="Language tag of title and description.")
    category = graphene.Field("gateway.schema.outings.OutingCategory", description="What kind of outing it is.")
    starts_at = graphene.String(
        description="ISO 8601; without an offset, in the city's time zone. For a SERIES: every occurrence moves "
        "by as many days, to this local time."
    )
    ends_at = graphene.String(description="As startsAt; after it.")
    venue_name = graphene.String(description="The public place where families meet.")
    location = graphene.Field(GeoPointInput, description="The public place, near the city.")
    capacity = graphene.Int(description="Not below the families already confirmed.")
    age_range = graphene.Field(AgeRangeInput, description="Children's ages it suits.")
    with_children = graphene.Boolean(description="False for parents only.")
    cost = graphene.Field(MoneyInput, description="Per family.")
    free = graphene.Boolean(description="true makes it free.")


async def _managed(info: graphene.ResolveInfo, global_id: Any) -> tuple[str | None, bool]:
    """The outing to change (None if the viewer may not see it), and whether the viewer admins
    its group (the events service decides what the organizer or an admin may do)."""
    outing_id, view = await outing_in_view(info, global_id)
    if view is None:
        return None, False
    return outing_id, await info.context.group_role(view.get("group_id")) == "admin"


class OutingUpdate(
    InputMutation, input=OutingUpdateInput, about="What to change.", output="gateway.schema.outings.OutingPayload"
):
    """Change an outing (organizer or group admin). Fields left out stay; time or place changes tell everyone coming."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        actor = require_viewer(info)
        outing_id, is_admin = await _managed(info, input["outing_id"])
        if outing_id is None:
            return {"user_errors": refused("outingId", t("No such outing."))}
        fields = outing_fields(input)
        fields.pop("city", None)
        scope = enum_value(input.get("scope")) or "occurrence"
        result = await ctx.events.update_outing(
            outing_id=outing_id, actor_id=actor, fields=fields, scope=scope, actor_is_group_admin=is_admin
        )
        return payload(result, outing="Outing")


class OutingRefInput(graphene.InputObjectType):
    """Which outing."""

    outing_id = graphene.ID(required=True, description="The outing's ID.")
    scope = graphene.Field(
        "gateway.schema.outings.OutingEditScope", default_value="occurrence", description="For outingCancel."
    )


class OutingCancel(
    InputMutation, input=OutingRefInput, about="Which outing.", output="gateway.schema.outings.OutingPayload"
):
    """Cancel an outing (or its series from now on): it leaves search and everyone coming is told."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        actor = require_viewer(info)
        outing_id, is_admin = await _managed(info, input["outing_id"])
        if outing_id is None:
            return {"user_errors": refused("outingId", t("No such outing."))}
        scope = enum_value(input.get("scope")) or "occurrence"
        result = await ctx.events.cancel_outing(
            outing_id=outing_id, actor_id=actor, scope=scope, actor_is_group_admin=is_admin
        )
        return payload(result, outing="Outing")


class OutingChangeMutations(graphene.ObjectType):
    outing_create = OutingCreate.Field()
    outing_update = OutingUpdate.Field()
    outing_cancel = OutingCancel.Field()
