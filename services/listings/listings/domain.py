"""Listings and trusted contacts as plain Python: validation, states, views, matching rules.

No I/O here. Field errors name the input field (snake_case; the gateway camel-cases them).

A trusted contact's input is a pydantic model (``ContactInput``): its checks are per field, and
its one cross-field rule (a way to reach them) is checked beside the model on the raw input.
Why a listing's input checks are not a pydantic model (issue 21 asked): a listing's rules cross its
fields (a size is required by category and kind, a condition only for offers of goods, a price
only for "sell" with its currency from the city, the pickup point inside the city's area, the
language defaulting to the city's), and every problem of one input is reported at once, each as
a ``FieldError`` with its own code (``REQUIRED``, ``OUT_OF_RANGE``, ``UNKNOWN_CITY``,
``FAR_FROM_CITY``...) and a ``t()`` message. pydantic v2 runs a model's cross-field validators
only when every field passed: ``title=""`` with ``category="clothes"`` and no size gives
``[("title",), "string_too_short"]`` alone where this gives both errors, so the answer a user
sees would change; the rest would be custom validators raising our own messages and a mapping
of pydantic's error types back to our codes, the same checks written again inside pydantic.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlparse

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from parentnet_kit import cells, cities, city_areas, contracts
from parentnet_kit.fields import LANGUAGE_TAG, FieldError, text
from parentnet_kit.geo import haversine_km
from parentnet_kit.i18n import t

OFFER_KINDS = contracts.LISTING_OFFER_KINDS
KINDS = contracts.LISTING_KINDS
CATEGORIES = contracts.LISTING_CATEGORIES
SIZED = ("clothes", "shoes")
CONDITIONS = contracts.LISTING_CONDITIONS
TITLE_MAX, DESCRIPTION_MAX, ADDRESS_MAX, SIZE_MAX = 140, 5_000, 300, 20
PHOTOS_MAX = 8
DEFAULT_LIFETIME = timedelta(days=30)
RADIUS_DEFAULT_KM, RADIUS_MAX_KM = 5.0, 50.0
AGE_MAX_MONTHS = 18 * 12

CONTACT_KINDS = contracts.CONTACT_KINDS
NAME_MAX, PHONE_MAX, URL_MAX = 120, 40, 300


def _choice(
    raw: dict[str, Any], name: str, allowed: tuple[str, ...], errors: list[FieldError], default: str | None = None
) -> str | None:
    value = raw.get(name) or default
    if value not in allowed:
        errors.append(
            FieldError((name,), t("{name} must be one of {value}", name=name, value=", ".join(allowed)), "INVALID")
        )
        return None
    return value


def _point(raw: Any, name: str, errors: list[FieldError]) -> dict[str, float] | None:
    if not isinstance(raw, dict):
        errors.append(FieldError((name,), t("{name} must have lat and lon", name=name), "REQUIRED"))
        return None
    point: dict[str, float] = {}
    for axis, bound in (("lat", 90.0), ("lon", 180.0)):
        value = raw.get(axis)
        if isinstance(value, bool) or not isinstance(value, int | float) or not -bound <= value <= bound:
            errors.append(
                FieldError(
                    (name, axis),
                    t("{axis} must be between -{bound} and {bound}", axis=axis, bound=bound),
                    "OUT_OF_RANGE",
                )
            )
        else:
            point[axis] = float(value)
    return point if len(point) == 2 else None


def _age_months(raw: dict[str, Any], name: str, errors: list[FieldError]) -> int | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= AGE_MAX_MONTHS:
        errors.append(
            FieldError(
                (name,),
                t(
                    "{name} must be a whole number of months from 0 to {age_max_months}",
                    name=name,
                    age_max_months=AGE_MAX_MONTHS,
                ),
                "OUT_OF_RANGE",
            )
        )
        return None
    return value


def _photos(raw: Any, errors: list[FieldError]) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > PHOTOS_MAX:
        errors.append(
            FieldError(
                ("photos",), t("photos must be a list of at most {photos_max} URLs", photos_max=PHOTOS_MAX), "INVALID"
            )
        )
        return []
    clean = []
    for i, url in enumerate(raw):
        parsed = urlparse(url.strip()) if isinstance(url, str) else None
        if parsed is None or parsed.scheme != "https" or not parsed.netloc or len(url) > URL_MAX or " " in url.strip():
            errors.append(FieldError(("photos", str(i)), t("each photo must be an https:// URL"), "INVALID"))
        else:
            clean.append(url.strip())
    return clean


def _price(raw: Any, kind: str | None, city: Any, errors: list[FieldError]) -> dict[str, str] | None:
    if kind != "sell":
        if raw is not None:
            errors.append(FieldError(("price",), t("only a listing for sale has a price"), "INVALID"))
        return None
    amount = raw.get("amount") if isinstance(raw, dict) else None
    try:
        value = Decimal(str(amount).strip())
    except (InvalidOperation, ValueError):
        errors.append(
            FieldError(("price", "amount"), t("a listing for sale needs a price such as 15 or 12.50"), "REQUIRED")
        )
        return None
    if not value.is_finite() or value <= 0 or value > 1_000_000 or -value.as_tuple().exponent > 2:
        errors.append(
            FieldError(("price", "amount"), t("price must be more than 0, with at most 2 decimals"), "OUT_OF_RANGE")
        )
        return None
    currency = (raw.get("currency") if isinstance(raw, dict) else None) or (city.currency if city else None)
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        errors.append(FieldError(("price", "currency"), t("currency must be an ISO 4217 code such as EUR"), "INVALID"))
        return None
    return {"amount": f"{value:.2f}", "currency": currency}


def validate_listing(raw: dict[str, Any], now: datetime) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    kind = _choice(raw, "kind", KINDS, errors)
    category = _choice(raw, "category", CATEGORIES, errors)
    title = text(raw, "title", TITLE_MAX, errors, required=True)
    description = text(raw, "description", DESCRIPTION_MAX, errors, required=False)
    city = cities.get(raw.get("city") or "")
    if city is None:
        errors.append(FieldError(("city",), t("city is not one of the network's cities"), "UNKNOWN_CITY"))
    size = text(raw, "size", SIZE_MAX, errors, required=False) or None
    if category in SIZED and kind != "wanted" and not size:
        errors.append(FieldError(("size",), t("{category} need a size", category=category), "REQUIRED"))
    age_min, age_max = _age_months(raw, "age_min_months", errors), _age_months(raw, "age_max_months", errors)
    if age_min is not None and age_max is not None and age_min > age_max:
        errors.append(
            FieldError(("age_max_months",), t("ageMaxMonths must not be less than ageMinMonths"), "OUT_OF_RANGE")
        )
    condition = None
    if kind in OFFER_KINDS and category not in ("babysitting", "tutoring"):
        condition = _choice(raw, "condition", CONDITIONS, errors, default="good")
    price = _price(raw.get("price"), kind, city, errors)
    photos = _photos(raw.get("photos"), errors)
    address = text(raw, "pickup_address", ADDRESS_MAX, errors, required=False)
    location = _point(raw.get("pickup_location"), "pickup_location", errors)
    if location and city:
        # city_areas' rules: the pickup point must lie in the named city's area.
        _, refusal = city_areas.belongs(city, location["lat"], location["lon"], cities.open_cities())
        if refusal:
            errors.append(
                FieldError(("pickup_location",), refusal.replace("location", "pickup_location", 1), "FAR_FROM_CITY")
            )
    radius = raw.get("match_radius_km")
    if radius is None:
        radius = RADIUS_DEFAULT_KM
    if isinstance(radius, bool) or not isinstance(radius, int | float) or not 0 < radius <= RADIUS_MAX_KM:
        errors.append(
            FieldError(
                ("match_radius_km",),
                t("matchRadiusKm must be more than 0 and at most {radius_max_km}", radius_max_km=RADIUS_MAX_KM),
                "OUT_OF_RANGE",
            )
        )
    language = raw.get("language") or (city.languages[0] if city else None)
    if language is not None and (not isinstance(language, str) or not LANGUAGE_TAG.match(language)):
        errors.append(FieldError(("language",), t("language must be a language tag such as fr"), "INVALID"))
    if errors:
        return {}, errors
    assert city is not None and location is not None
    return {
        "kind": kind,
        "category": category,
        "title": title,
        "description": description,
        "language": language,
        "city": city.slug,
        "size": normalise_size(size) if size else None,
        "age_min_months": age_min,
        "age_max_months": age_max,
        "condition": condition,
        "price": price,
        "photos": photos,
        "pickup_address": address,
        "pickup_location": location,
        "match_radius_km": float(radius),
    }, []


def normalise_size(size: str) -> str:
    return " ".join(size.upper().replace("EU", "").split())


def new_listing_state(clean: dict[str, Any], owner_id: str, now: datetime, protected: bool = False) -> dict[str, Any]:
    """A new listing's stored state. Its pickup area (shown, indexed and matched on) is the
    fixed ~1 km cell of the pickup point, or the whole city when the owner is in protected mode."""
    area = cells.placement(clean["pickup_location"], clean["city"], protected)
    return {
        "_id": uuid.uuid4().hex,
        "version": 1,
        "owner_id": owner_id,
        "status": "active",
        "reservation": None,
        "pickup_area": area.to_dict(),
        "created_at": now,
        "updated_at": now,
        "expires_at": now + DEFAULT_LIFETIME,
        **clean,
    }


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def public_view(state: dict[str, Any]) -> dict[str, Any]:
    """What anyone may see: the pickup *area* (a fixed ~1 km cell), never the address or the point."""
    reservation = state.get("reservation")
    return {
        "id": state["_id"],
        "version": state["version"],
        "kind": state["kind"],
        "category": state["category"],
        "title": state["title"],
        "description": state["description"],
        "language": state["language"],
        "city": state["city"],
        "size": state["size"],
        "age_min_months": state["age_min_months"],
        "age_max_months": state["age_max_months"],
        "condition": state["condition"],
        "price": state["price"],
        "photos": list(state["photos"]),
        "pickup_area": dict(state["pickup_area"]),
        "match_radius_km": state["match_radius_km"] if state["kind"] == "wanted" else None,
        "owner_id": state["owner_id"],
        "status": state["status"],
        "reservation_status": reservation["status"] if reservation else None,
        "created_at": _iso(state["created_at"]),
        "updated_at": _iso(state["updated_at"]),
        "expires_at": _iso(state["expires_at"]),
        # Hidden or removed by a moderator (``parentnet_kit.moderation_copy``): shown to nobody.
        "hidden": (state.get("moderation") or {}).get("state") in ("hidden", "removed"),
    }


def view_for(state: dict[str, Any], viewer_id: str | None) -> dict[str, Any]:
    """The public view, plus the exact pickup address for the owner and the accepted reserver only."""
    view = public_view(state)
    reservation = state.get("reservation") or {}
    accepted = reservation.get("status") == "accepted" and reservation.get("member_id") == viewer_id
    if viewer_id is not None and (viewer_id == state["owner_id"] or accepted):
        view["pickup_address"] = state["pickup_address"]
        view["pickup_location"] = dict(state["pickup_location"])
    if viewer_id is not None and viewer_id in (state["owner_id"], reservation.get("member_id")):
        view["reservation_member_id"] = reservation.get("member_id")
    return view


def sizes_fit(wanted: dict[str, Any], offer: dict[str, Any]) -> bool:
    if wanted["category"] in SIZED and wanted.get("size") and offer.get("size"):
        return wanted["size"] == offer["size"]
    return True


def ages_fit(wanted: dict[str, Any], offer: dict[str, Any]) -> bool:
    """The age ranges overlap (an open end fits anything)."""
    low_w, high_w = wanted.get("age_min_months"), wanted.get("age_max_months")
    low_o, high_o = offer.get("age_min_months"), offer.get("age_max_months")
    if high_w is not None and low_o is not None and low_o > high_w:
        return False
    return not (high_o is not None and low_w is not None and low_w > high_o)


def area_distance_km(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Kilometres between two listings' pickup *areas* (cell or city centres), never their points."""
    p, q = a["pickup_area"], b["pickup_area"]
    return haversine_km(p["lat"], p["lon"], q["lat"], q["lon"])


def matches(wanted: dict[str, Any], offer: dict[str, Any]) -> bool:
    """A wanted request and an offer match: same category, sizes and ages fit, and the offer's
    pickup area within the requester's radius of the request's own area.

    Both sides are their published areas, never exact points: the requester chooses the point
    and the radius, so a comparison with the offer's exact point would answer, one post at a
    time, how far away the offer's owner lives (bisected to 0.4 m before this rule)."""
    if wanted["kind"] != "wanted" or offer["kind"] not in OFFER_KINDS or wanted["owner_id"] == offer["owner_id"]:
        return False
    if wanted["category"] != offer["category"] or not sizes_fit(wanted, offer) or not ages_fit(wanted, offer):
        return False
    return area_distance_km(wanted, offer) <= wanted["match_radius_km"]


class _ContactPoint(BaseModel):
    """A contact's place on the map (WGS 84 degrees)."""

    model_config = ConfigDict(strict=True, extra="ignore")
    lat: Annotated[float, Field(ge=-90.0, le=90.0)]
    lon: Annotated[float, Field(ge=-180.0, le=180.0)]


def _refuse(code: str, message: Any) -> PydanticCustomError:
    """A pydantic error carrying our code and our sentence (marked with ``t``) in its context."""
    return PydanticCustomError(code, "{text}", {"text": str(message), "message": message})


def _trimmed(value: Any) -> Any:
    """None is "", a text is trimmed; anything else goes on to fail as not text."""
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else value


def _text(limit: int, required: bool = False) -> Any:
    """A trimmed text field of at most ``limit`` characters ("" when absent or null)."""
    constraints = StringConstraints(min_length=1 if required else 0, max_length=limit)
    return Annotated[str, BeforeValidator(_trimmed), constraints]


def _phone(value: str) -> str:
    if value and not re.fullmatch(r"[+0-9 ().-]{6,40}", value):
        raise _refuse("INVALID", t("phone must be a phone number such as +33 1 23 45 67 89"))
    return value


def _email(value: str) -> str:
    if value and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise _refuse("INVALID", t("email is not an email address"))
    return value


def _website(value: str) -> str:
    if value and urlparse(value).scheme not in ("https", "http"):
        raise _refuse("INVALID", t("website must be an http(s) URL"))
    return value


def _kind(value: Any) -> str:
    if not isinstance(value, str) or value not in CONTACT_KINDS:
        raise _refuse("INVALID", t("{name} must be one of {value}", name="kind", value=", ".join(CONTACT_KINDS)))
    return value


def _known_city(slug: Any) -> str:
    if not isinstance(slug, str) or cities.get(slug) is None:
        raise _refuse("UNKNOWN_CITY", t("city is not one of the network's cities"))
    return slug


def _language_tags(value: Any) -> list[str]:
    tags = value or []
    if not isinstance(tags, list) or any(not isinstance(tag, str) or not LANGUAGE_TAG.match(tag) for tag in tags):
        raise _refuse("INVALID", t("languages must be language tags such as fr, ar"))
    return list(dict.fromkeys(tags))


class ContactInput(BaseModel):
    """A trusted contact as a member proposes it (``add_contact``'s ``fields``), validated by
    pydantic: each field's type, trimming, length and checks are declared here; ``validate_contact``
    turns pydantic's errors into ``FieldError``s. Unknown keys are ignored; defaults are validated
    too (an absent city is an unknown city)."""

    model_config = ConfigDict(strict=True, extra="ignore", validate_default=True)
    kind: Annotated[str, BeforeValidator(_kind)] = ""
    name: _text(NAME_MAX, required=True)
    description: _text(2_000) = ""
    phone: Annotated[_text(PHONE_MAX), AfterValidator(_phone)] = ""
    email: Annotated[_text(254), AfterValidator(_email)] = ""
    website: Annotated[_text(URL_MAX), AfterValidator(_website)] = ""
    address: _text(ADDRESS_MAX) = ""
    location: _ContactPoint | None = None
    city: Annotated[str, BeforeValidator(_known_city)] = ""
    languages: Annotated[list[str], BeforeValidator(_language_tags)] = []
    group_id: Annotated[str | None, BeforeValidator(lambda value: value or None)] = None


def _contact_error(error: Any) -> FieldError:
    """One pydantic error as the ``FieldError`` the API gave before pydantic: the path's first
    key is the field (``location``'s axes keep theirs), our code, our sentence (``kit.i18n.t``,
    the same msgid and params)."""
    path = tuple(str(part) for part in error["loc"])
    name, kind, context = path[0], error["type"], error.get("ctx") or {}
    if "message" in context:  # ours (_refuse)
        return FieldError((name,), context["message"], kind)
    if name == "location":
        if len(path) == 2:
            bound = 90.0 if path[1] == "lat" else 180.0
            sentence = t("{axis} must be between -{bound} and {bound}", axis=path[1], bound=bound)
            return FieldError(path, sentence, "OUT_OF_RANGE")
        return FieldError((name,), t("{name} must have lat and lon", name=name), "REQUIRED")
    if kind in ("string_too_short", "too_short", "missing"):
        return FieldError((name,), t("{name} must not be empty", name=name), "REQUIRED")
    if kind in ("string_too_long", "too_long"):
        limit = context["max_length"]
        return FieldError((name,), t("{name} must be at most {limit} characters", name=name, limit=limit), "TOO_LONG")
    return FieldError((name,), t("{name} must be text", name=name), "INVALID")


def validate_contact(raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """``(clean contact, [])`` or ``({}, [FieldError, ...])`` for ``raw`` (``add_contact``'s
    ``fields``): one error per field at most, in the fields' order, then "give at least one way
    to reach them" on ``phone`` when no phone, email, website or address is given."""
    errors: list[FieldError] = []
    contact: ContactInput | None = None
    try:
        contact = ContactInput.model_validate(raw)
    except ValidationError as exc:
        seen: set[tuple[str, ...]] = set()
        for error in exc.errors():
            field_error = _contact_error(error)
            if field_error.field not in seen:
                seen.add(field_error.field)
                errors.append(field_error)
    reachable = [raw.get(key) for key in ("phone", "email", "website", "address")]
    if not any(isinstance(value, str) and value.strip() for value in reachable):
        errors.append(FieldError(("phone",), t("give at least one way to reach them"), "REQUIRED"))
    if errors or contact is None:
        return {}, errors
    city = cities.get(contact.city)
    assert city is not None
    return {
        "kind": contact.kind,
        "name": contact.name,
        "description": contact.description,
        "phone": contact.phone or None,
        "email": contact.email or None,
        "website": contact.website or None,
        "address": contact.address or None,
        "location": contact.location.model_dump() if contact.location else None,
        "city": city.slug,
        "languages": contact.languages,
        "group_id": contact.group_id,
    }, []


def contact_view(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": state["_id"],
        "version": state["version"],
        **{
            k: state[k]
            for k in ("kind", "name", "description", "phone", "email", "website", "address", "city", "group_id")
        },
        "location": dict(state["location"]) if state.get("location") else None,
        "languages": list(state["languages"]),
        "recommendations": state.get("recommendations", 0),
        "added_by": state["added_by"],
        "created_at": _iso(state["created_at"]),
        # Hidden or removed by a moderator (``parentnet_kit.moderation_copy``): shown to nobody.
        "hidden": (state.get("moderation") or {}).get("state") in ("hidden", "removed"),
    }
