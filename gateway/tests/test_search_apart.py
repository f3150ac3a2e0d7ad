"""Search-backed lists drop what a fresh block keeps apart, before search's own index has it."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.context import Context
from gateway.schema.base import without_apart


class Members:
    """Answers ``members.viewer_context`` as members would at this request; counts the calls."""

    def __init__(self, blocked: list[str], blocked_by: list[str]) -> None:
        self.context = {"blocked": blocked, "blocked_by": blocked_by, "groups": {}, "protected": False}
        self.calls: list[tuple[str, str, Any]] = []

    async def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((service, method, kwargs.get("identity")))
        assert (service, method) == ("members", "viewer_context")
        return self.context


def page(*owners: tuple[str, str, str]) -> dict[str, Any]:
    edges = [{"cursor": f"c-{i}", "node": {"id": i, "organizer_id": o, "category": c}} for i, o, c in owners]
    facets = [{"category": "park", "count": 3}, {"category": "zoo", "count": 1}]
    return {"errors": [], "total": 9, "has_next_page": True, "edges": edges, "facets": facets}


def test_a_page_loses_both_sides_of_a_block_with_its_counts():
    members = Members(blocked=["whom-i-blocked"], blocked_by=["who-blocked-me"])
    ctx = Context(request=None, rpc=members, viewer_id="me")  # type: ignore[arg-type]
    found = page(("o1", "who-blocked-me", "park"), ("o2", "someone", "park"), ("o3", "whom-i-blocked", "zoo"))
    kept = asyncio.run(without_apart(ctx, found, "organizer_id"))
    assert [e["node"]["id"] for e in kept["edges"]] == ["o2"]
    assert kept["total"] == 7 and kept["has_next_page"] is True
    assert kept["facets"] == [{"category": "park", "count": 2}]
    # One members call for the request, made for the viewer (an identity token).
    assert members.calls == [("members", "viewer_context", "me")]


def test_nothing_changes_without_a_block_or_for_a_signed_out_reader():
    found = page(("o1", "someone", "park"))
    members = Members(blocked=[], blocked_by=[])
    ctx = Context(request=None, rpc=members, viewer_id="me")  # type: ignore[arg-type]
    assert asyncio.run(without_apart(ctx, found, "organizer_id")) is found
    anonymous = Context(request=None, rpc=members)  # type: ignore[arg-type]
    assert asyncio.run(without_apart(anonymous, found, "organizer_id")) is found
    assert len(members.calls) == 1  # signed out: no call at all
