"""Nearby searches answered by the search service: filters as it takes them, and its pages and
cursors rebound to the query that asked (outings and listings alike)."""

from __future__ import annotations

from typing import Any

import graphene

from ... import cursors, scalars
from ...context import Context
from .relay import connection
from .values import enum_value


async def search_filter(raw: dict[str, Any] | None, near: Any = None) -> dict[str, Any]:
    """A GraphQL filter input as the search service's filters; times without an offset are read
    in the time zone of the network's city nearest ``near`` (scalars.local_to_utc)."""
    filters: dict[str, Any] = {}
    for name, value in (raw or {}).items():
        if value is None:
            continue
        if name in ("categories", "kinds"):
            filters[name] = [enum_value(v) for v in value]
        elif name in ("starts_after", "starts_before"):
            zone = await scalars.time_zone_near(near.lat, near.lon) if near is not None else "UTC"
            filters[name] = scalars.local_to_utc(value, zone).isoformat()
        else:
            filters[name] = value
    return filters


def search_page(
    info: graphene.ResolveInfo, shape: dict[str, Any], page: dict[str, Any], after: str | None, make: Any
) -> dict[str, Any]:
    """A nearby page from the search service: its cursors rebound to this query, its nodes made by ``make``."""
    cursor = cursors.encoder(info, shape)
    edges = [
        {
            "cursor": cursor(cursors.from_service(e["cursor"])),
            "node": make(e["node"], distance_km=e["distance_km"]),
        }
        for e in page["edges"]
    ]
    return connection(edges, page["has_next_page"], after, page["total"], user_errors=[], facets=page.get("facets", []))


def search_after(info: graphene.ResolveInfo, after: str | None, shape: dict[str, Any]) -> str | None:
    """The search service's cursor for ``after`` (BAD_USER_INPUT if it is not this query's)."""
    position = cursors.decode(info, after, shape, cursors.is_sort_values)
    return None if position is None else cursors.to_service(position)


async def without_apart(ctx: Context, page: dict[str, Any], owner: str) -> dict[str, Any]:
    """``page`` (a search service answer: ``edges`` of ``{node}``, ``total``, maybe ``facets``)
    without the edges whose ``node[owner]`` is kept apart from the viewer by a block, either way,
    as members says at this request (``Context.apart``).

    Search filters blocks too, from its index fed by members' events, which lags a block by about
    a second: this makes a block show at once in every search-backed field. ``total`` and the
    facet counts lose what was dropped from this page (items of later pages stay counted until
    search has the block); the page may come out shorter than ``first``. An unblock shows once
    search has it (this can only take away)."""
    apart = set(await ctx.apart())
    if not apart:
        return page
    dropped = [e for e in page["edges"] if e["node"].get(owner) in apart]
    if not dropped:
        return page
    kept = [e for e in page["edges"] if e["node"].get(owner) not in apart]
    answer = {**page, "edges": kept, "total": max(0, int(page.get("total") or 0) - len(dropped))}
    if page.get("facets"):
        less: dict[Any, int] = {}
        for edge in dropped:
            less[edge["node"].get("category")] = less.get(edge["node"].get("category"), 0) + 1
        facets = [{**f, "count": f["count"] - less.get(f["category"], 0)} for f in page["facets"]]
        answer["facets"] = [f for f in facets if f["count"] > 0]
    return answer
