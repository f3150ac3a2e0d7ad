"""Who is asking, and what they may see: the signed-in member, the outing visibility rule, the
viewer's coarse place, and members as the viewer sees them."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLError

from parentnet_kit.contract.rpc import ModerationClient, SeenBy

from ... import open_cities
from ...context import Context, context_of
from ...errors import Forbidden, Unauthenticated
from .relay import local_id
from .values import typed


def viewer_id(info: graphene.ResolveInfo) -> str | None:
    return info.context.viewer_id


def require_viewer(info: graphene.ResolveInfo) -> str:
    """The signed-in member's id, or a top-level UNAUTHENTICATED error."""
    member_id = info.context.viewer_id
    if member_id is None:
        raise Unauthenticated("Sign in to do this.")
    return member_id


async def member_of(info: graphene.ResolveInfo, member_id: str | None) -> dict[str, Any] | None:
    """A ``Member`` as the viewer may see it (None when gone, hidden, or no id)."""
    if not member_id:
        return None
    return typed("Member", await context_of(info).loaders.member.load(member_id))


async def group_of(info: graphene.ResolveInfo, group_id: str | None) -> dict[str, Any] | None:
    """A ``Group`` by its local id (None when gone or no id)."""
    if not group_id:
        return None
    return typed("Group", await context_of(info).loaders.group.load(group_id))


async def counterpart(info: graphene.ResolveInfo, member_id: str) -> dict[str, Any] | None:
    """The other member of a conversation as the viewer saw them before any block: members hides
    a blocker's profile from the member they blocked, which here would tell the blocked side."""
    ctx = context_of(info)
    view = await ctx.loaders.member.load(member_id)
    if view is None and member_id in await ctx.blocked_by():
        view = (await ctx.members.get_members(member_ids=[member_id], viewer_id=None))[0]
    return typed("Member", view)


async def visible_outing(ctx: Context, view: dict[str, Any] | None) -> dict[str, Any] | None:
    """The outing if the viewer may see it: not blocked by its organizer; a private group's only for members."""
    if view is None or view.get("organizer_id") in await ctx.blocked_by():
        return None
    if view.get("hidden") and view.get("organizer_id") != ctx.viewer_id:  # hidden by a moderator
        return None
    if view.get("group_visibility") == "private" and await ctx.group_role(view.get("group_id")) is None:
        return None
    return view


async def seen_by(ctx: Context) -> SeenBy:
    """What the events service needs to apply ``visible_outing``'s rule before paging (so
    ``totalCount`` counts only what shows): who blocked the viewer, and the viewer's groups."""
    return {
        "hidden_organizers": sorted(await ctx.blocked_by()),
        "viewer_groups": sorted((await ctx.viewer_context())["groups"]),
    }


async def viewer_blocked(ctx: Context) -> frozenset[str]:
    """Members the viewer blocked. Questions and answers hide those members' posts from the viewer
    (their own choice) but never a blocker's from the member they blocked: the blocked side must
    not tell that they are blocked from the questions and answers they get (issue 19)."""
    return frozenset((await ctx.viewer_context()).get("blocked") or ())


async def viewer_place(ctx: Context) -> tuple[str | None, dict[str, float] | None]:
    """The viewer's city and coarse cell centre (the city's centre without a home or in
    protected mode), from the members service; once per request."""
    if ctx.viewer_id is None:
        return None, None
    cached = getattr(ctx, "_conversations_place", None)
    if cached is None:
        me = await ctx.members.viewer(member_id=ctx.viewer_id)
        if me is None:  # signed in, but the account is gone
            return None, None
        cell = me.get("home_cell") if not me.get("protected_mode") else None
        if cell is None:
            city = await open_cities.DIRECTORY.get(me["city"])
            cell = {"lat": city.lat, "lon": city.lon} if city else None
        cached = (me["city"], {"lat": cell["lat"], "lon": cell["lon"]} if cell else None)
        ctx._conversations_place = cached  # type: ignore[attr-defined]
    return cached


async def signed_in_place(ctx: Context) -> tuple[str, dict[str, float] | None]:
    """``viewer_place`` for a signed-in viewer (``require_viewer`` first). Raises ``GraphQLError``
    when the members service does not know them (their account is gone)."""
    city, cell = await viewer_place(ctx)
    if city is None:
        raise GraphQLError("No such member.")
    return city, cell


async def in_group(info: graphene.ResolveInfo, group_id: str | None) -> bool:
    """The viewer has a role in the group (an active member)."""
    return bool(group_id) and await info.context.group_role(group_id) is not None


async def group_only(info: graphene.ResolveInfo, group: dict[str, Any]) -> None:
    """FORBIDDEN unless the viewer is in ``group`` (a Group's fields for its members only)."""
    if not await in_group(info, group["id"]):
        raise Forbidden("Only the group's members see this.")


async def outing_in_view(info: graphene.ResolveInfo, global_id: Any) -> tuple[str | None, dict[str, Any] | None]:
    """(the outing's local id or None for another type's ID, its view or None if the viewer may not see it)."""
    ctx: Context = info.context
    outing_id = local_id(global_id, "Outing")
    if outing_id is None:
        return None, None
    return outing_id, await visible_outing(ctx, await ctx.loaders.outing.load(outing_id))


def member_resolver(key: str) -> Any:
    """A ``Member`` field's resolver: the member whose id is at the view's ``key``, as the viewer
    may see them (null when none, gone or hidden)."""

    async def resolve(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await member_of(info, root.get(key))

    return staticmethod(resolve)


def moderation_of(ctx: Context) -> ModerationClient:
    """The moderation service's typed client over the request's transport."""
    return ModerationClient(ctx.rpc)


async def network_admin(ctx: Context, member_id: str) -> bool:
    """Whether ``member_id`` is a network admin (the members service says)."""
    return bool(await ctx.members.is_network_admin(member_id=member_id))
