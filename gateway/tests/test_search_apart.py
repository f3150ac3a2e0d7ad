"""Every search-backed field sends search the members a block keeps apart from the viewer, as
members answers at this request (one call), so search leaves them out before paging and
counting; the page search answers is the page shown (no edge dropped afterwards)."""

from __future__ import annotations

import asyncio
from typing import Any

from graphql import execute, parse

from gateway.context import Context
from gateway.schema.assemble import schema

EMPTY_PAGE = {"errors": [], "total": 0, "has_next_page": False, "edges": [], "facets": []}
POINT = "{lat: 48.85, lon: 2.29}"
FIELDS = {
    "search.nearby_outings": f"nearbyOutings(near: {POINT}, radiusKm: 1) {{ totalCount }}",
    "search.nearby_listings": f"nearbyListings(near: {POINT}, radiusKm: 1) {{ totalCount }}",
    "search.map_clusters": (
        "mapClusters(bounds: {north: 48.9, south: 48.8, east: 2.4, west: 2.2}, zoom: 12) { clusters { count } }"
    ),
    "search.suggest": 'suggest(text: "gou") { suggestions { id } }',
    "search.discussions": 'discussionSearch(query: "gou") { totalCount }',
    "search.nearby_activities": f"nearbyGroupActivities(near: {POINT}, radiusKm: 1) {{ kind }}",
}


class Services:
    """Answers as members and search would; records each search call's keyword arguments."""

    def __init__(self, blocked: list[str], blocked_by: list[str]) -> None:
        self.viewer = {"blocked": blocked, "blocked_by": blocked_by, "groups": {"g1": "member"}, "protected": False}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((f"{service}.{method}", kwargs))
        answers = {
            "members.viewer_context": self.viewer,
            "members.viewer": {"id": "me", "city": None},
            "search.map_clusters": {"errors": [], "clusters": []},
            "search.suggest": {"errors": [], "suggestions": []},
        }
        return answers.get(f"{service}.{method}", EMPTY_PAGE)


def run(services: Services, field: str, viewer: str | None = "me") -> dict[str, Any]:
    ctx = Context(request=None, rpc=services, viewer_id=viewer)  # type: ignore[arg-type]
    result = execute(schema.graphql_schema, parse("{ " + field + " }"), context_value=ctx)
    if not isinstance(result, dict):
        result = asyncio.run(result)  # type: ignore[arg-type]
    assert not result.errors, result.errors  # type: ignore[union-attr]
    return result.data  # type: ignore[union-attr]


def test_every_search_backed_field_sends_both_sides_of_a_block_with_one_members_call():
    for method, field in FIELDS.items():
        services = Services(blocked=["whom-i-blocked"], blocked_by=["who-blocked-me"])
        run(services, field)
        searched = [kwargs for name, kwargs in services.calls if name == method]
        assert [s["apart_ids"] for s in searched] == [["who-blocked-me", "whom-i-blocked"]], method
        assert [name for name, _ in services.calls].count("members.viewer_context") == 1, method


def test_a_signed_out_search_sends_no_one_and_asks_members_nothing():
    services = Services(blocked=[], blocked_by=[])
    run(services, FIELDS["search.nearby_outings"], viewer=None)
    assert services.calls == [("search.nearby_outings", services.calls[0][1])]
    assert services.calls[0][1]["apart_ids"] == []
