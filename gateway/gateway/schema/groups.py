"""Groups in the schema: a town's or a neighbourhood's community, its members and roles, joining
and leaving; its co-op and trips fields are answered by ``coop`` and ``trips``."""

from __future__ import annotations

from functools import partial
from typing import Any

import graphene

from parentnet_kit.i18n import t

from .. import cursors, open_cities
from ..context import Context, context_of
from ..errors import Forbidden
from .base import (
    NODE_LOADERS,
    NODE_TYPES,
    City,
    InputMutation,
    Node,
    after_argument,
    argument_errors,
    bad_input,
    check_first,
    connection_type,
    deprecated_user_errors,
    edge_type,
    enum,
    enum_value,
    first_argument,
    global_id_resolver,
    group_of,
    local_id,
    member_resolver,
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


class GroupMembership(graphene.ObjectType):
    """A member's place in a group, or their request to join."""

    role = graphene.Field(GroupRole, required=True, description="What they may do there.")
    status = graphene.Field(MembershipStatus, required=True, description="In, asked, declined or left.")
    member = graphene.Field("gateway.schema.members.Member", description="The member; null if not visible to you.")
    group = graphene.Field(lambda: Group, description="The group.")

    resolve_member = member_resolver("member_id")

    @staticmethod
    async def resolve_group(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await group_of(info, root["group_id"])


GroupMemberEdge = edge_type(
    "GroupMemberEdge",
    "gateway.schema.members.Member",
    "a group's members",
    role=graphene.Field(GroupRole, required=True, description="What they may do in the group."),
)


GroupMemberConnection = connection_type(
    "GroupMemberConnection", GroupMemberEdge, "gateway.schema.members.Member", "a group's members"
)


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
        period=graphene.Argument(
            "gateway.schema.my_outings.OutingPeriod", default_value="upcoming", description="To come, or over."
        ),
        first=first_argument(),
        after=after_argument(),
        description="The group's outings. A private group's are for its members only (FORBIDDEN otherwise).",
    )
    # Answered by the co-op and trips contexts, named by import path: this module imports neither.
    coop_shifts = graphene.Field(
        graphene.List(graphene.NonNull("gateway.schema.coop.CoopShift")),
        resolver=resolver_at("gateway.schema.coop.resolve_coop_shifts"),
        description="Upcoming shifts (members only).",
    )
    trips = graphene.Field(
        graphene.List(graphene.NonNull("gateway.schema.trips.Trip")),
        resolver=resolver_at("gateway.schema.trips.resolve_trips"),
        description="School runs and trips (members only).",
    )
    viewer_coop_balance = graphene.Field(
        "gateway.schema.coop.CoopBalance",
        resolver=resolver_at("gateway.schema.coop.resolve_viewer_coop_balance"),
        description="Your credits here.",
    )
    coop_balances = graphene.Field(
        graphene.List(graphene.NonNull("gateway.schema.coop.CoopAccount")),
        resolver=resolver_at("gateway.schema.coop.resolve_coop_balances"),
        description="Everyone's credits (admins only); they sum to zero.",
    )

    resolve_id = global_id_resolver("Group")

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
        return service_page(info, shape, page, after, partial(typed, "Member"))

    @staticmethod
    async def resolve_members(
        root: dict[str, Any], info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        return await Group._page(root, info, False, first, after)

    @staticmethod
    async def resolve_outings(root: dict[str, Any], info: graphene.ResolveInfo, **arguments: Any) -> dict[str, Any]:

        return await resolver_at("gateway.schema.my_outings.group_outings")(root, info, **arguments)

    @staticmethod
    async def resolve_pending_requests(
        root: dict[str, Any], info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        return await Group._page(root, info, True, first, after)


async def load_group(info: graphene.ResolveInfo, group_id: str) -> dict[str, Any] | None:
    return await group_of(info, group_id)


GroupEdge = edge_type("GroupEdge", Group, "groups")


GroupConnection = connection_type("GroupConnection", GroupEdge, Group, "groups", user_errors=deprecated_user_errors())


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


class GroupCreate(InputMutation, input=GroupCreateInput, about="The group.", output=GroupPayload):
    """Start a group; you are its first admin."""

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
        return {"group": typed("Group", group), "membership": group["viewer_membership"], "user_errors": []}


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
        "group": typed("Group", group),
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


class GroupJoin(InputMutation, input=GroupRefInput, about="Which group.", output=GroupPayload):
    """Join an open group, or ask to join one that needs approval."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        return await _membership_mutation(info, input, "join_group")


class GroupLeave(InputMutation, input=GroupRefInput, about="Which group.", output=GroupPayload):
    """Leave a group, or withdraw your request. A group's last admin must name another first."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        return await _membership_mutation(info, input, "leave_group")


class GroupRequestApprove(
    InputMutation, input=GroupMemberRefInput, about="The group and the member.", output=GroupPayload
):
    """Admins: let a member in."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        return await _membership_mutation(info, input, "decide_request", True)


class GroupRequestDecline(
    InputMutation, input=GroupMemberRefInput, about="The group and the member.", output=GroupPayload
):
    """Admins: turn a request down."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        return await _membership_mutation(info, input, "decide_request", False)


class GroupRoleSet(
    InputMutation, input=GroupRoleSetInput, about="The group, the member and the role.", output=GroupPayload
):
    """Admins: make a member an admin, a moderator or a plain member."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        fields = {"group_id": input["group_id"], "member_id": input["member_id"]}
        return await _membership_mutation(info, fields, "set_role", enum_value(input["role"]))


NODE_TYPES.update(Group=Group)
NODE_LOADERS.update(Group=load_group)


class GroupQueries(graphene.ObjectType):
    groups = graphene.Field(
        GroupConnection,
        city=graphene.Argument(graphene.String, description="A city slug; all cities when absent."),
        first=first_argument(),
        after=after_argument(),
        description="Groups to discover, oldest first.",
    )

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
        return service_page(info, shape, page, after, partial(typed, "Group"))


class GroupMutations(graphene.ObjectType):
    group_create = GroupCreate.Field()
    group_join = GroupJoin.Field()
    group_leave = GroupLeave.Field()
    group_request_approve = GroupRequestApprove.Field()
    group_request_decline = GroupRequestDecline.Field()
    group_role_set = GroupRoleSet.Field()
