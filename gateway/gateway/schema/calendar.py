"""Calendar feeds: the mutations that give a member a secret feed URL, and the HTTP endpoints
that serve iCalendar (``calendar_ics``) to calendar apps, which cannot sign in.

- ``GET /calendar/<token>.ics``: the member's feed (what ``Member.outings`` lists: organising,
  going, waitlisted, past), or with a token made for a group, that group's outings (for a
  private group, only while the member is still in it). The token is the only secret: a
  revoked, rotated or unknown one is the same 404.
- ``GET /calendar/groups/<group id>.ics``: a public group's outings (a private group's: 404).
- ``GET /calendar/outings/<outing id>.ics``: an outing anyone may see (its whole series, if it
  has one); 404 otherwise.

Served here rather than by the events service: who may see which outing (blocks, private
groups) is decided in the gateway (``outings.visible_outing``), and a feed is read as the
member it belongs to would read the API, with the same rule and nothing else.
"""

from __future__ import annotations

import hashlib
from typing import Any

import graphene
from starlette.requests import Request
from starlette.responses import Response

from parentnet_kit.contract.rpc import EventsClient
from parentnet_kit.i18n import t

from .. import calendar_ics
from ..context import Context
from ..rpc import RpcClient
from .base import (
    InputMutation,
    local_id,
    require_viewer,
    seen_by,
    user_errors_field,
    visible_outing,
)

MEDIA = "text/calendar; charset=utf-8"
# Calendar apps poll; a feed may be a few minutes old. Private: it is one member's.
CACHE = "private, max-age=300"
FEED_MAX = 100


def _not_found() -> Response:
    """The one answer for an unknown, rotated or revoked token, a private group or a hidden outing."""
    return Response("Not found.\n", status_code=404, media_type="text/plain; charset=utf-8")


def _feed_url(request: Request | None, token: str) -> str:
    base = str(request.base_url) if request is not None else "/"
    return f"{base.rstrip('/')}/calendar/{token}.ics"


class CalendarFeedInput(graphene.InputObjectType):
    """Which calendar feed."""

    group_id = graphene.ID(
        description="A group you are in: the feed of its outings (needed for a private group's). "
        "Left out: your own outings."
    )


class CalendarFeedPayload(graphene.ObjectType):
    """A calendar feed's new URL, or that it was revoked."""

    url = graphene.String(
        description="The feed's secret URL (iCalendar, for calendar apps): shown once, anyone holding it reads "
        "the feed. Null when revoked or on userErrors."
    )
    revoked = graphene.Boolean(
        required=True, description="True when a feed URL stopped working (its previous one, on a rotation)."
    )
    user_errors = user_errors_field()


async def _group_of(info: graphene.ResolveInfo, input: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
    """The local group id asked for (None: the member's own feed), or userErrors naming groupId."""
    if input.get("group_id") is None:
        return None, []
    group_id = local_id(input["group_id"], "Group")
    if group_id is None or await info.context.group_role(group_id) is None:
        error = {"field": ["input", "groupId"], "message": t("No such group among yours."), "code": "NOT_FOUND"}
        return None, [error]
    return group_id, []


class CalendarFeedRotate(
    InputMutation, input=CalendarFeedInput, about="Which feed; {} for your own outings.", output=CalendarFeedPayload
):
    """Get a secret URL for your calendar feed (or a group's you are in); a URL given before stops working."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        member = require_viewer(info)
        group_id, errors = await _group_of(info, input)
        if errors:
            return {"url": None, "revoked": False, "user_errors": errors}
        made = await ctx.events.calendar_feed_rotate(member_id=member, group_id=group_id)
        return {"url": _feed_url(ctx.request, made["token"]), "revoked": made["replaced"], "user_errors": []}


class CalendarFeedRevoke(
    InputMutation, input=CalendarFeedInput, about="Which feed; {} for your own outings.", output=CalendarFeedPayload
):
    """Stop your calendar feed's URL (or a group's) from working; calendar apps then get 404."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        member = require_viewer(info)
        group_id, errors = await _group_of(info, input)
        if errors:
            return {"url": None, "revoked": False, "user_errors": errors}
        had = await ctx.events.calendar_feed_revoke(member_id=member, group_id=group_id)
        return {"url": None, "revoked": bool(had), "user_errors": []}


class CalendarMutations(graphene.ObjectType):
    calendar_feed_rotate = CalendarFeedRotate.Field()
    calendar_feed_revoke = CalendarFeedRevoke.Field()


# -- serving ------------------------------------------------------------------------------


async def _items_of_member(ctx: Context, member_id: str) -> list[calendar_ics.FeedItem]:
    items = []
    for states in (["organizing", "going", "waitlisted"], ["past"]):
        page = await ctx.events.member_outings(
            member_id=member_id, states=states, first=FEED_MAX, after=None, **await seen_by(ctx)
        )
        for item in page["items"]:
            place = item["place"]
            waiting = item["state"] == "waitlisted"
            note = f"You are number {place['position']} on the waitlist." if waiting and place else None
            items.append(calendar_ics.FeedItem(item["outing"], note, tentative=waiting))
    return items


async def _items_of_group(ctx: Context, group_id: str) -> list[calendar_ics.FeedItem]:
    items = []
    for period in ("upcoming", "past"):
        page = await ctx.events.group_outings(
            group_ids=[group_id], period=period, first=FEED_MAX, after=None, **await seen_by(ctx)
        )
        items += [calendar_ics.FeedItem(item["outing"]) for item in page["items"]]
    return items


async def _answer(request: Request, ctx: Context, name: str, items: list[calendar_ics.FeedItem]) -> Response:
    visible = [item for item in items if await visible_outing(ctx, item.outing) is not None]
    series: dict[str, list[dict[str, Any]]] = {}
    for series_id in dict.fromkeys(i.outing["series_id"] for i in visible if i.outing.get("series_id")):
        series[series_id] = await ctx.events.series(series_id=series_id)
    body = calendar_ics.feed(name, visible, series)
    # DTSTAMP changes on every build: the tag is of what the feed says, without it.
    content = b"\n".join(line for line in body.splitlines() if not line.startswith(b"DTSTAMP"))
    tag = f'"{hashlib.sha256(content).hexdigest()[:32]}"'
    headers = {"Cache-Control": CACHE, "ETag": tag, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA, headers=headers)


def calendar_endpoints(rpc: RpcClient) -> dict[str, Any]:
    """The three GET handlers, by route path."""

    async def by_token(request: Request) -> Response:
        token = request.path_params["token"]
        owner = await EventsClient(rpc).calendar_feed_resolve(token=token)
        if owner is None:
            return _not_found()
        ctx = Context(request=None, rpc=rpc, viewer_id=owner["member_id"])
        group_id = owner.get("group_id")
        if group_id is None:
            return await _answer(request, ctx, "Parentnet: my outings", await _items_of_member(ctx, owner["member_id"]))
        group = await ctx.loaders.group.load(group_id)
        if group is None or await ctx.group_role(group_id) is None:
            return _not_found()  # no longer in the group: the same as a revoked token
        return await _answer(request, ctx, f"Parentnet: {group['name']}", await _items_of_group(ctx, group_id))

    async def of_group(request: Request) -> Response:
        group_id = local_id(request.path_params["group_id"], "Group")
        ctx = Context(request=None, rpc=rpc)
        group = await ctx.loaders.group.load(group_id) if group_id else None
        if group_id is None or group is None or group.get("visibility") != "public":
            return _not_found()
        return await _answer(request, ctx, f"Parentnet: {group['name']}", await _items_of_group(ctx, group_id))

    async def of_outing(request: Request) -> Response:
        outing_id = local_id(request.path_params["outing_id"], "Outing")
        ctx = Context(request=None, rpc=rpc)
        view = await ctx.loaders.outing.load(outing_id) if outing_id else None
        if view is None or await visible_outing(ctx, view) is None:
            return _not_found()
        # An occurrence's feed is its whole series (one VEVENT with its RRULE), as calendar apps expect.
        views = await ctx.events.series(series_id=view["series_id"]) if view.get("series_id") else [view]
        return await _answer(request, ctx, f"Parentnet: {view['title']}", [calendar_ics.FeedItem(v) for v in views])

    return {
        "/calendar/groups/{group_id}.ics": of_group,
        "/calendar/outings/{outing_id}.ics": of_outing,
        "/calendar/{token}.ics": by_token,
    }
