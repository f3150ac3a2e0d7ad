"""The search service: query RPCs over the indices, and the indexer that feeds them."""

from __future__ import annotations

import unicodedata
from typing import Any

from nameko.timer import timer

from parentnet_kit import cities
from parentnet_kit.i18n import t
from parentnet_kit.nameko_identity import Identity
from parentnet_kit.nameko_observe import Observed
from parentnet_kit.nameko_rpc import rpc

from . import city_view, queries, talk, viewers
from .dependencies import IndexerRunner, SearchIndices
from .indices import ACTIVITIES, BLOCKS, CONTACTS, GROUPS, LISTINGS, MEMBERSHIPS, OUTINGS


class SearchService:
    name = "search"
    # Request ids, a log line and metrics per RPC, /metrics /alive /ready (METRICS_PORT).
    observed = Observed()

    indices = SearchIndices()
    indexer = IndexerRunner()
    # Who a search is for: the gateway's identity token (parentnet_kit.identity), see viewers.py.
    identity = Identity()

    def seen(self, viewer_id: Any, viewer_groups: Any = None, apart_ids: Any = None) -> viewers.Seen:
        """What this request may show (``viewers.Seen``): never groups or a viewer on the
        caller's word; ``apart_ids`` (the caller's fresh list of members kept apart from the
        viewer) are left out as well as those of the ``blocks`` copy. Raises ``Forbidden`` for a
        refused token or unverified claims, ``ValueError`` for ``apart_ids`` that are not a list
        of member ids (``viewers.caller_apart``)."""
        extra = viewers.caller_apart(apart_ids)
        viewer = viewers.viewer_of(self.identity, viewer_id, viewer_groups)
        es = self.indices.es
        own = viewers.seen_by(es, self.indices.alias(BLOCKS), self.indices.alias(MEMBERSHIPS), viewer, viewer_groups)
        return viewers.with_apart(own, extra)

    @rpc
    def ping(self) -> str:
        return "pong"

    @timer(interval=2)
    def refresh_cities(self) -> None:
        """Cities another search process indexed (about a hundred documents, one request)."""
        city_view.load(self.indices)

    @rpc
    def nearby_outings(
        self,
        near: dict[str, float],
        radius_km: float,
        first: int = 20,
        after: str | None = None,
        viewer_id: str | None = None,
        viewer_groups: list[str] | None = None,
        filters: dict[str, Any] | None = None,
        sort: str = "distance",
        apart_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """A page of upcoming outings near a point with counts per category; ``errors`` names any bad argument.

        ``sort``: "distance" (nearest first), "start" (soonest first) or "relevance" (best text
        match first, then nearest). ``filters``: text,
        categories, language, child_ages (years; every child must fit), starts_after/before,
        free_only, min_places_left. With ``viewer_id``, outings of members who blocked the viewer
        are left out; a private group's outings show only to its members (``viewer_groups``).
        ``apart_ids``: members the caller knows are kept apart from the viewer by a block (the
        gateway's fresh list), left out with those of the service's own ``blocks`` copy, before
        paging and counting.
        """
        errors = queries.validate_nearby(near, radius_km, first, after)
        clean, filter_errors = queries.validate_filter(filters, "outings")
        errors += filter_errors
        sort = "distance" if sort is None else sort  # an explicit null is the default, as for filters
        if sort not in queries.SORTS:
            errors.append(queries.field_error("sort", t("sort must be distance, start or relevance"), "INVALID"))
        if errors:
            return {"errors": errors, "total": 0, "has_next_page": False, "edges": [], "facets": []}
        es = self.indices.es
        seen = self.seen(viewer_id, viewer_groups, apart_ids)
        older = self.indices.older(OUTINGS)
        body = queries.outings_body(near, float(radius_km), first, after, seen.apart, seen.groups, clean, sort, older)
        page = queries.nearby_page(es.search(index=self.indices.alias(OUTINGS), **body), "location", near, first, sort)
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
        filters: dict[str, Any] | None = None,
        apart_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """Available listings near a point, nearest pickup area first, with counts per category.

        ``filters``: text, kinds, categories, language, child_ages (months), free_only.
        ``apart_ids``: members the caller knows are kept apart from the viewer by a block (the
        gateway's fresh list), left out with those of the service's own ``blocks`` copy, before
        paging and counting.
        """
        merged = dict(filters or {})
        if kinds:
            merged["kinds"] = kinds
        if category:
            merged["categories"] = [category]
        errors = queries.validate_nearby(near, radius_km, first, after)
        clean, filter_errors = queries.validate_filter(merged, "listings")
        errors += filter_errors
        if errors:
            return {"errors": errors, "total": 0, "has_next_page": False, "edges": [], "facets": []}
        es = self.indices.es
        hidden = self.seen(viewer_id, None, apart_ids).apart
        page = queries.nearby_listings(
            es,
            self.indices.alias(LISTINGS),
            near,
            float(radius_km),
            first,
            after,
            hidden,
            clean,
            self.indices.older(LISTINGS),
        )
        return {"errors": [], **page}

    @rpc
    def nearby_activities(
        self,
        near: dict[str, float],
        radius_km: float,
        viewer_groups: list[str] | None = None,
        first: int = 20,
        apart_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """Co-op shifts still to come and school runs of the viewer's groups, nearest first;
        none hosted or organized by a member kept apart from the viewer by a block (either way:
        the ``blocks`` copy and ``apart_ids``, the caller's fresh list)."""
        errors = queries.validate_nearby(near, radius_km, first, None)
        if errors:
            return {"errors": errors, "total": 0, "has_next_page": False, "edges": [], "facets": []}
        # The verified viewer's groups only (no viewer_id argument: the token says whose).
        seen = self.seen(None, viewer_groups, apart_ids) if viewer_groups else viewers.ANONYMOUS
        groups = seen.groups
        filters = [
            {"terms": {"group_id": groups}},
            {"bool": {"should": [{"range": {"ends_at": {"gte": "now"}}}, {"term": {"kind": "trip"}}]}},
        ]
        exclusions = queries.activities_hidden_from(seen.apart)
        body = queries.nearby_body("point", near, float(radius_km), first, None, filters, exclusions)
        page = queries.nearby_page(
            self.indices.es.search(index=self.indices.alias(ACTIVITIES), **body), "point", near, first
        )
        return {"errors": [], **page}

    @rpc
    def map_clusters(
        self,
        bounds: dict[str, float],
        zoom: int,
        kinds: list[str] | None = None,
        viewer_id: str | None = None,
        viewer_groups: list[str] | None = None,
        apart_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """Grid clusters of outings and listings in the map's bounds: ``{clusters: [{kind, cell, count, centre}]}``;
        counts leave out what a block keeps from the viewer (the ``blocks`` copy and ``apart_ids``,
        the caller's fresh list) and other groups' private outings."""
        errors = queries.validate_bounds(bounds, zoom)
        kinds = kinds or ["outings", "listings"]
        if any(k not in ("outings", "listings") for k in kinds):
            errors.append(queries.field_error("kinds", t("kinds are outings and listings"), "INVALID"))
        if errors:
            return {"errors": errors, "clusters": []}
        es = self.indices.es
        seen = self.seen(viewer_id, viewer_groups, apart_ids)
        hidden = seen.apart
        found = []
        if "outings" in kinds:
            exclusions = queries.outings_hidden_from(hidden, seen.groups)
            filters = [{"range": {"ends_at": {"gte": "now"}}}]
            for cell in queries.clusters(
                es, self.indices.alias(OUTINGS), "location", bounds, zoom, filters, exclusions
            ):
                found.append({"kind": "outings", **cell})
        if "listings" in kinds:
            exclusions = queries.listings_hidden_from(hidden)
            filters = [{"range": {"expires_at": {"gte": "now"}}}]
            for cell in queries.clusters(
                es, self.indices.alias(LISTINGS), "area_point", bounds, zoom, filters, exclusions
            ):
                found.append({"kind": "listings", **cell})
        return {"errors": [], "clusters": found}

    @rpc
    def discussions(
        self,
        text: str,
        viewer_id: str | None = None,
        viewer_groups: list[str] | None = None,
        group_id: str | None = None,
        city: str | None = None,
        kinds: list[str] | None = None,
        first: int = 20,
        after: str | None = None,
        question_city: str | None = None,
        apart_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """Threads, replies and questions matching ``text``, best match first then newest:
        ``{errors, total, has_next_page, edges [{cursor, score, node}]}``; ``node`` is the indexed
        document (``kind`` thread, reply or question; ``id``, ``group_id``, ``thread_id``,
        ``author_id``, ``city``, ``title``, ``text``, ``created_at``). A private group's items
        only for its members (``viewer_groups``); nothing by a member who blocked the viewer or
        whom they blocked; questions only of ``question_city`` (the viewer's city: none without);
        never hidden or removed content; never messages (not indexed). ``apart_ids``: members
        the caller knows are kept apart from the viewer (the gateway's fresh list), left out with
        the ``blocks`` copy's before paging and counting. ``errors`` name the argument at fault
        (text, first, after, kinds)."""
        errors = []
        if not isinstance(text, str) or not text.strip() or len(text) > queries.TEXT_MAX:
            message = t("text must be 1 to {text_max} characters", text_max=queries.TEXT_MAX)
            errors.append(queries.field_error("text", message, "INVALID"))
        elif len(text.split()) > queries.WORDS_MAX:
            message = t("text must be at most {words_max} words", words_max=queries.WORDS_MAX)
            errors.append(queries.field_error("text", message, "TOO_LONG"))
        if isinstance(first, bool) or not isinstance(first, int) or not 1 <= first <= queries.PAGE_MAX:
            message = t("first must be between 1 and {page_max}", page_max=queries.PAGE_MAX)
            errors.append(queries.field_error("first", message, "OUT_OF_RANGE"))
        position = queries.decode_cursor(after) if isinstance(after, str) else None
        if after is not None and (position is None or len(position) != 3):
            errors.append(
                queries.field_error("after", t("after is not a cursor this query returned"), "INVALID_CURSOR")
            )
        chosen = list(kinds or talk.KINDS)
        if any(k not in talk.KINDS for k in chosen):
            errors.append(queries.field_error("kinds", t("kinds are thread, reply and question"), "INVALID"))
        if errors:
            return {"errors": errors, "total": 0, "has_next_page": False, "edges": []}
        es = self.indices.es
        seen = self.seen(viewer_id, viewer_groups, apart_ids)
        filters, must_not = talk.discussion_filters(seen.groups, seen.apart, group_id, city, chosen, question_city)
        body = talk.search_body(text.strip(), first, position, filters, must_not, self.indices.older(talk.DISCUSSIONS))
        hits = es.search(index=self.indices.alias(talk.DISCUSSIONS), **body)["hits"]
        edges = [
            {"cursor": queries.encode_cursor(hit["sort"]), "score": hit["_score"], "node": hit["_source"]}
            for hit in hits["hits"][:first]
        ]
        return {
            "errors": [],
            "total": hits["total"]["value"],
            "has_next_page": len(hits["hits"]) > first,
            "edges": edges,
        }

    @rpc
    def suggest(
        self,
        text: str,
        near: dict[str, float] | None = None,
        limit: int = 8,
        viewer_id: str | None = None,
        viewer_groups: list[str] | None = None,
        apart_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """As-you-type suggestions across outings, listings, contacts, public groups and places;
        no outing or listing of a member kept apart from the viewer (the ``blocks`` copy and
        ``apart_ids``, the caller's fresh list)."""
        if not isinstance(text, str) or not text.strip() or len(text) > 100:
            return {
                "errors": [queries.field_error("text", t("text must be 1 to 100 characters"), "INVALID")],
                "suggestions": [],
            }
        if len(text.split()) > queries.WORDS_MAX:
            message = t("text must be at most {words_max} words", words_max=queries.WORDS_MAX)
            return {"errors": [queries.field_error("text", message, "TOO_LONG")], "suggestions": []}
        limit = max(1, min(int(limit), 20))
        es = self.indices.es
        seen = self.seen(viewer_id, viewer_groups, apart_ids)
        hidden, groups = seen.apart, seen.groups
        outings_visible = {
            "bool": {
                "filter": [{"range": {"ends_at": {"gte": "now"}}}],
                "must_not": queries.outings_hidden_from(hidden, groups),
            }
        }
        listings_visible = {
            "bool": {
                "filter": [{"range": {"expires_at": {"gte": "now"}}}],
                "must_not": queries.listings_hidden_from(hidden),
            }
        }
        contacts_visible = {
            "bool": {
                "should": [{"bool": {"must_not": [{"exists": {"field": "group_id"}}]}}, {"terms": {"group_id": groups}}]
            }
        }
        searches = [
            (
                "outing",
                self.indices.alias(OUTINGS),
                ["title^2", "venue_name"],
                outings_visible,
                "location",
            ),
            ("listing", self.indices.alias(LISTINGS), ["title"], listings_visible, "area_point"),
            ("contact", self.indices.alias(CONTACTS), ["name"], contacts_visible, "location"),
            ("group", self.indices.alias(GROUPS), ["name"], {"match_all": {}}, "location"),
        ]
        found = queries.suggestions(es, searches, text.strip(), near, limit)
        places = [
            {"kind": "place", "id": city.slug, "text": city.name, "city": city.slug, "owner_id": None, "score": None}
            for city in cities.CITIES.values()
            if _folded(city.name).startswith(_folded(text.strip())) or city.slug.startswith(_folded(text.strip()))
        ]
        return {"errors": [], "suggestions": (places + found)[:limit]}


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
