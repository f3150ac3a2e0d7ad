"""From a domain event to the search document it writes: pure, allow-listed.

Only the fields listed here ever reach Elasticsearch, whatever a producer adds to its
events: personal data cannot leak into the index by a producer's mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parentnet_kit import cities
from parentnet_kit.contract import events as contract_events
from parentnet_kit.envelope import Event

from . import indices, languages, talk

OUTING_FIELDS = (
    "id",
    "status",
    "title",
    "description",
    "language",
    "category",
    "starts_at",
    "ends_at",
    "time_zone",
    "venue_name",
    "location",
    "city",
    "organizer_id",
    "created_at",
    "updated_at",
    "capacity",
    "age_min",
    "age_max",
    "with_children",
    "cost",
    "group_id",
    "group_visibility",
    "series_id",
    "occurrence",
    "attendance",
)
OUTING_STATE_EVENTS = {"outing_published", "outing_updated", "attendance_changed"}
OUTING_REMOVAL_EVENTS = {"outing_cancelled"}
BLOCK_EVENTS = {"member_blocked", "member_unblocked"}
MEMBERSHIP_EVENTS = {"group_membership_changed"}
LISTING_FIELDS = (
    "id",
    "status",
    "kind",
    "category",
    "title",
    "description",
    "language",
    "city",
    "size",
    "age_min_months",
    "age_max_months",
    "condition",
    "price",
    "photos",
    "pickup_area",
    "match_radius_km",
    "owner_id",
    "reservation_status",
    "created_at",
    "updated_at",
    "expires_at",
)
LISTING_STATE_EVENTS = {"listing_posted", "listing_updated", "listing_reserved"}


ACTIVITY_EVENTS = {"coop_shift_offered", "coop_shift_moved", "trip_created"}
# Every event this index keeps, ``<source>.<type>`` (each in the event catalogue, contract.events;
# tests/contract checks it): the rest are ignored.
CONSUMED = frozenset(
    {"members.city_opened", "listings.contact_recommended", "members.group_created"}
    | {f"events.{t}" for t in OUTING_STATE_EVENTS | OUTING_REMOVAL_EVENTS | ACTIVITY_EVENTS}
    | {f"listings.{t}" for t in LISTING_STATE_EVENTS | {"listing_closed"}}
    | {f"members.{t}" for t in BLOCK_EVENTS | MEMBERSHIP_EVENTS}
    | set(talk.ROUTING_KEYS)
)


@dataclass(frozen=True)
class IndexWrite:
    spec: indices.IndexSpec
    doc_id: str
    version: int
    document: dict[str, Any]


def write_for(event: Event) -> IndexWrite | None:
    """The write an event causes, or None for events this index does not keep. An event it keeps
    is checked against the event catalogue first (logged and counted when off it, still written)."""
    if event.routing_key not in CONSUMED:
        return None
    contract_events.check(event, "consumed")
    if event.type == "city_opened":
        # The search service's copy of the open cities (read back by search.city_view); this
        # process knows the city at once.
        try:
            city = cities.City.from_dict(event.data)
        except (KeyError, TypeError, ValueError):
            return None  # not a city this code can read: nothing to keep
        cities.remember([city])
        doc = {"id": event.aggregate_id, "version": event.version, "slug": city.slug, "city": city.to_dict()}
        return IndexWrite(indices.CITIES, event.aggregate_id, event.version, doc)
    if event.type in OUTING_STATE_EVENTS:
        doc = {name: event.data[name] for name in OUTING_FIELDS if name in event.data}
        doc["id"] = event.aggregate_id
        doc["version"] = event.version
        doc["hidden"] = doc.get("status", "published") != "published"
        doc["hidden"] = doc["hidden"] or event.data.get("hidden") is True  # hidden by a moderator
        _add_language_copies(doc, ("title", "description", "venue_name"), doc.get("language"))
        return IndexWrite(indices.OUTINGS, event.aggregate_id, event.version, doc)
    if event.type in OUTING_REMOVAL_EVENTS:
        # A tombstone, not a delete: Elasticsearch forgets a deleted document's version
        # after index.gc_deletes (60 s), and a late event would bring it back.
        doc = {"id": event.aggregate_id, "version": event.version, "hidden": True, "status": "cancelled"}
        return IndexWrite(indices.OUTINGS, event.aggregate_id, event.version, doc)
    if event.type in LISTING_STATE_EVENTS or event.type == "listing_closed":
        doc = {name: event.data[name] for name in LISTING_FIELDS if name in event.data}
        doc["id"] = event.aggregate_id
        doc["version"] = event.version
        area = doc.get("pickup_area") or {}
        if "lat" in area and "lon" in area:
            doc["area_point"] = {"lat": area["lat"], "lon": area["lon"]}
        # Only available listings are found; a closed one stays as a hidden tombstone.
        doc["hidden"] = event.type == "listing_closed" or doc.get("status") != "active"
        doc["hidden"] = doc["hidden"] or event.data.get("hidden") is True  # hidden by a moderator
        _add_language_copies(doc, ("title", "description"), doc.get("language"))
        return IndexWrite(indices.LISTINGS, event.aggregate_id, event.version, doc)
    if event.type in ("coop_shift_offered", "coop_shift_moved"):
        area = event.data.get("area")
        if not area:
            return None  # offered without a place: not on the map
        doc = {
            "id": event.aggregate_id,
            "version": event.version,
            "hidden": False,
            "kind": "coop_shift",
            "group_id": event.data["group_id"],
            "title": "Co-op childcare",
            "point": {"lat": area["lat"], "lon": area["lon"]},
            "city": event.data.get("city"),
            "starts_at": event.data["starts_at"],
            "ends_at": event.data["ends_at"],
            "member_ids": _member_ids(event.data.get("host_id")),
        }
        return IndexWrite(indices.ACTIVITIES, event.aggregate_id, event.version, doc)
    if event.type == "trip_created":
        where = event.data.get("meeting_location") or {}
        doc = {
            "id": event.aggregate_id,
            "version": event.version,
            "hidden": False,
            "kind": "trip",
            "group_id": event.data["group_id"],
            "title": event.data.get("title", ""),
            "point": {"lat": where.get("lat", 0.0), "lon": where.get("lon", 0.0)},
            "city": event.data.get("city"),
            "weekdays": event.data.get("weekdays", []),
            "time": event.data.get("time"),
            # The organizer; a day's driver is not in any event (the rota stays with events).
            "member_ids": _member_ids(event.data.get("created_by")),
        }
        return IndexWrite(indices.ACTIVITIES, event.aggregate_id, event.version, doc)
    if event.type == "contact_recommended":
        fields = ("kind", "name", "description", "phone", "email", "website", "address", "location", "city")
        doc = {name: event.data.get(name) for name in (*fields, "group_id", "languages", "recommendations")}
        doc.update(id=event.aggregate_id, version=event.version, hidden=event.data.get("hidden") is True)
        _add_language_copies(doc, ("name", "description"), event.data.get("languages"))
        return IndexWrite(indices.CONTACTS, event.aggregate_id, event.version, _without_nulls(doc))
    if event.type == "group_created":
        if event.data.get("visibility") != "public":
            return None
        city = cities.get(event.data.get("city") or "")
        doc = {name: event.data.get(name) for name in ("name", "description", "city", "languages", "join_policy")}
        doc.update(id=event.aggregate_id, version=event.version, hidden=False)
        if city:
            doc["location"] = {"lat": city.lat, "lon": city.lon}
        _add_language_copies(doc, ("name", "description"), event.data.get("languages"))
        return IndexWrite(indices.GROUPS, event.aggregate_id, event.version, _without_nulls(doc))
    if event.type in BLOCK_EVENTS:
        doc = {
            "id": event.aggregate_id,
            "version": event.version,
            "blocker_id": event.data["blocker_id"],
            "blocked_id": event.data["blocked_id"],
            "active": event.type == "member_blocked",
        }
        return IndexWrite(indices.BLOCKS, event.aggregate_id, event.version, doc)
    if event.type in MEMBERSHIP_EVENTS:
        # Only an active membership lets a private group's items show (a pending request, a
        # member who left or was removed: not a member).
        doc = {
            "id": event.aggregate_id,
            "version": event.version,
            "group_id": event.data["group_id"],
            "member_id": event.data["member_id"],
            "active": event.data.get("status") == "active",
        }
        return IndexWrite(indices.MEMBERSHIPS, event.aggregate_id, event.version, doc)
    talk_doc = talk.document_for(event)
    return None if talk_doc is None else IndexWrite(talk.DISCUSSIONS, event.aggregate_id, event.version, talk_doc)


def _member_ids(*ids: Any) -> list[str]:
    """The members an activity's event names (host, organizer), without blanks."""
    return sorted({i for i in ids if isinstance(i, str) and i})


def _add_language_copies(doc: dict[str, Any], fields: tuple[str, ...], declared: Any) -> None:
    """Copies of the text for its language's own analysis (``lang.<code>.<field>``, see languages.py)."""
    copies = languages.per_language(doc, fields, declared)
    if copies:
        doc["lang"] = copies


def _without_nulls(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if v is not None}
