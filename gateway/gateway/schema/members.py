"""Members in the schema: the Member type (a profile as the viewer may see it), parents near me, blocks."""

from __future__ import annotations

from functools import partial
from typing import Any

import graphene

from parentnet_kit.i18n import t

from .. import cursors
from ..context import Context, context_of
from .base import (
    NODE_LOADERS,
    NODE_TYPES,
    City,
    GeoPoint,
    InputMutation,
    Node,
    UserError,
    after_argument,
    argument_errors,
    check_first,
    connection_type,
    edge_type,
    enum,
    first_argument,
    global_id_resolver,
    local_id,
    member_of,
    not_found,
    pictures_field,
    pictures_resolver,
    require_viewer,
    resolve_city,
    resolver_at,
    service_after,
    service_page,
    typed,
    user_errors,
    user_errors_field,
)

DistanceBand = enum(
    "DistanceBand",
    "How far apart two parents' home cells are; exact distances about people are never given.",
    [
        ("UNDER_1_KM", "UNDER_1_KM", "The same or a neighbouring ~1 km cell."),
        ("FROM_1_TO_3_KM", "FROM_1_TO_3_KM", "About 1 to 3 km apart."),
        ("FROM_3_TO_10_KM", "FROM_3_TO_10_KM", "About 3 to 10 km apart."),
    ],
)


class Child(graphene.ObjectType):
    """A member's child, by age only: never a name."""

    age_months = graphene.Int(required=True, description="Age in whole months.")
    age_years = graphene.Int(required=True, description="Age in whole years.")
    birth_year = graphene.Int(description="Only on your own profile.")
    birth_month = graphene.Int(description="Only on your own profile.")

    @staticmethod
    def resolve_age_years(root: dict[str, Any], info: graphene.ResolveInfo) -> int:
        return root["age_months"] // 12


class Cell(graphene.ObjectType):
    """A fixed area of about 1 km (a whole city in protected mode): all that leaves of a home."""

    id = graphene.String(required=True, description="The cell's stable key.")
    center = graphene.Field(GeoPoint, required=True, description="The cell's centre (not anyone's home).")

    @staticmethod
    def resolve_center(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, float]:
        return {"lat": root["lat"], "lon": root["lon"]}


class Member(graphene.ObjectType):
    """A parent of the network. Fields marked "yours only" are null on anyone else's profile."""

    class Meta:
        interfaces = (Node,)

    display_name = graphene.String(required=True, description="How other parents see them.")
    city = graphene.Field(City, required=True, description="Their city.")
    languages = graphene.List(graphene.NonNull(graphene.String), required=True, description="Language tags they speak.")
    children = graphene.List(graphene.NonNull(Child), required=True, description="Ages only; no names.")
    interests = graphene.List(graphene.NonNull(graphene.String), required=True, description="In their own words.")
    email = graphene.String(description="Yours only.")
    protected_mode = graphene.Boolean(description="Yours only. Hidden from discovery; placed at city level.")
    has_home_location = graphene.Boolean(description="Yours only.")
    home_cell = graphene.Field(Cell, description="Yours only: the coarse cell others are matched against.")
    groups = graphene.List(
        graphene.NonNull("gateway.schema.groups.Group"), description="Yours only: groups you are in or asked to join."
    )
    outings = graphene.Field(
        "gateway.schema.my_outings.MemberOutingConnection",
        states=graphene.Argument(
            graphene.List(graphene.NonNull("gateway.schema.my_outings.MemberOutingState")),
            description="Only outings in these states; ORGANIZING, GOING and WAITLISTED when left out.",
        ),
        first=first_argument(),
        after=after_argument(),
        description=(
            "Yours only (FORBIDDEN on anyone else's profile, null signed out): outings you organise, have a place in "
            "or wait for "
            "(with your waitlist position), and past ones; upcoming soonest first, then past most recent first."
        ),
    )
    group_outings = graphene.Field(
        "gateway.schema.my_outings.GroupOutingConnection",
        period=graphene.Argument(
            "gateway.schema.my_outings.OutingPeriod", default_value="upcoming", description="To come, or over."
        ),
        first=first_argument(),
        after=after_argument(),
        description=(
            "Yours only (FORBIDDEN on anyone else's profile, null signed out): the outings of the groups you are in."
        ),
    )
    pictures = pictures_field("the member (the last, newest, is their profile picture; signed-in members only)")
    resolve_pictures = pictures_resolver("Member")
    is_network_admin = graphene.Boolean(
        description="Yours only: you may open cities (cityOpen) and name other network admins (networkAdminGrant)."
    )

    resolve_id = global_id_resolver("Member")

    @staticmethod
    async def resolve_is_network_admin(root: dict[str, Any], info: graphene.ResolveInfo) -> bool | None:
        ctx: Context = info.context
        if root["id"] != ctx.viewer_id:
            return None
        return bool(await ctx.members.is_network_admin(member_id=root["id"]))

    resolve_city = staticmethod(resolve_city)

    @staticmethod
    async def resolve_groups(root: dict[str, Any], info: graphene.ResolveInfo) -> list[dict[str, Any]] | None:
        ctx: Context = info.context
        if root["id"] != ctx.viewer_id:
            return None
        return [typed("Group", g) for g in await ctx.members.member_groups(member_id=root["id"])]  # type: ignore[misc]

    @staticmethod
    async def resolve_outings(
        root: dict[str, Any], info: graphene.ResolveInfo, **arguments: Any
    ) -> dict[str, Any] | None:

        return await resolver_at("gateway.schema.my_outings.member_outings")(root, info, **arguments)

    @staticmethod
    async def resolve_group_outings(
        root: dict[str, Any], info: graphene.ResolveInfo, **arguments: Any
    ) -> dict[str, Any] | None:

        return await resolver_at("gateway.schema.my_outings.member_group_outings")(root, info, **arguments)


async def load_member(info: graphene.ResolveInfo, member_id: str) -> dict[str, Any] | None:
    return await member_of(info, member_id)


NODE_TYPES.update(Member=Member)
NODE_LOADERS.update(Member=load_member)


ParentEdge = edge_type(
    "ParentEdge",
    Member,
    "parents near you",
    distance_band=graphene.Field(DistanceBand, required=True, description="How far apart your home cells are."),
)
ParentConnection = connection_type(
    "ParentConnection",
    ParentEdge,
    Member,
    "parents near you",
    user_errors=graphene.List(
        graphene.NonNull(UserError),
        required=True,
        description=(
            "Why the page is empty when it is not your arguments' fault: HOME_LOCATION_REQUIRED (set your home "
            "first) or RATE_LIMITED (the message says when to try again). Argument mistakes are top-level "
            "BAD_USER_INPUT errors."
        ),
    ),
)


class ChildAgeRange(graphene.InputObjectType):
    """Children's ages in whole years; leave an end out for no limit."""

    min_years = graphene.Int(description="At least this old, in whole years.")
    max_years = graphene.Int(description="At most this old, in whole years.")


class ParentsNearbyFilter(graphene.InputObjectType):
    """Narrow parents near you; every field given must match."""

    similar_child_ages = graphene.Boolean(description="Only parents with a child within a year of one of yours.")
    child_age = graphene.Field(ChildAgeRange, description="Only parents with a child in this age range.")
    languages = graphene.List(graphene.NonNull(graphene.String), description="Only parents speaking one of these.")
    shared_language = graphene.Boolean(description="Only parents speaking one of your languages.")


def _filters(raw: dict[str, Any] | None) -> dict[str, Any]:
    raw = raw or {}
    filters: dict[str, Any] = {
        "similar_child_ages": bool(raw.get("similar_child_ages")),
        "shared_language": bool(raw.get("shared_language")),
        "languages": list(raw.get("languages") or []),
    }
    age = raw.get("child_age") or {}
    if age.get("min_years") is not None:
        filters["child_age_min_months"] = age["min_years"] * 12
    if age.get("max_years") is not None:
        filters["child_age_max_months"] = age["max_years"] * 12 + 11
    return filters


class MemberQueries(graphene.ObjectType):
    viewer = graphene.Field(Member, description="You, when signed in; null otherwise.")
    parents_nearby = graphene.Field(
        ParentConnection,
        filter=graphene.Argument(ParentsNearbyFilter, description="Narrow the list; everyone near when absent."),
        first=first_argument(),
        after=after_argument(),
        description=(
            "Parents whose home cell is within 10 km of yours, nearest band first, in an order that says nothing "
            "more about distance. Members in protected mode and blocks either way never appear. Signed in only."
        ),
    )

    @staticmethod
    async def resolve_viewer(root: None, info: graphene.ResolveInfo) -> dict[str, Any] | None:
        ctx: Context = info.context
        if ctx.viewer_id is None:
            return None
        return await member_of(info, ctx.viewer_id)

    @staticmethod
    async def resolve_parents_nearby(
        root: None,
        info: graphene.ResolveInfo,
        filter: dict[str, Any] | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> dict[str, Any]:
        # ``first`` was checked with the other limits before execution (gateway/limits.py).
        viewer = require_viewer(info)
        first = check_first(info, first)
        shape = {"filter": filter}
        start = service_after(info, after, shape, cursors.is_ranked_key)
        page = await context_of(info).members.parents_nearby(
            viewer_id=viewer, filters=_filters(filter), first=first, after=start
        )
        # What the viewer's state explains stays on the page; anything else is the arguments' fault.
        state = [e for e in page["errors"] if e["code"] in ("HOME_LOCATION_REQUIRED", "RATE_LIMITED", "NOT_FOUND")]
        argument_errors(info, [e for e in page["errors"] if e not in state])
        return {**service_page(info, shape, page, after, partial(typed, "Member")), "user_errors": user_errors(state)}


# -- mutations -------------------------------------------------------------------------


class MemberBlockInput(graphene.InputObjectType):
    """Which member."""

    member_id = graphene.ID(required=True, description="The member's ID.")


class MemberBlockPayload(graphene.ObjectType):
    """The member after memberBlock or memberUnblock."""

    member = graphene.Field(Member, description="The member you blocked or unblocked.")
    user_errors = user_errors_field()


async def _block(info: graphene.ResolveInfo, input: dict[str, Any], method: str) -> dict[str, Any]:
    viewer = require_viewer(info)
    target = local_id(input["member_id"], "Member")
    if target is None:
        return {"member": None, "user_errors": not_found("memberId", t("member"))}
    members = context_of(info).members
    change = members.block if method == "block" else members.unblock
    result = await change(blocker_id=viewer, member_id=target)
    if result["errors"]:
        return {"member": None, "user_errors": user_errors(result["errors"], ("input",))}
    return {"member": await member_of(info, target), "user_errors": []}


class MemberBlock(InputMutation, input=MemberBlockInput, about="Which member.", output=MemberBlockPayload):
    """Block a member: they no longer see your profile, outings or listings anywhere, nor you theirs in discovery."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        return await _block(info, input, "block")


class MemberUnblock(InputMutation, input=MemberBlockInput, about="Which member.", output=MemberBlockPayload):
    """Unblock a member: they see what is yours again."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        return await _block(info, input, "unblock")


class MemberMutations(graphene.ObjectType):
    member_block = MemberBlock.Field()
    member_unblock = MemberUnblock.Field()
