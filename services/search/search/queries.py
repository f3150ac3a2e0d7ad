"""Search queries as plain functions of (request, Elasticsearch): validation, query body, page."""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from elasticsearch import Elasticsearch

RADIUS_MAX_KM = 100.0
PAGE_MAX = 100


def field_error(field: str, message: str, code: str) -> dict[str, Any]:
    return {"field": [field], "message": message, "code": code}


def encode_cursor(sort_values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(sort_values).encode()).decode()


def decode_cursor(cursor: str) -> list[Any] | None:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return values if isinstance(values, list) and len(values) == 2 else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def validate_nearby(near: Any, radius_km: Any, first: Any, after: Any) -> list[dict[str, Any]]:
    errors = []
    near = near if isinstance(near, dict) else {}
    lat, lon = _number(near.get("lat")), _number(near.get("lon"))
    if lat is None or not -90 <= lat <= 90:
        errors.append(field_error("near.lat", "lat must be between -90 and 90", "OUT_OF_RANGE"))
    if lon is None or not -180 <= lon <= 180:
        errors.append(field_error("near.lon", "lon must be between -180 and 180", "OUT_OF_RANGE"))
    radius = _number(radius_km)
    if radius is None or not 0 < radius <= RADIUS_MAX_KM:
        errors.append(
            field_error("radius_km", f"radiusKm must be more than 0 and at most {RADIUS_MAX_KM:g}", "OUT_OF_RANGE")
        )
    if isinstance(first, bool) or not isinstance(first, int) or not 1 <= first <= PAGE_MAX:
        errors.append(field_error("first", f"first must be between 1 and {PAGE_MAX}", "OUT_OF_RANGE"))
    if after is not None and (not isinstance(after, str) or decode_cursor(after) is None):
        errors.append(field_error("after", "after is not a cursor this query returned", "INVALID_CURSOR"))
    return errors


MAX_BLOCKERS = 10_000


def blockers_of(es: Elasticsearch, blocks_alias: str, member_id: str | None) -> list[str]:
    """Members who blocked ``member_id``: their outings and listings are not shown to them."""
    if not member_id:
        return []
    response = es.search(
        index=blocks_alias,
        query={"bool": {"filter": [{"term": {"blocked_id": member_id}}, {"term": {"active": True}}]}},
        source=["blocker_id"],
        size=MAX_BLOCKERS,
    )
    return [hit["_source"]["blocker_id"] for hit in response["hits"]["hits"]]


def _nearby(
    es: Elasticsearch,
    alias: str,
    geo_field: str,
    near: dict[str, float],
    radius_km: float,
    first: int,
    after: str | None,
    filters: list[dict[str, Any]],
    exclusions: list[dict[str, Any]],
) -> dict[str, Any]:
    """Visible documents within ``radius_km`` of ``near`` by ``geo_field``, nearest first, then by id."""
    point = {"lat": float(near["lat"]), "lon": float(near["lon"])}
    body: dict[str, Any] = {
        "query": {
            "bool": {
                "must_not": exclusions,
                "filter": [
                    {"term": {"hidden": False}},
                    *filters,
                    {"geo_distance": {"distance": f"{radius_km}km", geo_field: point}},
                ],
            }
        },
        "sort": [
            {"_geo_distance": {geo_field: point, "order": "asc", "unit": "km", "distance_type": "arc"}},
            {"id": "asc"},
        ],
        "size": first + 1,  # one more tells whether there is a next page
        "track_total_hits": True,
    }
    if after is not None:
        body["search_after"] = decode_cursor(after)
    response = es.search(index=alias, **body)
    hits = response["hits"]["hits"]
    return {
        "total": response["hits"]["total"]["value"],
        "has_next_page": len(hits) > first,
        "edges": [
            {"cursor": encode_cursor(hit["sort"]), "distance_km": hit["sort"][0], "node": hit["_source"]}
            for hit in hits[:first]
        ],
    }


def nearby_outings(
    es: Elasticsearch,
    alias: str,
    near: dict[str, float],
    radius_km: float,
    first: int,
    after: str | None,
    hidden_organizers: list[str] | None = None,
    viewer_groups: list[str] | None = None,
) -> dict[str, Any]:
    """Upcoming, visible outings within ``radius_km`` of ``near``, nearest first.

    Outings meet at public places, so their exact distance may be shown.
    """
    exclusions: list[dict[str, Any]] = [
        # A private group's outings are for its members only.
        {
            "bool": {
                "filter": [{"term": {"group_visibility": "private"}}],
                "must_not": [{"terms": {"group_id": list(viewer_groups or [])}}],
            }
        }
    ]
    if hidden_organizers:
        exclusions.append({"terms": {"organizer_id": hidden_organizers}})
    filters = [{"range": {"ends_at": {"gte": "now"}}}]
    return _nearby(es, alias, "location", near, radius_km, first, after, filters, exclusions)


def nearby_listings(
    es: Elasticsearch,
    alias: str,
    near: dict[str, float],
    radius_km: float,
    first: int,
    after: str | None,
    hidden_owners: list[str] | None = None,
    kinds: list[str] | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    """Available listings whose pickup *area* (a ~1 km cell's centre) is within ``radius_km``.

    Distances are to the area's centre: the exact pickup point is never indexed.
    """
    filters: list[dict[str, Any]] = [{"range": {"expires_at": {"gte": "now"}}}]
    if kinds:
        filters.append({"terms": {"kind": kinds}})
    if category:
        filters.append({"term": {"category": category}})
    exclusions = [{"terms": {"owner_id": hidden_owners}}] if hidden_owners else []
    return _nearby(es, alias, "area_point", near, radius_km, first, after, filters, exclusions)
