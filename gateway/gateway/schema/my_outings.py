"""Lists of outings for the home screen: yours (organised, going, waitlisted, past), your
groups', a group's, and what is on this weekend near you and in your groups.

Every list is read from the events service's per-member and per-group indexes (by ``_id``, see
services/events/events/my_outings.py), and goes through the same visibility rule as any outing
(``outings.visible_outing``: blocks, private groups). "Near you" is your home cell's centre
(~1 km) — the city's centre in protected mode or without a home — never the home itself.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import graphene

from parentnet_kit import cities

from .. import cursors, open_cities
from ..context import Context
from ..errors import Forbidden, Unauthenticated
from .base import (
    after_argument,
    check_first,
    connection,
    connection_type,
    edge_type,
    enum,
    enum_value,
    first_argument,
    require_viewer,
    seen_by,
    typed,
    visible_outing,
)

MemberOutingState = enum(
    "MemberOutingState",
    "Where you stand with an outing, as the list of your outings shows it.",
    [
        ("ORGANIZING", "organizing", "You proposed it, and it is not over yet (it may have been cancelled)."),
        ("GOING", "going", "You have a confirmed place, and it is not over yet."),
        ("WAITLISTED", "waitlisted", "You are on its waitlist (see place.position), and it is not over yet."),
        ("PAST", "past", "It is over, and you organised it or had a place; cancelled ones are left out."),
    ],
)
OutingPeriod = enum(
    "OutingPeriod",
    "Which of a list's outings: the ones to come, or the ones that are over.",
    [
        ("UPCOMING", "upcoming", "Not over yet, soonest first; cancelled ones included (their state says so)."),
        ("PAST", "past", "Over, most recent first; cancelled ones left out."),
    ],
)


# Around a home cell's centre (cells are ~1 km), and around a city's centre (protected mode,
# or no home given): what "near you" means on the home screen.
NEAR_CELL_KM = 5.0
NEAR_CITY_KM = 15.0
WEEKEND_MAX = 100

MemberOutingEdge = edge_type(
    "MemberOutingEdge",
    "gateway.schema.outings.Outing",
    "your outings",
    state=graphene.Field(MemberOutingState, required=True, description="Where you stand with this outing."),
    place=graphene.Field(
        "gateway.schema.outings.Place",
        description="Your place or waitlist spot (position 1-based, among the confirmed or the waitlist); "
        "null for outings you organise.",
    ),
)
MemberOutingConnection = connection_type(
    "MemberOutingConnection", MemberOutingEdge, "gateway.schema.outings.Outing", "your outings"
)
GroupOutingEdge = edge_type("GroupOutingEdge", "gateway.schema.outings.Outing", "groups' outings")
GroupOutingConnection = connection_type(
    "GroupOutingConnection", GroupOutingEdge, "gateway.schema.outings.Outing", "groups' outings"
)
WeekendOutingEdge = edge_type(
    "WeekendOutingEdge",
    "gateway.schema.outings.Outing",
    "outings this weekend",
    in_your_groups=graphene.Boolean(required=True, description="It is an outing of one of your groups."),
)
WeekendOutingConnection = connection_type(
    "WeekendOutingConnection",
    WeekendOutingEdge,
    "gateway.schema.outings.Outing",
    "outings this weekend near you and in your groups, soonest first (at most 100)",
    starts_at=graphene.DateTime(required=True, description="The weekend's start: Saturday 00:00 in your city."),
    ends_at=graphene.DateTime(required=True, description="The weekend's end: Monday 00:00 in your city."),
)

STATES_DEFAULT = ["organizing", "going", "waitlisted"]


def _page_edges(
    info: graphene.ResolveInfo, shape: dict[str, Any], items: list[dict[str, Any]], make: Any
) -> list[dict[str, Any]]:
    cursor = cursors.encoder(info, shape)
    return [{**make(item), "cursor": cursor(item["position"])} for item in items]


async def _visible_edges(ctx: Context, edges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept = []
    for edge in edges:
        if await visible_outing(ctx, edge["node"]) is not None:
            kept.append({**edge, "node": typed("Outing", edge["node"])})
    return kept


async def member_outings(
    root: dict[str, Any],
    info: graphene.ResolveInfo,
    states: list[Any] | None = None,
    first: int = 20,
    after: str | None = None,
) -> dict[str, Any] | None:
    """``Member.outings``: the viewer's own, FORBIDDEN on anyone else's profile; null when nobody
    is signed in (a sign-up or sign-in payload's member, read before its token is used)."""
    ctx: Context = info.context
    if ctx.viewer_id is None:
        return None
    if root["id"] != ctx.viewer_id:
        raise Forbidden("Only you see the outings you organise and join.")
    first = check_first(info, first)
    wanted = sorted({enum_value(s) for s in states}) if states else STATES_DEFAULT
    shape = {"member": root["id"], "states": wanted}
    start = cursors.decode(info, after, shape, cursors.is_count)
    page = await ctx.events.member_outings(
        member_id=root["id"], states=wanted, first=first, after=start, **await seen_by(ctx)
    )
    edges = _page_edges(
        info, shape, page["items"], lambda i: {"node": i["outing"], "state": i["state"], "place": i["place"]}
    )
    return connection(await _visible_edges(ctx, edges), page["has_next_page"], after, page["total"])


async def _group_page(
    info: graphene.ResolveInfo,
    group_ids: list[str],
    shape: dict[str, Any],
    period: Any,
    first: int,
    after: str | None,
) -> dict[str, Any]:
    ctx: Context = info.context
    first = check_first(info, first)
    start = cursors.decode(info, after, shape, cursors.is_count)
    page = await ctx.events.group_outings(
        group_ids=group_ids, period=enum_value(period), first=first, after=start, **await seen_by(ctx)
    )
    edges = _page_edges(info, shape, page["items"], lambda i: {"node": i["outing"]})
    return connection(await _visible_edges(ctx, edges), page["has_next_page"], after, page["total"])


async def member_group_outings(
    root: dict[str, Any],
    info: graphene.ResolveInfo,
    period: Any = "upcoming",
    first: int = 20,
    after: str | None = None,
) -> dict[str, Any] | None:
    """``Member.groupOutings``: the outings of the groups the viewer is an active member of; null
    when nobody is signed in, FORBIDDEN on anyone else's profile."""
    ctx: Context = info.context
    if ctx.viewer_id is None:
        return None
    if root["id"] != ctx.viewer_id:
        raise Forbidden("Only you see your groups' outings here.")
    group_ids = sorted((await ctx.viewer_context())["groups"])
    shape = {"member": root["id"], "period": enum_value(period)}
    return await _group_page(info, group_ids, shape, period, first, after)


async def group_outings(
    root: dict[str, Any],
    info: graphene.ResolveInfo,
    period: Any = "upcoming",
    first: int = 20,
    after: str | None = None,
) -> dict[str, Any]:
    """``Group.outings``: anyone's for a public group, members' only for a private one."""
    ctx: Context = info.context
    if root.get("visibility") == "private" and await ctx.group_role(root["id"]) is None:
        raise Forbidden("Only members see a private group's outings.")
    shape = {"group": root["id"], "period": enum_value(period)}
    return await _group_page(info, [root["id"]], shape, period, first, after)


def weekend(now: datetime, time_zone: str) -> tuple[datetime, datetime]:
    """This weekend in ``time_zone``: [Saturday 00:00, Monday 00:00) local, aware. On a Saturday
    or a Sunday, the one under way; otherwise the coming one. No I/O."""
    zone = ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7) if today.weekday() < 5 else today
    if today.weekday() == 6:
        saturday = today - timedelta(days=1)
    start = datetime.combine(saturday, time(0), zone)
    end = datetime.combine(saturday + timedelta(days=2), time(0), zone)
    return start, end


def _instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def near_point(me: dict[str, Any], city: cities.City) -> tuple[dict[str, float], float]:
    """Where "near you" is centred, and how far it reaches: the home cell's centre, or the centre
    of ``city`` (the member's) in protected mode or without a home."""
    cell = me.get("home_cell")
    if cell and not me.get("protected_mode"):
        return {"lat": cell["lat"], "lon": cell["lon"]}, NEAR_CELL_KM
    return {"lat": city.lat, "lon": city.lon}, NEAR_CITY_KM


class MyOutingsQueries(graphene.ObjectType):
    outings_this_weekend = graphene.Field(
        WeekendOutingConnection,
        first=first_argument(),
        after=after_argument(),
        description=(
            "For the home screen, signed in: outings this weekend (Saturday and Sunday in your city's time zone) "
            f"within {NEAR_CELL_KM:g} km of your home's ~1 km cell, or {NEAR_CITY_KM:g} km of your city's centre "
            "in protected mode or without a home, and your groups' outings that weekend wherever they are; "
            "soonest first, at most 100."
        ),
    )

    @staticmethod
    async def resolve_outings_this_weekend(
        root: None, info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        ctx: Context = info.context
        viewer = require_viewer(info)
        first = check_first(info, first)
        me = await ctx.loaders.member.load(viewer)
        # The gateway's copy of the open cities (members owns them; kit.cities is a service's own).
        city = await open_cities.DIRECTORY.get(me["city"]) if me else None
        if me is None or city is None:
            raise Unauthenticated("Sign in again: your account was not found.")
        starts, ends = weekend(datetime.now(UTC), city.time_zone)
        shape = {"weekend": starts.isoformat()}
        start = cursors.decode(info, after, shape, cursors.is_count) or 0
        near, radius = near_point(me, city)
        group_ids = sorted((await ctx.viewer_context())["groups"])
        nearby = await ctx.search.nearby_outings(
            near=near,
            radius_km=radius,
            first=WEEKEND_MAX,
            viewer_id=viewer,
            viewer_groups=group_ids,
            # The search service's window includes its end: stop a second before Monday.
            filters={"starts_after": starts.isoformat(), "starts_before": (ends - timedelta(seconds=1)).isoformat()},
            sort="start",
            apart_ids=await ctx.apart(),  # a block at once (search's copy lags it)
        )
        mine = await ctx.events.group_outings(
            group_ids=group_ids,
            period="upcoming",
            first=WEEKEND_MAX,
            after=None,
            starts_from=starts.isoformat(),
            starts_before=ends.isoformat(),
            **await seen_by(ctx),
        )
        # What is on: a cancelled outing stays in "my outings", not on the home screen.
        mine["items"] = [i for i in mine["items"] if i["outing"]["status"] == "published"]
        in_groups = {i["outing"]["id"] for i in mine["items"]}
        found = {e["node"]["id"]: e["node"] for e in nearby["edges"]}
        found.update({i["outing"]["id"]: i["outing"] for i in mine["items"]})
        views = sorted(found.values(), key=lambda v: (_instant(v["starts_at"]), v["id"]))[:WEEKEND_MAX]
        visible = [v for v in views if await visible_outing(ctx, v) is not None]
        cursor = cursors.encoder(info, shape)
        edges = [
            {"cursor": cursor(start + i + 1), "node": typed("Outing", v), "in_your_groups": v["id"] in in_groups}
            for i, v in enumerate(visible[start : start + first])
        ]
        page = connection(edges, len(visible) > start + first, after, len(visible))
        return {**page, "starts_at": starts, "ends_at": ends}
