"""The search service: query RPCs over the indices, and the indexer that feeds them."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from . import queries
from .dependencies import IndexerRunner, SearchIndices
from .indices import BLOCKS, LISTINGS, OUTINGS


class SearchService:
    name = "search"

    indices = SearchIndices()
    indexer = IndexerRunner()

    @rpc
    def ping(self) -> str:
        return "pong"

    @rpc
    def nearby_outings(
        self,
        near: dict[str, float],
        radius_km: float,
        first: int = 20,
        after: str | None = None,
        viewer_id: str | None = None,
        viewer_groups: list[str] | None = None,
    ) -> dict[str, Any]:
        """A page of outings near a point, nearest first; ``errors`` names any bad argument.

        With ``viewer_id``, outings of members who blocked the viewer are left out; outings of
        private groups show only to members of those groups (``viewer_groups``).
        """
        errors = queries.validate_nearby(near, radius_km, first, after)
        if errors:
            return {"errors": errors, "total": 0, "has_next_page": False, "edges": []}
        es = self.indices.es
        hidden = queries.blockers_of(es, self.indices.alias(BLOCKS), viewer_id)
        page = queries.nearby_outings(
            es, self.indices.alias(OUTINGS), near, float(radius_km), first, after, hidden, viewer_groups
        )
        return {"errors": [], **page}

    @rpc
    def nearby_listings(
        self,
        near: dict[str, float],
        radius_km: float,
        first: int = 20,
        after: str | None = None,
        viewer_id: str | None = None,
        kinds: list[str] | None = None,
        category: str | None = None,
    ) -> dict[str, Any]:
        """Available listings near a point, nearest pickup area first; blockers' listings left out."""
        errors = queries.validate_nearby(near, radius_km, first, after)
        if errors:
            return {"errors": errors, "total": 0, "has_next_page": False, "edges": []}
        es = self.indices.es
        hidden = queries.blockers_of(es, self.indices.alias(BLOCKS), viewer_id)
        page = queries.nearby_listings(
            es, self.indices.alias(LISTINGS), near, float(radius_km), first, after, hidden, kinds, category
        )
        return {"errors": [], **page}
