"""Search queries as plain functions of (request, Elasticsearch): validation, query body, page."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any

from elasticsearch import Elasticsearch

from parentnet_kit.clock import parse_iso
from parentnet_kit.geo import haversine_km
from parentnet_kit.i18n import t, wire

from . import languages

RADIUS_MAX_KM = 100.0
PAGE_MAX = 100


def field_error(field: str, message: str, code: str) -> dict[str, Any]:
    return {"field": [field], **wire(message), "code": code}


def encode_cursor(sort_values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(sort_values).encode()).decode()


def decode_cursor(cursor: str) -> list[Any] | None:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    # Two sort values (distance or start, then id), three when sorted by relevance (score
    # first). Well-formed base64 JSON holding other types (a client's edit) is no cursor
    # either: it would reach Elasticsearch's search_after and fail there as a server fault.
    if not isinstance(values, list) or len(values) not in (2, 3):
        return None
    *numbers, last = values
    if any(_number(v) is None for v in numbers) or not isinstance(last, str):
        return None
    return values


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def validate_nearby(near: Any, radius_km: Any, first: Any, after: Any) -> list[dict[str, Any]]:
    errors = []
    near = near if isinstance(near, dict) else {}
    lat, lon = _number(near.get("lat")), _number(near.get("lon"))
    if lat is None or not -90 <= lat <= 90:
        errors.append(field_error("near.lat", t("lat must be between -90 and 90"), "OUT_OF_RANGE"))
    if lon is None or not -180 <= lon <= 180:
        errors.append(field_error("near.lon", t("lon must be between -180 and 180"), "OUT_OF_RANGE"))
    radius = _number(radius_km)
    if radius is None or not 0 < radius <= RADIUS_MAX_KM:
        errors.append(
            field_error(
                "radius_km",
                t("radiusKm must be more than 0 and at most {radius_max_km}", radius_max_km=RADIUS_MAX_KM),
                "OUT_OF_RANGE",
            )
        )
    if isinstance(first, bool) or not isinstance(first, int) or not 1 <= first <= PAGE_MAX:
        errors.append(
            field_error("first", t("first must be between 1 and {page_max}", page_max=PAGE_MAX), "OUT_OF_RANGE")
        )
    if after is not None and (not isinstance(after, str) or decode_cursor(after) is None):
        errors.append(field_error("after", t("after is not a cursor this query returned"), "INVALID_CURSOR"))
    return errors


MAX_BLOCKERS = 10_000


def apart_from(es: Elasticsearch, blocks_alias: str, member_id: str | None) -> list[str]:
    """Members kept apart from ``member_id`` by a block, either way (who blocked them and whom
    they blocked): neither sees the other's outings or listings in discovery."""
    if not member_id:
        return []
    either = [{"term": {"blocked_id": member_id}}, {"term": {"blocker_id": member_id}}]
    response = es.search(
        index=blocks_alias,
        query={"bool": {"filter": [{"term": {"active": True}}], "should": either, "minimum_should_match": 1}},
        source=["blocker_id", "blocked_id"],
        size=MAX_BLOCKERS,
    )
    sources = [hit["_source"] for hit in response["hits"]["hits"]]
    return sorted({s["blocker_id"] if s["blocked_id"] == member_id else s["blocked_id"] for s in sources})


TEXT_MAX = 200
# Each word is its own clause, expanded (prefix, one typo) in every searched field: a query's
# cost grows with its words. 14 words of a common word held suggest for 0.9 s of Elasticsearch
# time (1 word: 14 ms) and slowed everyone's searches; a parent types a few words.
WORDS_MAX = 10
SORTS = ("distance", "start", "relevance")


def validate_filter(raw: Any, kind: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Check a ``filter`` argument (outings or listings); errors name ``filter.<field>``."""
    raw = raw if isinstance(raw, dict) else {}
    clean: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    text = raw.get("text")
    if text is not None:
        if not isinstance(text, str) or len(text) > TEXT_MAX:
            errors.append(
                field_error(
                    "filter.text", t("text must be at most {text_max} characters", text_max=TEXT_MAX), "TOO_LONG"
                )
            )
        elif len(text.split()) > WORDS_MAX:
            errors.append(
                field_error("filter.text", t("text must be at most {words_max} words", words_max=WORDS_MAX), "TOO_LONG")
            )
        elif text.strip():
            clean["text"] = text.strip()
    for name in ("categories", "kinds"):
        value = raw.get(name)
        if value:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors.append(field_error(f"filter.{name}", t("{name} must be a list of names", name=name), "INVALID"))
            else:
                clean[name] = value
    if raw.get("language"):
        clean["language"] = str(raw["language"])
    if raw.get("free_only"):
        clean["free_only"] = True
    ages = raw.get("child_ages")
    if ages:
        limit = 18 if kind == "outings" else 18 * 12
        if not isinstance(ages, list) or len(ages) > 8 or not all(isinstance(a, int) and 0 <= a <= limit for a in ages):
            errors.append(
                field_error(
                    "filter.child_ages",
                    t("childAges must be up to 8 ages from 0 to {limit}", limit=limit),
                    "OUT_OF_RANGE",
                )
            )
        else:
            clean["child_ages"] = ages
    for name in ("starts_after", "starts_before"):
        if raw.get(name) is not None:
            moment = parse_iso(raw[name])
            if moment is None:
                errors.append(
                    field_error(f"filter.{name}", t("{name} must be an ISO 8601 date-time", name=name), "INVALID")
                )
            else:
                clean[name] = moment.isoformat()
    places = raw.get("min_places_left")
    if places is not None:
        if isinstance(places, bool) or not isinstance(places, int) or places < 1:
            errors.append(field_error("filter.min_places_left", t("minPlacesLeft must be 1 or more"), "OUT_OF_RANGE"))
        else:
            clean["min_places_left"] = places
    return clean, errors


def text_query(
    text: str, weights: dict[str, int], scored: bool = True, older: list[str] | None = None
) -> dict[str, Any]:
    """What a parent typed, matched across one document's text fields (``weights``: field -> boost).

    - Every word must be in the document, in any of its fields ("pique-nique Wilson": title and
      venue): ``cross_fields`` over the folded fields (every document, any language) and, as
      other groups, over each language's own copies (stemming, Arabic and Bengali normalization);
      the best group wins. Replaced ``most_fields`` with ``and``, which wanted all words in one field.
    - As users expect from a search box: the last word may be a prefix ("pique-niq"), and a Latin
      word of 4 letters or more may have a typo ("pique-niqe", "Wilsn": one edit, the first
      letter as typed). These match word by word across fields too, score below exact matches, and never
      apply to Arabic, Bengali or Chinese words, where one letter changes the word.
    - Text in double quotes must appear as that phrase; an unquoted phrase in order ranks higher
      (when ``scored``; sorted by distance or time, what only ranks is left out and each
      analysis is asked in one field holding all the document's text).
    - ``older``: concrete indices of an older revision the alias may still point at until the
      backfill swaps it; they lack ``all_text`` and ``lang``, so there the words are matched
      across the fields they have. Elasticsearch rewrites that clause to nothing on other indices.
    """
    phrases = [p.strip() for p in re.findall(r'"([^"]*)"', text) if p.strip()]
    plain = re.sub(r'"[^"]*"', " ", text).replace('"', " ").strip()  # a quote left open is no phrase
    folded = [f"{field}^{boost}" for field, boost in weights.items()]
    codes = languages.query_languages(text)
    copies = [f"lang.{code}.{field}^{boost}" for code in codes for field, boost in weights.items()]
    must = [{"multi_match": {"query": p, "fields": folded, "type": "phrase"}} for p in phrases]
    should: list[dict[str, Any]] = []
    words = plain.split()
    if words and scored:
        should.append(
            {
                "multi_match": {
                    "query": plain,
                    "fields": folded + copies,
                    "type": "cross_fields",
                    "operator": "and",
                    "boost": 3,
                }
            }
        )
    elif words:
        # Unranked, the same documents more cheaply: each language's words in its ``all`` field
        # (the folded ones are all in ``all_text``, which the word-by-word clause below reads).
        should += [{"match": {f"lang.{code}.all": {"query": plain, "operator": "and"}}} for code in codes]
    if words:
        # Word by word in ``all_text`` (every searched field in one): one term dictionary to expand.
        # One edit, from 4 letters: a short word's neighbours are common words ("des": les, mes,
        # ses...), many and long to expand; a second edit doubled the whole query's time in
        # Elasticsearch (bench.relevance) for few finds ("storytelng" is missed).
        loose = []
        for word in words:
            whole: dict[str, Any] = {"query": word, "operator": "and"}
            if languages.is_latin(word):
                whole.update(fuzziness="AUTO:4,100", prefix_length=1, max_expansions=20)
            loose.append({"match": {"all_text": whole}})
        # The last word, perhaps still being typed, from 2 characters: also as a prefix.
        last = words[-1]
        if len(last) >= 2:
            prefix = {"match_bool_prefix": {"all_text": {"query": last, "operator": "and", "max_expansions": 20}}}
            loose[-1] = {"bool": {"should": [loose[-1], prefix], "minimum_should_match": 1}}
        should.append({"bool": {"must": loose}})
        if scored and len(words) > 1:
            should.append({"multi_match": {"query": plain, "fields": folded, "type": "phrase", "slop": 1, "boost": 2}})
    if words and older:
        compatible = {"multi_match": {"query": plain, "fields": folded, "type": "cross_fields", "operator": "and"}}
        should.append({"bool": {"filter": [{"terms": {"_index": older}}], "must": [compatible]}})
    if not should:
        return {"bool": {"must": must}}
    return {"bool": {"must": must, "should": should, "minimum_should_match": 1}}


def outing_query(
    filters: dict[str, Any], scored: bool = False, older: list[str] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(filters, post filters, scoring queries) for an outings search (``scored``: sorted by relevance)."""
    clauses: list[dict[str, Any]] = [{"range": {"ends_at": {"gte": "now"}}}]
    window = {k: v for k, v in (("gte", filters.get("starts_after")), ("lte", filters.get("starts_before"))) if v}
    if window:
        clauses.append({"range": {"starts_at": window}})
    if filters.get("language"):
        clauses.append({"term": {"language": filters["language"]}})
    if filters.get("free_only"):
        clauses.append({"bool": {"must_not": [{"exists": {"field": "cost.amount"}}]}})
    if filters.get("min_places_left"):
        clauses.append(
            {
                "bool": {
                    "should": [
                        {"range": {"attendance.places_left": {"gte": filters["min_places_left"]}}},
                        {"bool": {"must_not": [{"exists": {"field": "capacity"}}]}},
                    ]
                }
            }
        )
    for age in filters.get("child_ages", []):
        # "Good for my 2- and 5-year-old": every child fits the outing's age range.
        clauses.append(
            {"bool": {"must_not": [{"range": {"age_min": {"gt": age}}}, {"range": {"age_max": {"lt": age}}}]}}
        )
        clauses.append({"bool": {"must_not": [{"term": {"with_children": False}}]}})
    post = [{"terms": {"category": filters["categories"]}}] if filters.get("categories") else []
    text = [text_query(filters["text"], TEXT_FIELDS["outings"], scored, older)] if filters.get("text") else []
    return clauses, post, text


def listing_query(
    filters: dict[str, Any], older: list[str] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    clauses: list[dict[str, Any]] = [{"range": {"expires_at": {"gte": "now"}}}]
    if filters.get("kinds"):
        clauses.append({"terms": {"kind": filters["kinds"]}})
    if filters.get("language"):
        clauses.append({"term": {"language": filters["language"]}})
    if filters.get("free_only"):
        clauses.append({"bool": {"must_not": [{"exists": {"field": "price.amount"}}]}})
    for months in filters.get("child_ages", []):
        clauses.append(
            {
                "bool": {
                    "must_not": [
                        {"range": {"age_min_months": {"gt": months}}},
                        {"range": {"age_max_months": {"lt": months}}},
                    ]
                }
            }
        )
    post = [{"terms": {"category": filters["categories"]}}] if filters.get("categories") else []
    text = [text_query(filters["text"], TEXT_FIELDS["listings"], False, older)] if filters.get("text") else []
    return clauses, post, text


# Searchable text per index, with its weight: a word in the title counts more than in the description.
TEXT_FIELDS = {
    "outings": {"title": 3, "description": 1, "venue_name": 2},
    "listings": {"title": 3, "description": 1},
    "contacts": {"name": 3, "description": 1},
    "groups": {"name": 3, "description": 1},
}


def nearby_body(
    geo_field: str,
    near: dict[str, float],
    radius_km: float,
    first: int,
    after: str | None,
    filters: list[dict[str, Any]],
    exclusions: list[dict[str, Any]],
    post_filters: list[dict[str, Any]] | None = None,
    text: list[dict[str, Any]] | None = None,
    sort: str = "distance",
) -> dict[str, Any]:
    """The search for visible documents within ``radius_km`` of ``near`` by ``geo_field``,
    nearest first (or soonest first), with counts per category over the whole result before
    the category filter."""
    point = {"lat": float(near["lat"]), "lon": float(near["lon"])}
    by_distance = {"_geo_distance": {geo_field: point, "order": "asc", "unit": "km", "distance_type": "arc"}}
    body: dict[str, Any] = {
        "query": {
            "bool": {
                "must": text or [],
                "must_not": exclusions,
                "filter": [
                    {"term": {"hidden": False}},
                    *filters,
                    {"geo_distance": {"distance": f"{radius_km}km", geo_field: point}},
                ],
            }
        },
        "sort": [
            *([{"_score": "desc"}] if sort == "relevance" else []),
            {"starts_at": "asc"} if sort == "start" else by_distance,
            {"id": "asc"},
        ],
        # The language copies are for matching only: a node is the document as the producer sent it.
        "_source": {"excludes": ["lang"]},
        "size": first + 1,  # one more tells whether there is a next page
        "track_total_hits": True,
        "aggs": {"categories": {"terms": {"field": "category", "size": 50}}},
    }
    if post_filters:
        body["post_filter"] = {"bool": {"filter": post_filters}}
    if after is not None:
        body["search_after"] = decode_cursor(after)
    return body


def nearby_page(
    response: Any, geo_field: str, near: dict[str, float], first: int, sort: str = "distance"
) -> dict[str, Any]:
    """A page (edges with cursors and distances, total, facets) from the answer to ``nearby_body``."""
    hits = response["hits"]["hits"]
    edges = []
    for hit in hits[:first]:
        if sort != "start":
            distance = hit["sort"][1 if sort == "relevance" else 0]
        else:
            where = hit["_source"].get(geo_field) or {}
            distance = haversine_km(
                float(near["lat"]), float(near["lon"]), where.get("lat", 0.0), where.get("lon", 0.0)
            )
        edges.append({"cursor": encode_cursor(hit["sort"]), "distance_km": distance, "node": hit["_source"]})
    return {
        "total": response["hits"]["total"]["value"],
        "has_next_page": len(hits) > first,
        "edges": edges,
        "facets": [
            {"category": b["key"], "count": b["doc_count"]} for b in response["aggregations"]["categories"]["buckets"]
        ],
    }


def outings_hidden_from(hidden_organizers: list[str] | None, viewer_groups: list[str] | None) -> list[dict[str, Any]]:
    """What a viewer never sees of outings: other groups' private ones, and those of members who blocked them."""
    exclusions: list[dict[str, Any]] = [
        {
            "bool": {
                "filter": [{"term": {"group_visibility": "private"}}],
                "must_not": [{"terms": {"group_id": list(viewer_groups or [])}}],
            }
        }
    ]
    if hidden_organizers:
        exclusions.append({"terms": {"organizer_id": hidden_organizers}})
    return exclusions


def listings_hidden_from(hidden_owners: list[str] | None) -> list[dict[str, Any]]:
    """What a viewer never sees of listings: those of members who blocked them."""
    return [{"terms": {"owner_id": hidden_owners}}] if hidden_owners else []


def activities_hidden_from(apart: list[str] | None) -> list[dict[str, Any]]:
    """What a viewer never sees of co-op shifts and school runs: those a member kept apart from
    them takes part in as host or organizer (``member_ids``). A document written before that
    field was indexed has none and is not left out by this (see the README's "Upgrading")."""
    return [{"terms": {"member_ids": list(apart)}}] if apart else []


def outings_body(
    near: dict[str, float],
    radius_km: float,
    first: int,
    after: str | None,
    hidden_organizers: list[str] | None = None,
    viewer_groups: list[str] | None = None,
    filters: dict[str, Any] | None = None,
    sort: str = "distance",
    older: list[str] | None = None,
) -> dict[str, Any]:
    """The search for upcoming, visible outings within ``radius_km`` of ``near``, nearest (or
    soonest) first; read its answer with ``nearby_page(answer, "location", ...)``. Outings meet
    at public places, so their exact distance may be shown. The bench sends the same body
    straight to Elasticsearch. ``older``: see ``text_query``."""
    exclusions = outings_hidden_from(hidden_organizers, viewer_groups)
    clauses, post, text = outing_query(filters or {}, scored=sort == "relevance", older=older)
    return nearby_body("location", near, radius_km, first, after, clauses, exclusions, post, text, sort)


def nearby_listings(
    es: Elasticsearch,
    alias: str,
    near: dict[str, float],
    radius_km: float,
    first: int,
    after: str | None,
    hidden_owners: list[str] | None = None,
    filters: dict[str, Any] | None = None,
    older: list[str] | None = None,
) -> dict[str, Any]:
    """Available listings whose pickup *area* (a ~1 km cell's centre) is within ``radius_km``.

    Distances are to the area's centre: the exact pickup point is never indexed.
    """
    exclusions = listings_hidden_from(hidden_owners)
    clauses, post, text = listing_query(filters or {}, older)
    body = nearby_body("area_point", near, radius_km, first, after, clauses, exclusions, post, text)
    return nearby_page(es.search(index=alias, **body), "area_point", near, first)


ZOOM_MAX = 20


def validate_bounds(bounds: Any, zoom: Any) -> list[dict[str, Any]]:
    errors = []
    bounds = bounds if isinstance(bounds, dict) else {}
    values = {k: _number(bounds.get(k)) for k in ("north", "south", "east", "west")}
    for name in ("north", "south"):
        if values[name] is None or not -90 <= values[name] <= 90:
            errors.append(
                field_error(f"bounds.{name}", t("{name} must be a latitude from -90 to 90", name=name), "OUT_OF_RANGE")
            )
    for name in ("east", "west"):
        if values[name] is None or not -180 <= values[name] <= 180:
            errors.append(
                field_error(
                    f"bounds.{name}", t("{name} must be a longitude from -180 to 180", name=name), "OUT_OF_RANGE"
                )
            )
    if not errors and values["north"] <= values["south"]:
        errors.append(field_error("bounds.north", t("north must be above south"), "INVALID"))
    if isinstance(zoom, bool) or not isinstance(zoom, int) or not 0 <= zoom <= ZOOM_MAX:
        errors.append(
            field_error(
                "zoom", t("zoom must be a whole number from 0 to {zoom_max}", zoom_max=ZOOM_MAX), "OUT_OF_RANGE"
            )
        )
    return errors


def clusters(
    es: Elasticsearch,
    alias: str,
    geo_field: str,
    bounds: dict[str, float],
    zoom: int,
    filters: list[dict[str, Any]],
    exclusions: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Server-side grid clusters: one cell per map tile at ``zoom``, with a count and a centre."""
    box = {
        "top_left": {"lat": bounds["north"], "lon": bounds["west"]},
        "bottom_right": {"lat": bounds["south"], "lon": bounds["east"]},
    }
    response = es.search(
        index=alias,
        size=0,
        query={
            "bool": {
                "must_not": exclusions,
                "filter": [{"term": {"hidden": False}}, *filters, {"geo_bounding_box": {geo_field: box}}],
            }
        },
        aggs={
            "cells": {
                "geotile_grid": {"field": geo_field, "precision": zoom, "size": 2000},
                "aggs": {"centre": {"geo_centroid": {"field": geo_field}}},
            }
        },
    )
    return [
        {"cell": b["key"], "count": b["doc_count"], "centre": b["centre"]["location"]}
        for b in response["aggregations"]["cells"]["buckets"]
    ]


SUGGEST_FUZZY_WORDS = 4

# Suggestions near a point come from this far first; farther ones only when too few are near.
LOCAL_KM = 50


def suggestions(
    es: Elasticsearch,
    searches: list[tuple[str, str, list[str], dict[str, Any], str | None]],
    text: str,
    near: dict[str, float] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """As-you-type matches across indices: (kind, alias, fields, filter, geo field) each; nearer ranks higher.

    Near a point, the matches within ``LOCAL_KM`` are looked up first: ranking every match
    in the world by distance took ~6 ms of Elasticsearch's time for a common prefix over
    100,000 documents, against ~1 ms for the local ones. Only when those are fewer than
    ``limit`` is the whole world asked too. Scores are the same either way, so the merge is
    by score.
    """
    if near is None:
        return _suggest(es, searches, text, None, limit, local=False)
    found = _suggest(es, searches, text, near, limit, local=True)
    if len(found) < limit:
        seen = {(s["kind"], s["id"]) for s in found}
        found += [s for s in _suggest(es, searches, text, near, limit, local=False) if (s["kind"], s["id"]) not in seen]
        found.sort(key=lambda s: -s["score"])
    return found[:limit]


def _suggest(
    es: Elasticsearch,
    searches: list[tuple[str, str, list[str], dict[str, Any], str | None]],
    text: str,
    near: dict[str, float] | None,
    limit: int,
    local: bool,
) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = []
    for _kind, alias, fields, visible, geo_field in searches:
        # Every word typed narrows (operator and), in any of the document's searched fields
        # (all_text; the labelled fields rank). Was: any word, in one field.
        match: dict[str, Any] = {
            "multi_match": {"query": text, "fields": [*fields, "all_text"], "type": "bool_prefix", "operator": "and"}
        }
        if languages.is_latin(text) and len(text.split()) <= SUGGEST_FUZZY_WORDS:
            # A typo in a word before the one being typed (fuzziness spares the final prefix);
            # in a short text only, where a typo matters and its expansions stay few.
            match["multi_match"].update(fuzziness="AUTO", prefix_length=1, max_expansions=20)
        query: dict[str, Any] = {"bool": {"must": [match], "filter": [{"term": {"hidden": False}}, visible]}}
        if near is not None and geo_field:
            point = {"lat": float(near["lat"]), "lon": float(near["lon"])}
            # Nearer ranks higher: boost × pivot / (pivot + distance) is added to the text score.
            nearer = {"distance_feature": {"field": geo_field, "origin": point, "pivot": "5km", "boost": 3.0}}
            query["bool"]["should"] = [nearer]
            if local:
                query["bool"]["filter"].append({"geo_distance": {"distance": f"{LOCAL_KM}km", geo_field: point}})
        body += [
            {"index": alias},
            {
                "query": query,
                "size": limit,
                "track_total_hits": False,
                # The owner (an outing's organizer, a listing's owner): the gateway re-checks
                # blocks with the viewer's fresh relations.
                "_source": ["id", *fields_to_names(fields), "city", "organizer_id", "owner_id"],
            },
        ]
    found = []
    for (kind, _alias, fields, _visible, _geo), answer in zip(
        searches, es.msearch(searches=body)["responses"], strict=True
    ):
        for hit in answer.get("hits", {}).get("hits", []):
            source = hit["_source"]
            label = next((source[n] for n in fields_to_names(fields) if source.get(n)), "")
            owner = source.get("organizer_id") or source.get("owner_id")
            found.append(
                {
                    "kind": kind,
                    "id": source["id"],
                    "text": label,
                    "city": source.get("city"),
                    "owner_id": owner,
                    "score": hit["_score"],
                }
            )
    found.sort(key=lambda s: -s["score"])
    return found[:limit]


def fields_to_names(fields: list[str]) -> list[str]:
    return [f.split("^")[0] for f in fields]
