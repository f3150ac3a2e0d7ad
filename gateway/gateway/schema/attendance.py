"""Coming along to an outing: a confirmed place or the waitlist, and giving it up."""

from __future__ import annotations

from typing import Any

import graphene

from parentnet_kit.i18n import t

from ..context import Context
from .base import (
    InputMutation,
    outing_in_view,
    payload,
    refused,
    require_viewer,
)


class OutingJoinInput(graphene.InputObjectType):
    """Who comes along."""

    outing_id = graphene.ID(required=True, description="The outing to join.")
    adults = graphene.Int(default_value=1, description="1 to 12.")
    children = graphene.Int(default_value=0, description="0 to 12.")


class OutingJoin(
    InputMutation,
    input=OutingJoinInput,
    about="The outing and who comes.",
    output="gateway.schema.outings.OutingPayload",
):
    """Come along: a confirmed place, or the waitlist when it is full (you are told when a place frees up)."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        member = require_viewer(info)
        outing_id, view = await outing_in_view(info, input["outing_id"])
        if outing_id is None or view is None:
            return {"user_errors": refused("outingId", t("No such outing."))}
        result = await ctx.events.join_outing(
            outing_id=outing_id, member_id=member, adults=input.get("adults", 1), children=input.get("children", 0)
        )
        return {**payload(result, outing="Outing"), "place": result["place"]}


class OutingLeave(
    InputMutation,
    input="gateway.schema.outing_changes.OutingRefInput",
    about="Which outing.",
    output="gateway.schema.outings.OutingPayload",
):
    """Give your place (or waitlist spot) up; the first family waiting gets it."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        member = require_viewer(info)
        outing_id, view = await outing_in_view(info, input["outing_id"])
        if outing_id is None or view is None:
            return {"user_errors": refused("outingId", t("No such outing."))}
        result = await ctx.events.leave_outing(outing_id=outing_id, member_id=member)
        return payload(result, outing="Outing")


class AttendanceMutations(graphene.ObjectType):
    outing_join = OutingJoin.Field()
    outing_leave = OutingLeave.Field()
