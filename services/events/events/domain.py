"""Outings as plain Python: validation and the shape of the state and its public view.

No I/O here, so every rule is unit-tested without a broker or a database.
"""

from __future__ import annotations

import calendar
import math
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from parentnet_kit import cities, city_areas
from parentnet_kit.clock import parse_iso
from parentnet_kit.contracts import OUTING_CATEGORIES
from parentnet_kit.fields import LANGUAGE_TAG, FieldError, text
from parentnet_kit.i18n import t

CATEGORIES = OUTING_CATEGORIES
TITLE_MAX = 140
DESCRIPTION_MAX = 5_000
VENUE_MAX = 200
MAX_DURATION = timedelta(days=14)
# Tolerate clocks a little apart between a phone and the server.
PAST_TOLERANCE = timedelta(minutes=5)


def _coordinate(raw: Any, errors: list[FieldError]) -> dict[str, float] | None:
    if not isinstance(raw, dict):
        errors.append(FieldError(("location",), t("location must have lat and lon"), "REQUIRED"))
        return None
    point: dict[str, float] = {}
    for name, bound in (("lat", 90.0), ("lon", 180.0)):
        value = raw.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            errors.append(FieldError(("location", name), t("{name} must be a number", name=name), "INVALID"))
        elif not -bound <= value <= bound:
            errors.append(
                FieldError(
                    ("location", name),
                    t("{name} must be between -{bound} and {bound}", name=name, bound=bound),
                    "OUT_OF_RANGE",
                )
            )
        else:
            point[name] = float(value)
    return point if len(point) == 2 else None


def _city_of(slug: Any, location: dict[str, float] | None, errors: list[FieldError]) -> cities.City | None:
    """The open city an outing belongs to (``city_areas``' rules): the named one when its area
    holds the meeting point; with no city named, the one whose area holds it."""
    named = None
    if slug:
        named = cities.get(slug) if isinstance(slug, str) else None
        if named is None:
            errors.append(FieldError(("city",), t("city is not one of the network's open cities"), "UNKNOWN_CITY"))
            return None
    if location is None:
        if named is None:
            errors.append(FieldError(("city",), t("give a city or a location"), "REQUIRED"))
        return named
    city, refusal = city_areas.belongs(named, location["lat"], location["lon"], cities.open_cities())
    if refusal:
        errors.append(FieldError(("location",), refusal, "FAR_FROM_CITY"))
    return city


def parse_local_time(value: Any, zone: ZoneInfo) -> datetime | None:
    """An ISO 8601 date-time in UTC; without an offset it is read in the city's time zone."""
    parsed = parse_iso(value, zone)
    return None if parsed is None else parsed.astimezone(UTC)


def skipped_local_time(value: Any, zone: ZoneInfo) -> datetime | None:
    """The wall-clock time ``value`` names in ``zone`` when that time does not exist there (the
    hour a zone moves its clocks forward: 00:30 on the night Santiago goes from -04 to -03); None
    otherwise, and for a time given with its offset (that names an instant, which always exists)."""
    parsed = parse_iso(value, zone)
    if parsed is None or parsed.tzinfo is not zone:
        return None
    again = parsed.astimezone(UTC).astimezone(zone)
    return parsed if again.replace(tzinfo=None) != parsed.replace(tzinfo=None) else None


def validate_new_outing(raw: dict[str, Any], now: datetime) -> tuple[dict[str, Any], list[FieldError]]:
    """Check an outing proposal; returns the clean fields, or the errors naming each field."""
    errors: list[FieldError] = []
    title = text(raw, "title", TITLE_MAX, errors, required=True)
    description = text(raw, "description", DESCRIPTION_MAX, errors, required=False)
    venue_name = text(raw, "venue_name", VENUE_MAX, errors, required=True)

    category = raw.get("category")
    if category not in CATEGORIES:
        errors.append(FieldError(("category",), t("category is not one of the known categories"), "INVALID"))

    location = _coordinate(raw.get("location"), errors)
    city = _city_of(raw.get("city"), location, errors)

    language = raw.get("language") or (city.languages[0] if city else None)
    if language is not None and (not isinstance(language, str) or not LANGUAGE_TAG.match(language)):
        errors.append(FieldError(("language",), t("language must be a language tag such as fr or zh-Hans"), "INVALID"))

    zone = ZoneInfo(city.time_zone) if city else UTC
    starts_at = parse_local_time(raw.get("starts_at"), zone)
    ends_at = parse_local_time(raw.get("ends_at"), zone)
    skipped = set()
    for name, label in (("starts_at", "startsAt"), ("ends_at", "endsAt")):
        if city is not None and (gap := skipped_local_time(raw.get(name), zone)) is not None:
            message = t(
                "{label} {gap_time} does not exist on {gap_date} in {time_zone}: the clocks go forward "
                "then; choose a time after the change",
                label=label,
                gap_time=format(gap, "%H:%M"),
                gap_date=format(gap, "%Y-%m-%d"),
                time_zone=city.time_zone,
            )
            errors.append(FieldError((name,), message, "INVALID"))
            skipped.add(name)
    if "starts_at" in skipped:
        starts_at = None
    elif starts_at is None:
        errors.append(
            FieldError(("starts_at",), t("startsAt must be a date and time such as 2026-12-05T10:00"), "INVALID")
        )
    elif starts_at < now - PAST_TOLERANCE:
        errors.append(FieldError(("starts_at",), t("startsAt must not be in the past"), "IN_THE_PAST"))
    if "ends_at" in skipped:
        ends_at = None
    elif ends_at is None:
        errors.append(FieldError(("ends_at",), t("endsAt must be a date and time such as 2026-12-05T12:00"), "INVALID"))
    if starts_at is not None and ends_at is not None:
        if ends_at <= starts_at:
            errors.append(FieldError(("ends_at",), t("endsAt must be after startsAt"), "ENDS_BEFORE_START"))
        elif ends_at - starts_at > MAX_DURATION:
            errors.append(FieldError(("ends_at",), t("an outing lasts at most 14 days"), "TOO_LONG"))

    extras = _optional_fields(raw, errors, city)
    recurrence = _recurrence(raw.get("recurrence"), errors)
    if errors:
        return {}, errors
    assert city is not None and location is not None and starts_at is not None and ends_at is not None
    return {
        **extras,
        "recurrence": recurrence,
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
    state = {
        "_id": uuid.uuid4().hex,
        "version": 1,
        "status": "published",
        "organizer_id": organizer_id,
        "created_at": now,
        "updated_at": now,
        "series_id": None,
        "occurrence": None,
        "detached": False,
        "attendance": empty_attendance(clean.get("capacity")),
        **clean,
    }
    state.pop("recurrence", None)
    return state


def empty_attendance(capacity: int | None) -> dict[str, Any]:
    return {"families": 0, "adults": 0, "children": 0, "waitlist": 0, "places_left": capacity}


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
        "capacity": state.get("capacity"),
        "age_min": state.get("age_min"),
        "age_max": state.get("age_max"),
        "with_children": state.get("with_children", True),
        "cost": state.get("cost"),
        "group_id": state.get("group_id"),
        "group_visibility": state.get("group_visibility"),
        "series_id": state.get("series_id"),
        "occurrence": state.get("occurrence"),
        "recurrence": state.get("recurrence"),
        "attendance": dict(state.get("attendance") or empty_attendance(state.get("capacity"))),
        "created_at": _iso(state["created_at"]),
        "updated_at": _iso(state["updated_at"]),
        # Hidden or removed by a moderator (``parentnet_kit.moderation_copy``): shown to nobody.
        "hidden": (state.get("moderation") or {}).get("state") in ("hidden", "removed"),
    }


CAPACITY_MAX = 500
AGE_MAX_YEARS = 18
PARTY_MAX = 12
FREQUENCIES = {"weekly", "fortnightly", "monthly"}
OCCURRENCES_MAX = 52


def _int_in(raw: dict[str, Any], name: str, low: int, high: int, errors: list[FieldError]) -> int | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(FieldError((name,), t("{name} must be a whole number", name=name), "INVALID"))
        return None
    if not low <= value <= high:
        errors.append(
            FieldError(
                (name,), t("{name} must be between {low} and {high}", name=name, low=low, high=high), "OUT_OF_RANGE"
            )
        )
        return None
    return value


def _optional_fields(raw: dict[str, Any], errors: list[FieldError], city: Any) -> dict[str, Any]:
    """Capacity, children's ages, with or without children, cost and group, as given (or defaults)."""
    clean: dict[str, Any] = {
        "capacity": _int_in(raw, "capacity", 1, CAPACITY_MAX, errors),
        "age_min": _int_in(raw, "age_min", 0, AGE_MAX_YEARS, errors),
        "age_max": _int_in(raw, "age_max", 0, AGE_MAX_YEARS, errors),
    }
    if clean["age_min"] is not None and clean["age_max"] is not None and clean["age_min"] > clean["age_max"]:
        errors.append(FieldError(("age_max",), t("ageMax must not be less than ageMin"), "OUT_OF_RANGE"))
    with_children = raw.get("with_children")
    if with_children is not None and not isinstance(with_children, bool):
        errors.append(FieldError(("with_children",), t("withChildren must be true or false"), "INVALID"))
    clean["with_children"] = True if with_children is None else bool(with_children)
    clean["cost"] = _cost(raw.get("cost"), errors, city)
    group_id = raw.get("group_id")
    clean["group_id"] = group_id if isinstance(group_id, str) and group_id else None
    visibility = raw.get("group_visibility")
    clean["group_visibility"] = visibility if clean["group_id"] and visibility in ("public", "private") else None
    return clean


def _cost(raw: Any, errors: list[FieldError], city: Any) -> dict[str, str] | None:
    """None is free. Amounts are decimal strings, so no float ever rounds a price."""
    if raw is None:
        return None
    amount = raw.get("amount") if isinstance(raw, dict) else None
    try:
        value = Decimal(str(amount).strip())
    except (InvalidOperation, ValueError):
        errors.append(FieldError(("cost", "amount"), t("amount must be a number such as 5 or 4.50"), "INVALID"))
        return None
    if not value.is_finite() or value < 0 or value > 10_000_000 or -value.as_tuple().exponent > 2:
        errors.append(
            FieldError(("cost", "amount"), t("amount must be 0 or more, with at most 2 decimals"), "OUT_OF_RANGE")
        )
        return None
    currency = raw.get("currency") or (city.currency if city else None)
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        errors.append(FieldError(("cost", "currency"), t("currency must be an ISO 4217 code such as EUR"), "INVALID"))
        return None
    if value == 0:
        return None
    return {"amount": f"{value:.2f}", "currency": currency}


def _recurrence(raw: Any, errors: list[FieldError]) -> dict[str, Any] | None:
    if raw is None:
        return None
    frequency = raw.get("frequency") if isinstance(raw, dict) else None
    if frequency not in FREQUENCIES:
        errors.append(
            FieldError(("recurrence", "frequency"), t("frequency must be weekly, fortnightly or monthly"), "INVALID")
        )
        return None
    count = raw.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 2 <= count <= OCCURRENCES_MAX:
        errors.append(
            FieldError(
                ("recurrence", "count"),
                t("count must be between 2 and {occurrences_max}", occurrences_max=OCCURRENCES_MAX),
                "OUT_OF_RANGE",
            )
        )
        return None
    return {"frequency": frequency, "count": count}


def occurrence_starts(first_start: datetime, zone: str, frequency: str, count: int) -> list[datetime]:
    """Start times (UTC) of a series, keeping the first one's *local* wall-clock time.

    Dates step in the city's calendar and the wall-clock time is re-read in its time zone
    for each date, so "10:00 every Wednesday" stays 10:00 across daylight-saving changes.
    A monthly series keeps the day of the month (the month's last day when it is shorter).
    """
    tz = ZoneInfo(zone)
    local = first_start.astimezone(tz)
    starts = []
    for index in range(count):
        if frequency == "monthly":
            month_index = local.month - 1 + index
            year, month = local.year + month_index // 12, month_index % 12 + 1
            day = min(local.day, calendar.monthrange(year, month)[1])
            day_date = date(year, month, day)
        else:
            step = 7 if frequency == "weekly" else 14
            day_date = local.date() + timedelta(days=step * index)
        wall = datetime.combine(day_date, local.time().replace(tzinfo=None)).replace(tzinfo=tz)
        starts.append(wall.astimezone(UTC))
    return starts


def shift_to(occurrence_start: datetime, zone: str, day_delta: int, wall_time: Any) -> datetime:
    """An occurrence moved by ``day_delta`` days to the local wall-clock ``wall_time``."""
    tz = ZoneInfo(zone)
    local_day = occurrence_start.astimezone(tz).date() + timedelta(days=day_delta)
    return datetime.combine(local_day, wall_time).replace(tzinfo=tz).astimezone(UTC)


PATCH_FIELDS = (
    "title",
    "description",
    "language",
    "category",
    "starts_at",
    "ends_at",
    "venue_name",
    "location",
    "capacity",
    "age_min",
    "age_max",
    "with_children",
    "cost",
)


def validate_outing_patch(
    raw: dict[str, Any], current: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], list[FieldError]]:
    """The fields an update changes, checked as a whole outing. Absent or null = unchanged;
    ``free: true`` makes it free. Times in the past are refused only when they change."""
    unknown = sorted(k for k in raw if k not in (*PATCH_FIELDS, "free") and raw[k] is not None)
    errors = [FieldError((name,), t("{name} cannot be changed here", name=name), "UNKNOWN_FIELD") for name in unknown]
    given = {k: raw[k] for k in PATCH_FIELDS if raw.get(k) is not None}
    if raw.get("free") is True:
        if "cost" in given:
            errors.append(FieldError(("free",), t("give either free or cost"), "INVALID"))
        given["cost"] = None
    merged = {
        **{k: current.get(k) for k in PATCH_FIELDS},
        "starts_at": _iso(current["starts_at"]),
        "ends_at": _iso(current["ends_at"]),
        "city": current["city"],
        **given,
    }
    times_change = "starts_at" in given or "ends_at" in given
    clean, found = validate_new_outing(merged, now if times_change else datetime(2000, 1, 1, tzinfo=UTC))
    errors.extend(found)
    if errors:
        return {}, errors
    return {k: clean[k] for k in given if clean[k] != current.get(k)}, []
