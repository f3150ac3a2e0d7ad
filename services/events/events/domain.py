"""Outings as plain Python: validation and the shape of the state and its public view.

No I/O here, so every rule is unit-tested without a broker or a database.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from parentnet_kit import cities
from parentnet_kit.contracts import OUTING_CATEGORIES

CATEGORIES = OUTING_CATEGORIES
TITLE_MAX = 140
DESCRIPTION_MAX = 5_000
VENUE_MAX = 200
MAX_DURATION = timedelta(days=14)
# Tolerate clocks a little apart between a phone and the server.
PAST_TOLERANCE = timedelta(minutes=5)
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class FieldError:
    field: tuple[str, ...]
    message: str
    code: str

    def to_dict(self) -> dict[str, Any]:
        return {"field": list(self.field), "message": self.message, "code": self.code}


def _text(raw: dict[str, Any], name: str, limit: int, errors: list[FieldError], required: bool) -> str:
    value = raw.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.append(FieldError((name,), f"{name} must be text", "INVALID"))
        return ""
    value = value.strip()
    if required and not value:
        errors.append(FieldError((name,), f"{name} must not be empty", "REQUIRED"))
    elif len(value) > limit:
        errors.append(FieldError((name,), f"{name} must be at most {limit} characters", "TOO_LONG"))
    return value


def _coordinate(raw: Any, errors: list[FieldError]) -> dict[str, float] | None:
    if not isinstance(raw, dict):
        errors.append(FieldError(("location",), "location must have lat and lon", "REQUIRED"))
        return None
    point: dict[str, float] = {}
    for name, bound in (("lat", 90.0), ("lon", 180.0)):
        value = raw.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            errors.append(FieldError(("location", name), f"{name} must be a number", "INVALID"))
        elif not -bound <= value <= bound:
            errors.append(
                FieldError(("location", name), f"{name} must be between -{bound:g} and {bound:g}", "OUT_OF_RANGE")
            )
        else:
            point[name] = float(value)
    return point if len(point) == 2 else None


def parse_local_time(value: Any, zone: ZoneInfo) -> datetime | None:
    """An ISO 8601 date-time; without an offset it is read in the city's time zone."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def validate_new_outing(raw: dict[str, Any], now: datetime) -> tuple[dict[str, Any], list[FieldError]]:
    """Check an outing proposal; returns the clean fields, or the errors naming each field."""
    errors: list[FieldError] = []
    title = _text(raw, "title", TITLE_MAX, errors, required=True)
    description = _text(raw, "description", DESCRIPTION_MAX, errors, required=False)
    venue_name = _text(raw, "venue_name", VENUE_MAX, errors, required=True)

    category = raw.get("category")
    if category not in CATEGORIES:
        errors.append(FieldError(("category",), "category is not one of the known categories", "INVALID"))

    city = cities.get(raw.get("city") or "")
    if city is None:
        errors.append(FieldError(("city",), "city is not one of the network's cities", "UNKNOWN_CITY"))

    language = raw.get("language") or (city.languages[0] if city else None)
    if language is not None and (not isinstance(language, str) or not LANGUAGE_RE.match(language)):
        errors.append(FieldError(("language",), "language must be a language tag such as fr or zh-Hans", "INVALID"))

    location = _coordinate(raw.get("location"), errors)

    zone = ZoneInfo(city.time_zone) if city else UTC
    starts_at = parse_local_time(raw.get("starts_at"), zone)
    ends_at = parse_local_time(raw.get("ends_at"), zone)
    if starts_at is None:
        errors.append(
            FieldError(("starts_at",), "startsAt must be a date and time such as 2026-12-05T10:00", "INVALID")
        )
    elif starts_at < now - PAST_TOLERANCE:
        errors.append(FieldError(("starts_at",), "startsAt must not be in the past", "IN_THE_PAST"))
    if ends_at is None:
        errors.append(FieldError(("ends_at",), "endsAt must be a date and time such as 2026-12-05T12:00", "INVALID"))
    if starts_at is not None and ends_at is not None:
        if ends_at <= starts_at:
            errors.append(FieldError(("ends_at",), "endsAt must be after startsAt", "ENDS_BEFORE_START"))
        elif ends_at - starts_at > MAX_DURATION:
            errors.append(FieldError(("ends_at",), "an outing lasts at most 14 days", "TOO_LONG"))

    if errors:
        return {}, errors
    assert city is not None and location is not None and starts_at is not None and ends_at is not None
    return {
        "title": title,
        "description": description,
        "language": language,
        "category": category,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "time_zone": city.time_zone,
        "venue_name": venue_name,
        "location": location,
        "city": city.slug,
    }, []


def new_outing_state(clean: dict[str, Any], organizer_id: str | None, now: datetime) -> dict[str, Any]:
    return {
        "_id": uuid.uuid4().hex,
        "version": 1,
        "status": "published",
        "organizer_id": organizer_id,
        "created_at": now,
        "updated_at": now,
        **clean,
    }


def _iso(value: datetime) -> str:
    if value.tzinfo is None:  # pymongo hands back naive UTC datetimes
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def public_view(state: dict[str, Any]) -> dict[str, Any]:
    """What anyone may see of an outing: the event payload and the RPC answer."""
    return {
        "id": state["_id"],
        "version": state["version"],
        "status": state["status"],
        "title": state["title"],
        "description": state["description"],
        "language": state["language"],
        "category": state["category"],
        "starts_at": _iso(state["starts_at"]),
        "ends_at": _iso(state["ends_at"]),
        "time_zone": state["time_zone"],
        "venue_name": state["venue_name"],
        "location": dict(state["location"]),
        "city": state["city"],
        "organizer_id": state["organizer_id"],
        "created_at": _iso(state["created_at"]),
        "updated_at": _iso(state["updated_at"]),
    }
