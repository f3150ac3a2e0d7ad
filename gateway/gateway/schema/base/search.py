"""Nearby searches answered by the search service: filters as it takes them, and its pages and
cursors rebound to the query that asked (outings and listings alike).

Blocks: every search-backed field sends search ``apart_ids=await ctx.apart()`` (members' fresh
relations, one call per request), which search leaves out inside its query with its own copy's:
a page it answers is already without them, full, and counted right. The gateway no longer drops
edges afterwards (``without_apart`` was removed): it filtered with the same ids, so it could only
ever drop what search did not, and dropping from a page made it short or empty while more
remained, with totals only partly corrected and no cursor to go on."""

from __future__ import annotations

from typing import Any

import graphene

from ... import cursors, scalars
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
