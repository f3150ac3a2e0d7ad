"""Members, groups and blocks in the schema: sign-up and login, profiles, parents near me."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import graphene

from parentnet_kit.i18n import t

from .. import cursors, ids, open_cities
from ..context import Context, context_of
from ..errors import Forbidden
from .base import (
    NODE_LOADERS,
    NODE_TYPES,
    City,
    GeoPoint,
    GeoPointInput,
    Node,
    UserError,
    after_argument,
    argument_errors,
    bad_input,
    check_first,
    connection,
    connection_type,
    deprecated_user_errors,
    edge_type,
    enum,
    first_argument,
    require_viewer,
    resolve_city,
    user_errors,
    user_errors_field,
)
from .outing_states import MemberOutingState, OutingPeriod
from .pictures import pictures_field, pictures_resolver

DistanceBand = enum(
    "DistanceBand",
    "How far apart two parents' home cells are; exact distances about people are never given.",
    [
        ("UNDER_1_KM", "UNDER_1_KM", "The same or a neighbouring ~1 km cell."),
        ("FROM_1_TO_3_KM", "FROM_1_TO_3_KM", "About 1 to 3 km apart."),
        ("FROM_3_TO_10_KM", "FROM_3_TO_10_KM", "About 3 to 10 km apart."),
    ],
)
GroupVisibility = enum(
    "GroupVisibility",
    "Who sees a group and what is in it.",
    [
        ("PUBLIC", "public", "Anyone finds it and sees its outings."),
        ("PRIVATE", "private", "Anyone finds it; only its members see its members, outings and contacts."),
    ],
)
GroupJoinPolicy = enum(
    "GroupJoinPolicy",
    "How members get in.",
    [
        ("OPEN", "open", "Anyone joins at once."),
        ("APPROVAL", "approval", "An admin approves each request."),
    ],
)
GroupRole = enum(
    "GroupRole",
    "What a member may do in a group.",
    [
        ("ADMIN", "admin", "Runs the group: approves requests, sets roles, edits its outings."),
        ("MODERATOR", "moderator", "Helps the admins keep it friendly."),
        ("MEMBER", "member", "Takes part."),
    ],
)
MembershipStatus = enum(
    "MembershipStatus",
    "Where a membership is.",
    [
        ("ACTIVE", "active", "In the group."),
        ("PENDING", "pending", "Asked to join; an admin decides."),
        ("DECLINED", "declined", "An admin turned the request down."),
        ("LEFT", "left", "Left the group (or withdrew the request)."),
    ],
)


def enum_value(value: Any) -> Any:
    """graphene hands enum inputs over as enum members; the services speak values."""
    return getattr(value, "value", value)


def as_member(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if view is None else {**view, "__typename": "Member"}


def as_group(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if view is None else {**view, "__typename": "Group"}


def local_id(global_id: Any, type_name: str) -> str | None:
    decoded = ids.from_global_id(global_id) if isinstance(global_id, str) else None
    return decoded[1] if decoded and decoded[0] == type_name else None


def not_found(field: str, what: str) -> list[dict[str, Any]]:
    return [{"field": ["input", field], "message": t("No such {what}.", what=what), "code": "NOT_FOUND"}]


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
        graphene.NonNull(lambda: Group), description="Yours only: groups you are in or asked to join."
    )
    outings = graphene.Field(
        "gateway.schema.my_outings.MemberOutingConnection",
        states=graphene.Argument(
            graphene.List(graphene.NonNull(MemberOutingState)),
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
        period=graphene.Argument(OutingPeriod, default_value="upcoming", description="To come, or over."),
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

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("Member", root["id"])

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
        return [as_group(g) for g in await ctx.members.member_groups(member_id=root["id"])]  # type: ignore[misc]

    @staticmethod
    async def resolve_outings(
        root: dict[str, Any], info: graphene.ResolveInfo, **arguments: Any
    ) -> dict[str, Any] | None:
        from . import my_outings  # it imports outings.py, which imports this module

        return await my_outings.member_outings(root, info, **arguments)

    @staticmethod
    async def resolve_group_outings(
        root: dict[str, Any], info: graphene.ResolveInfo, **arguments: Any
    ) -> dict[str, Any] | None:
        from . import my_outings

        return await my_outings.member_group_outings(root, info, **arguments)


class GroupMembership(graphene.ObjectType):
    """A member's place in a group, or their request to join."""

    role = graphene.Field(GroupRole, required=True, description="What they may do there.")
    status = graphene.Field(MembershipStatus, required=True, description="In, asked, declined or left.")
    member = graphene.Field(Member, description="The member; null if not visible to you.")
    group = graphene.Field(lambda: Group, description="The group.")

    @staticmethod
    async def resolve_member(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return as_member(await info.context.loaders.member.load(root["member_id"]))

    @staticmethod
    async def resolve_group(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return as_group(await info.context.loaders.group.load(root["group_id"]))


GroupMemberEdge = edge_type(
    "GroupMemberEdge",
    Member,
    "a group's members",
    role=graphene.Field(GroupRole, required=True, description="What they may do in the group."),
)
GroupMemberConnection = connection_type("GroupMemberConnection", GroupMemberEdge, Member, "a group's members")


def service_page(
    info: graphene.ResolveInfo, shape: dict[str, Any], page: dict[str, Any], after: str | None, make: Any
) -> dict[str, Any]:
    """A page from the members service: its cursors rebound to this query, its nodes made by ``make``."""
    cursor = cursors.encoder(info, shape)
    edges = [{**e, "cursor": cursor(cursors.from_service(e["cursor"])), "node": make(e["node"])} for e in page["edges"]]
    return connection(edges, page["has_next_page"], after, page["total"], user_errors=[])


def service_after(info: graphene.ResolveInfo, after: str | None, shape: dict[str, Any], valid: Any) -> str | None:
    """The members service's cursor for ``after`` (BAD_USER_INPUT if it is not this query's)."""
    position = cursors.decode(info, after, shape, valid)
    return None if position is None else cursors.to_service(position)


class Group(graphene.ObjectType):
    """A town's or a neighbourhood's community, run by its admins."""

    class Meta:
        interfaces = (Node,)

    name = graphene.String(required=True, description="1 to 80 characters.")
    description = graphene.String(required=True, description="What the group is about; may be empty.")
    city = graphene.Field(City, required=True, description="The city it belongs to.")
    languages = graphene.List(graphene.NonNull(graphene.String), required=True, description="Languages spoken there.")
    visibility = graphene.Field(GroupVisibility, required=True, description="Who sees what is in it.")
    pictures = pictures_field("the group (for its members only when it is private)")
    resolve_pictures = pictures_resolver("Group")
    join_policy = graphene.Field(GroupJoinPolicy, required=True, description="How members get in.")
    member_count = graphene.Int(required=True, description="Active members.")
    viewer_membership = graphene.Field(GroupMembership, description="Your membership or request; null if none.")
    members = graphene.Field(
        GroupMemberConnection,
        first=first_argument(),
        after=after_argument(),
        description="Who is in the group. A private group's list is for its members only (FORBIDDEN otherwise).",
    )
    pending_requests = graphene.Field(
        GroupMemberConnection,
        first=first_argument(),
        after=after_argument(),
        description="Requests to join; for the group's admins only.",
    )
    outings = graphene.Field(
        "gateway.schema.my_outings.GroupOutingConnection",
        period=graphene.Argument(OutingPeriod, default_value="upcoming", description="To come, or over."),
        first=first_argument(),
        after=after_argument(),
        description="The group's outings. A private group's are for its members only (FORBIDDEN otherwise).",
    )

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("Group", root["id"])

    resolve_city = staticmethod(resolve_city)

    @staticmethod
    async def _page(
        root: dict[str, Any], info: graphene.ResolveInfo, pending: bool, first: int, after: str | None
    ) -> dict[str, Any]:
        ctx: Context = info.context
        first = check_first(info, first)
        shape = {"group": root["id"]}
        start = service_after(info, after, shape, cursors.is_key)
        page = await ctx.members.group_members(
            group_id=root["id"], viewer_id=ctx.viewer_id, pending=pending, first=first, after=start
        )
        if page is None:
            raise Forbidden(
                "Only the group's admins can see this." if pending else "Only members see who is in this group."
            )
        return service_page(info, shape, page, after, as_member)

    @staticmethod
    async def resolve_members(
        root: dict[str, Any], info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        return await Group._page(root, info, False, first, after)

    @staticmethod
    async def resolve_outings(root: dict[str, Any], info: graphene.ResolveInfo, **arguments: Any) -> dict[str, Any]:
        from . import my_outings  # it imports outings.py, which imports this module

        return await my_outings.group_outings(root, info, **arguments)

    @staticmethod
    async def resolve_pending_requests(
        root: dict[str, Any], info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        return await Group._page(root, info, True, first, after)


async def load_member(info: graphene.ResolveInfo, member_id: str) -> dict[str, Any] | None:
    return as_member(await info.context.loaders.member.load(member_id))


async def load_group(info: graphene.ResolveInfo, group_id: str) -> dict[str, Any] | None:
    return as_group(await info.context.loaders.group.load(group_id))


NODE_TYPES.update(Member=Member, Group=Group)
NODE_LOADERS.update(Member=load_member, Group=load_group)


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
GroupEdge = edge_type("GroupEdge", Group, "groups")
GroupConnection = connection_type("GroupConnection", GroupEdge, Group, "groups", user_errors=deprecated_user_errors())


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
    groups = graphene.Field(
        GroupConnection,
        city=graphene.Argument(graphene.String, description="A city slug; all cities when absent."),
        first=first_argument(),
        after=after_argument(),
        description="Groups to discover, oldest first.",
    )

    @staticmethod
    async def resolve_viewer(root: None, info: graphene.ResolveInfo) -> dict[str, Any] | None:
        ctx: Context = info.context
        if ctx.viewer_id is None:
            return None
        return as_member(await ctx.loaders.member.load(ctx.viewer_id))

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
        return {**service_page(info, shape, page, after, as_member), "user_errors": user_errors(state)}

    @staticmethod
    async def resolve_groups(
        root: None, info: graphene.ResolveInfo, city: str | None = None, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        ctx: Context = info.context
        if city is not None and await open_cities.DIRECTORY.get(city) is None:
            raise bad_input(
                info, "city", t("city must be a city slug, as in cities; {city} is not one.", city=repr(city))
            )
        first = check_first(info, first)
        shape = {"city": city}
        start = service_after(info, after, shape, cursors.is_key)
        page = await ctx.members.list_groups(city=city, viewer_id=ctx.viewer_id, first=first, after=start)
        argument_errors(info, page["errors"])
        return service_page(info, shape, page, after, as_group)


# -- mutations -------------------------------------------------------------------------


class AuthPayload(graphene.ObjectType):
    """A signed-in session: send accessToken as a bearer token; trade refreshToken for new ones."""

    member = graphene.Field(Member, description="You; null when userErrors is not empty.")
    access_token = graphene.String(description="Valid until accessTokenExpiresAt (minutes).")
    access_token_expires_at = graphene.DateTime(description="When accessToken stops working: refresh before.")
    refresh_token = graphene.String(description="Use once with memberTokenRefresh; a reused one ends the session.")
    retry_after_seconds = graphene.Int(description="Set when userErrors has THROTTLED: when to try again.")
    user_errors = user_errors_field()


def auth_payload(result: dict[str, Any], prefix: tuple[str, ...] = ("input",)) -> dict[str, Any]:
    if result.get("errors"):
        return {
            "user_errors": user_errors(result["errors"], prefix),
            "retry_after_seconds": result.get("retry_after_seconds"),
        }
    return {
        "member": as_member(result["member"]),
        "access_token": result["access_token"],
        "access_token_expires_at": result["access_token_expires_at"],
        "refresh_token": result["refresh_token"],
        "user_errors": [],
    }


class MemberRegisterInput(graphene.InputObjectType):
    """A new account."""

    email = graphene.String(required=True, description="Your email address; it signs you in.")
    password = graphene.String(required=True, description="10 to 128 characters.")
    display_name = graphene.String(required=True, description="How other parents see you; 1 to 60 characters.")
    city = graphene.String(required=True, description="A city slug, as in `cities`.")


class MemberRegister(graphene.Mutation):
    """Create an account and sign in."""

    class Arguments:
        input = MemberRegisterInput(required=True, description="The account to create.")

    Output = AuthPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        return auth_payload(await ctx.members.register(fields=dict(input), client=ctx.client))


class MemberLoginInput(graphene.InputObjectType):
    """Your email and password."""

    email = graphene.String(required=True, description="The email you registered with.")
    password = graphene.String(required=True, description="Your password.")


class MemberLogin(graphene.Mutation):
    """Sign in. Wrong email and wrong password give the same INVALID_CREDENTIALS; too many tries give THROTTLED."""

    class Arguments:
        input = MemberLoginInput(required=True, description="Your email and password.")

    Output = AuthPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        result = await ctx.members.login(email=input["email"], password=input["password"], client=ctx.client)
        return auth_payload(result)


class MemberTokenRefreshInput(graphene.InputObjectType):
    """The refresh token to trade."""

    refresh_token = graphene.String(required=True, description="The refreshToken of your last sign-in or refresh.")


class MemberTokenRefresh(graphene.Mutation):
    """Trade a refresh token for a new access token and a new refresh token."""

    class Arguments:
        input = MemberTokenRefreshInput(required=True, description="The refresh token to trade.")

    Output = AuthPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        return auth_payload(await context_of(info).members.refresh(refresh_token=input["refresh_token"]))


class MemberLogoutInput(graphene.InputObjectType):
    """Which sessions to end."""

    everywhere = graphene.Boolean(default_value=False, description="End all your sessions, on every device.")


class MemberLogoutPayload(graphene.ObjectType):
    """What memberLogout ended."""

    sessions_ended = graphene.Int(required=True, description="How many sessions ended.")
    user_errors = user_errors_field()


class MemberLogout(graphene.Mutation):
    """End this session (its tokens stop working at once), or all of them."""

    class Arguments:
        input = MemberLogoutInput(description="Which sessions; this one when absent.")

    Output = MemberLogoutPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any] | None = None) -> dict[str, Any]:
        ctx: Context = info.context
        viewer = require_viewer(info)
        everywhere = bool((input or {}).get("everywhere"))
        ended = await ctx.members.logout(member_id=viewer, session_id=ctx.session_id or "", everywhere=everywhere)
        if ctx.authenticator is not None and ctx.session_id:
            ctx.authenticator.forget(ctx.session_id)
        return {"sessions_ended": ended, "user_errors": []}


class ChildInput(graphene.InputObjectType):
    """A child, by birth month only."""

    birth_year = graphene.Int(required=True, description="Four digits, not in the future.")
    birth_month = graphene.Int(required=True, description="1 to 12.")


class MemberUpdateProfileInput(graphene.InputObjectType):
    """Changes to your profile; fields left out stay as they are."""

    display_name = graphene.String(description="How other parents see you; 1 to 60 characters.")
    city = graphene.String(description="A city slug; moving city needs a home location there (or clearHomeLocation).")
    home_location = graphene.Field(
        GeoPointInput, description="Private: kept by the members service; others only ever learn a ~1 km cell."
    )
    clear_home_location = graphene.Boolean(description="true forgets your home location.")
    languages = graphene.List(graphene.NonNull(graphene.String), description="Language tags, e.g. fr, zh-Hant.")
    children = graphene.List(graphene.NonNull(ChildInput), description="Replaces the list; birth month and year only.")
    interests = graphene.List(graphene.NonNull(graphene.String), description="Replaces the list; in your words.")
    protected_mode = graphene.Boolean(description="Hide me from every discovery surface; place me at city level.")


class MemberProfilePayload(graphene.ObjectType):
    """Your profile after the change."""

    member = graphene.Field(Member, description="You, as you are now.")
    user_errors = user_errors_field()


class MemberUpdateProfile(graphene.Mutation):
    """Change your profile; fields left out stay as they are. Nothing changes when userErrors is not empty."""

    class Arguments:
        input = MemberUpdateProfileInput(required=True, description="What to change.")

    Output = MemberProfilePayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        fields = {k: v for k, v in input.items() if v is not None}
        if "home_location" in fields:
            fields["home_location"] = {"lat": fields["home_location"].lat, "lon": fields["home_location"].lon}
        if "children" in fields:
            fields["children"] = [dict(c) for c in fields["children"]]
        result = await context_of(info).members.update_profile(member_id=viewer, fields=fields)
        if "protected_mode" in fields and not result["errors"]:
            await _place_what_they_posted(info, viewer, bool(fields["protected_mode"]))
        return {"member": as_member(result["member"]), "user_errors": user_errors(result["errors"], ("input",))}


async def _place_what_they_posted(info: graphene.ResolveInfo, member_id: str, protected: bool) -> None:
    """Protected mode changed: what the member posted moves to city level (or back to its cells).

    Both calls are idempotent, so a client retrying the mutation after a failure completes them."""
    ctx = context_of(info)
    calls: list[Awaitable[int]] = [ctx.listings.place_owner(owner_id=member_id, protected=protected)]
    if protected:
        calls.append(ctx.events.coop_place_host(host_id=member_id))
    await asyncio.gather(*calls)


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
        return {t("member"): None, "user_errors": not_found("memberId", t("member"))}
    members = context_of(info).members
    change = members.block if method == "block" else members.unblock
    result = await change(blocker_id=viewer, member_id=target)
    if result["errors"]:
        return {"member": None, "user_errors": user_errors(result["errors"], ("input",))}
    return {"member": as_member(await info.context.loaders.member.load(target)), "user_errors": []}


class MemberBlock(graphene.Mutation):
    """Block a member: they no longer see your profile, outings or listings anywhere, nor you theirs in discovery."""

    class Arguments:
        input = MemberBlockInput(required=True, description="Which member.")

    Output = MemberBlockPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        return await _block(info, input, "block")


class MemberUnblock(graphene.Mutation):
    """Unblock a member: they see what is yours again."""

    class Arguments:
        input = MemberBlockInput(required=True, description="Which member.")

    Output = MemberBlockPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        return await _block(info, input, "unblock")


class GroupCreateInput(graphene.InputObjectType):
    """A new group."""

    name = graphene.String(required=True, description="1 to 80 characters.")
    city = graphene.String(required=True, description="A city slug, as in `cities`.")
    description = graphene.String(description="Up to 2,000 characters.")
    languages = graphene.List(graphene.NonNull(graphene.String), description="Language tags spoken there.")
    visibility = graphene.Field(GroupVisibility, default_value="public", description="Who sees what is in it.")
    join_policy = graphene.Field(GroupJoinPolicy, default_value="open", description="How members get in.")


class GroupPayload(graphene.ObjectType):
    """The group after the mutation."""

    group = graphene.Field(Group, description="The group as it is now; null when nothing was found or made.")
    membership = graphene.Field(GroupMembership, description="The membership the mutation changed.")
    user_errors = user_errors_field()


class GroupCreate(graphene.Mutation):
    """Start a group; you are its first admin."""

    class Arguments:
        input = GroupCreateInput(required=True, description="The group.")

    Output = GroupPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        fields = {k: enum_value(v) for k, v in input.items()}
        result = (
            await context_of(info)
            .members.using(headers=info.context.once(info))
            .create_group(creator_id=viewer, fields=fields)
        )
        if result["errors"]:
            return {"group": None, "user_errors": user_errors(result["errors"], ("input",))}
        group = (await context_of(info).members.get_groups(group_ids=[result["group"]["id"]], viewer_id=viewer))[0]
        assert group is not None, "members lost the group it just created"
        return {"group": as_group(group), "membership": group["viewer_membership"], "user_errors": []}


async def _membership_mutation(
    info: graphene.ResolveInfo, input: dict[str, Any], method: str, *extra: Any
) -> dict[str, Any]:
    viewer = require_viewer(info)
    group_id = local_id(input["group_id"], "Group")
    if group_id is None:
        return {"user_errors": not_found("groupId", t("group"))}
    member_id = None
    if "member_id" in input:
        member_id = local_id(input["member_id"], "Member")
        if member_id is None:
            return {"user_errors": not_found("memberId", t("member"))}
    members = context_of(info).members
    if method == "join_group":
        result = await members.join_group(member_id=viewer, group_id=group_id)
    elif method == "leave_group":
        result = await members.leave_group(member_id=viewer, group_id=group_id)
    elif method == "decide_request" and member_id is not None:
        result = await members.decide_request(admin_id=viewer, group_id=group_id, member_id=member_id, approve=extra[0])
    elif method == "set_role" and member_id is not None:
        result = await members.set_role(admin_id=viewer, group_id=group_id, member_id=member_id, role=extra[0])
    else:
        raise ValueError(f"no membership change {method!r} for {sorted(input)}")
    group = (await context_of(info).members.get_groups(group_ids=[group_id], viewer_id=viewer))[0]
    return {
        "group": as_group(group),
        "membership": result["membership"],
        "user_errors": user_errors(result["errors"], ("input",)),
    }


class GroupRefInput(graphene.InputObjectType):
    """Which group."""

    group_id = graphene.ID(required=True, description="The group's ID.")


class GroupMemberRefInput(graphene.InputObjectType):
    """A member of a group (or one asking to join)."""

    group_id = graphene.ID(required=True, description="The group's ID.")
    member_id = graphene.ID(required=True, description="The member's ID.")


class GroupRoleSetInput(graphene.InputObjectType):
    """A member's new role in a group."""

    group_id = graphene.ID(required=True, description="The group's ID.")
    member_id = graphene.ID(required=True, description="The member's ID.")
    role = graphene.Field(GroupRole, required=True, description="The new role.")


class GroupJoin(graphene.Mutation):
    """Join an open group, or ask to join one that needs approval."""

    class Arguments:
        input = GroupRefInput(required=True, description="Which group.")

    Output = GroupPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        return await _membership_mutation(info, input, "join_group")


class GroupLeave(graphene.Mutation):
    """Leave a group, or withdraw your request. A group's last admin must name another first."""

    class Arguments:
        input = GroupRefInput(required=True, description="Which group.")

    Output = GroupPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        return await _membership_mutation(info, input, "leave_group")


class GroupRequestApprove(graphene.Mutation):
    """Admins: let a member in."""

    class Arguments:
        input = GroupMemberRefInput(required=True, description="The group and the member.")

    Output = GroupPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        return await _membership_mutation(info, input, "decide_request", True)


class GroupRequestDecline(graphene.Mutation):
    """Admins: turn a request down."""

    class Arguments:
        input = GroupMemberRefInput(required=True, description="The group and the member.")

    Output = GroupPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        return await _membership_mutation(info, input, "decide_request", False)


class GroupRoleSet(graphene.Mutation):
    """Admins: make a member an admin, a moderator or a plain member."""

    class Arguments:
        input = GroupRoleSetInput(required=True, description="The group, the member and the role.")

    Output = GroupPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        fields = {"group_id": input["group_id"], "member_id": input["member_id"]}
        return await _membership_mutation(info, fields, "set_role", enum_value(input["role"]))


class MemberMutations(graphene.ObjectType):
    member_register = MemberRegister.Field()
    member_login = MemberLogin.Field()
    member_token_refresh = MemberTokenRefresh.Field()
    member_logout = MemberLogout.Field()
    member_update_profile = MemberUpdateProfile.Field()
    member_block = MemberBlock.Field()
    member_unblock = MemberUnblock.Field()
    group_create = GroupCreate.Field()
    group_join = GroupJoin.Field()
    group_leave = GroupLeave.Field()
    group_request_approve = GroupRequestApprove.Field()
    group_request_decline = GroupRequestDecline.Field()
    group_role_set = GroupRoleSet.Field()
