"""Every search-backed field sends search the members a block keeps apart from the viewer, as
members answers at this request (one call), so search leaves them out before paging and
counting; the page search answers is the page shown (no edge dropped afterwards)."""

from __future__ import annotations

import asyncio
from typing import Any

from graphql import execute, parse

from gateway import ids
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


def test_activities_indexed_before_they_named_their_members_are_checked_with_events():
    """Search cannot leave out a document without ``member_ids`` (indexed before the field): for
    those only, with a block, the gateway asks events for the shift or trip and leaves out a host
    or organizer kept apart; documents with ``member_ids`` were filtered by search already."""

    def edge(activity_id: str, kind: str, **node: Any) -> dict[str, Any]:
        return {"cursor": activity_id, "distance_km": 0.2, "node": {"id": activity_id, "kind": kind, **node}}

    services = Services(blocked=["whom-i-blocked"], blocked_by=["who-blocked-me"])
    edges = [
        edge("new-shift", "coop_shift", member_ids=["someone"]),
        edge("old-shift-apart", "coop_shift"),
        edge("old-shift", "coop_shift"),
        edge("old-trip-apart", "trip"),
        edge("old-trip", "trip"),
    ]
    shifts = {  # events hides a shift of a host kept apart: old-shift-apart is not here
        "new-shift": {"id": "new-shift", "group_id": "g1", "host_id": "someone"},
        "old-shift": {"id": "old-shift", "group_id": "g1", "host_id": "someone"},
    }
    trips = {
        "old-trip-apart": {"id": "old-trip-apart", "group_id": "g1", "created_by": "whom-i-blocked"},
        "old-trip": {"id": "old-trip", "group_id": "g1", "created_by": "someone"},
    }
    answer = services.call

    async def call(service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        if (service, method) == ("search", "nearby_activities"):
            await answer(service, method, *args, **kwargs)
            return {**EMPTY_PAGE, "edges": edges}
        if (service, method) == ("events", "coop_shift"):
            return shifts.get(kwargs["shift_id"])
        if (service, method) == ("events", "trip_get"):
            return trips.get(kwargs["trip_id"])
        return await answer(service, method, *args, **kwargs)

    services.call = call  # type: ignore[method-assign]
    found = run(
        services, "nearbyGroupActivities(near: {lat: 48.85, lon: 2.29}, radiusKm: 1) { shift { id } trip { id } }"
    )
    listed = [ids.from_global_id((a["shift"] or a["trip"])["id"]) for a in found["nearbyGroupActivities"]]
    assert listed == [("CoopShift", "new-shift"), ("CoopShift", "old-shift"), ("Trip", "old-trip")]
    asked = [name for name, _ in services.calls]
    assert asked.count("members.viewer_context") == 1 and asked.count("search.nearby_activities") == 1
