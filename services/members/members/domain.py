"""Members and groups as plain Python: validation, state shapes and the views others get.

No I/O here. Field errors name the input field (snake_case; the gateway camel-cases them).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from parentnet_kit import cities, city_areas
from parentnet_kit.fields import LANGUAGE_TAG, FieldError
from parentnet_kit.i18n import t

from . import cells

EMAIL_MAX = 254
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PASSWORD_MIN, PASSWORD_MAX = 10, 128
NAME_MAX = 60
LANGUAGES_MAX = 10
CHILDREN_MAX = 12
CHILD_MAX_AGE_YEARS = 18
INTERESTS_MAX, INTEREST_LEN = 20, 40
GROUP_NAME_MAX, GROUP_DESCRIPTION_MAX = 80, 2_000
VISIBILITIES = ("public", "private")
JOIN_POLICIES = ("open", "approval")
ROLES = ("admin", "moderator", "member")


def new_id() -> str:
    return uuid.uuid4().hex


def normalise_email(raw: Any) -> str:
    return raw.strip().lower() if isinstance(raw, str) else ""


def _text(raw: dict[str, Any], name: str, limit: int, errors: list[FieldError], required: bool) -> str | None:
    value = raw.get(name)
    if value is None:
        if required:
            errors.append(FieldError((name,), t("{name} is required", name=name), "REQUIRED"))
        return None
    if not isinstance(value, str):
        errors.append(FieldError((name,), t("{name} must be text", name=name), "INVALID"))
        return None
    value = " ".join(value.split())
    if required and not value:
        errors.append(FieldError((name,), t("{name} must not be empty", name=name), "REQUIRED"))
    elif len(value) > limit:
        errors.append(
            FieldError((name,), t("{name} must be at most {limit} characters", name=name, limit=limit), "TOO_LONG")
        )
    return value


def _city(raw: dict[str, Any], errors: list[FieldError], required: bool) -> str | None:
    value = raw.get("city")
    if value is None:
        if required:
            errors.append(FieldError(("city",), t("city is required"), "REQUIRED"))
        return None
    if value not in cities.CITIES:
        errors.append(
            FieldError(("city",), t("unknown city {value}; see the cities query", value=repr(value)), "UNKNOWN_CITY")
        )
        return None
    return value


def _languages(raw: Any, name: str, errors: list[FieldError]) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > LANGUAGES_MAX:
        errors.append(
            FieldError(
                (name,),
                t("{name} must be a list of at most {languages_max} tags", name=name, languages_max=LANGUAGES_MAX),
                "INVALID",
            )
        )
        return None
    clean: list[str] = []
    for i, tag in enumerate(raw):
        if not isinstance(tag, str) or not LANGUAGE_TAG.match(tag.strip()):
            errors.append(
                FieldError(
                    (name, str(i)), t("{tag} is not a language tag such as fr or zh-Hant", tag=repr(tag)), "INVALID"
                )
            )
        elif tag.strip() not in clean:
            clean.append(tag.strip())
    return clean


def validate_registration(raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    email = normalise_email(raw.get("email"))
    if not email:
        errors.append(FieldError(("email",), t("email is required"), "REQUIRED"))
    elif len(email) > EMAIL_MAX or not EMAIL_RE.match(email):
        errors.append(FieldError(("email",), t("email is not an email address"), "INVALID"))
    password = raw.get("password")
    if not isinstance(password, str) or not password:
        errors.append(FieldError(("password",), t("password is required"), "REQUIRED"))
    elif len(password) < PASSWORD_MIN:
        errors.append(
            FieldError(
                ("password",),
                t("password must be at least {password_min} characters", password_min=PASSWORD_MIN),
                "TOO_SHORT",
            )
        )
    elif len(password) > PASSWORD_MAX:
        errors.append(
            FieldError(
                ("password",),
                t("password must be at most {password_max} characters", password_max=PASSWORD_MAX),
                "TOO_LONG",
            )
        )
    elif password.strip().lower() == email:
        errors.append(FieldError(("password",), t("password must not be the email address"), "INVALID"))
    name = _text(raw, "display_name", NAME_MAX, errors, required=True)
    city = _city(raw, errors, required=True)
    return {"email": email, "password": password, "display_name": name, "city": city}, errors


def _home(raw: Any, city: str | None, errors: list[FieldError]) -> dict[str, float] | None:
    if not isinstance(raw, dict):
        errors.append(FieldError(("home_location",), t("home_location must have lat and lon"), "INVALID"))
        return None
    point: dict[str, float] = {}
    for name, bound in (("lat", 90.0), ("lon", 180.0)):
        value = raw.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool) or not -bound <= value <= bound:
            errors.append(
                FieldError(
                    ("home_location", name),
                    t("{name} must be between -{bound} and {bound}", name=name, bound=bound),
                    "OUT_OF_RANGE",
                )
            )
        else:
            point[name] = float(value)
    centre = cities.get(city) if city else None
    if len(point) == 2 and centre is not None and not city_areas.contains(centre, point["lat"], point["lon"]):
        # city_areas' rules: a home belongs to the city whose area holds it (never said back exactly).
        errors.append(
            FieldError(
                ("home_location",),
                t(
                    "home_location must be in {name}'s area ({radius_km} km around its centre)",
                    name=centre.name,
                    radius_km=centre.radius_km,
                ),
                "FAR_FROM_CITY",
            )
        )
    return point if len(point) == 2 else None


def _children(raw: Any, now: datetime, errors: list[FieldError]) -> list[dict[str, int]] | None:
    if not isinstance(raw, list) or len(raw) > CHILDREN_MAX:
        errors.append(
            FieldError(
                ("children",),
                t("children must be a list of at most {children_max}", children_max=CHILDREN_MAX),
                "INVALID",
            )
        )
        return None
    clean = []
    for i, child in enumerate(raw):
        year, month = (child or {}).get("birth_year"), (child or {}).get("birth_month")
        where = ("children", str(i))
        if not isinstance(month, int) or not 1 <= month <= 12:
            errors.append(FieldError((*where, "birth_month"), t("birth_month must be 1 to 12"), "OUT_OF_RANGE"))
            continue
        if not isinstance(year, int):
            errors.append(FieldError((*where, "birth_year"), t("birth_year is required"), "REQUIRED"))
            continue
        if (year, month) > (now.year, now.month):
            errors.append(
                FieldError((*where, "birth_year"), t("a child's birth month cannot be in the future"), "IN_THE_FUTURE")
            )
            continue
        if age_months({"birth_year": year, "birth_month": month}, now) > CHILD_MAX_AGE_YEARS * 12 + 11:
            errors.append(
                FieldError(
                    (*where, "birth_year"),
                    t("children are {child_max_age_years} or younger", child_max_age_years=CHILD_MAX_AGE_YEARS),
                    "OUT_OF_RANGE",
                )
            )
            continue
        clean.append({"birth_year": year, "birth_month": month})
    return sorted(clean, key=lambda c: (c["birth_year"], c["birth_month"]))


def _interests(raw: Any, errors: list[FieldError]) -> list[str] | None:
    if not isinstance(raw, list) or len(raw) > INTERESTS_MAX:
        errors.append(
            FieldError(
                ("interests",),
                t("interests must be a list of at most {interests_max}", interests_max=INTERESTS_MAX),
                "INVALID",
            )
        )
        return None
    clean: list[str] = []
    for i, item in enumerate(raw):
        value = " ".join(item.split()).lower() if isinstance(item, str) else ""
        if not value or len(value) > INTEREST_LEN:
            errors.append(
                FieldError(
                    ("interests", str(i)),
                    t("each interest is 1 to {interest_len} characters", interest_len=INTEREST_LEN),
                    "INVALID",
                )
            )
        elif value not in clean:
            clean.append(value)
    return clean


PROFILE_FIELDS = ("display_name", "city", "home_location", "languages", "children", "interests", "protected_mode")


def validate_profile_patch(
    raw: dict[str, Any], current: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], list[FieldError]]:
    """The fields present in ``raw`` (absent or null = unchanged), checked against ``current``."""
    errors: list[FieldError] = []
    patch: dict[str, Any] = {}
    unknown = sorted(set(raw) - set(PROFILE_FIELDS) - {"clear_home_location"})
    for name in unknown:
        errors.append(FieldError((name,), t("{name} is not a profile field", name=name), "UNKNOWN_FIELD"))
    if raw.get("display_name") is not None:
        name = _text(raw, "display_name", NAME_MAX, errors, required=True)
        if name:
            patch["display_name"] = name
    if raw.get("city") is not None:
        city = _city(raw, errors, required=True)
        if city:
            patch["city"] = city
    city = patch.get("city", current["city"])
    if raw.get("home_location") is not None:
        home = _home(raw["home_location"], city, errors)
        if home:
            patch["home"] = home
    elif raw.get("clear_home_location"):
        patch["home"] = None
    elif "city" in patch and current.get("home"):
        # A move to another city must come with a home there (or clear it).
        centre = cities.CITIES[city]
        if not city_areas.contains(centre, current["home"]["lat"], current["home"]["lon"]):
            errors.append(
                FieldError(
                    ("home_location",),
                    t("give a home location near {name} with the new city", name=centre.name),
                    "REQUIRED",
                )
            )
    if raw.get("languages") is not None:
        languages = _languages(raw["languages"], "languages", errors)
        if languages is not None:
            patch["languages"] = languages
    if raw.get("children") is not None:
        children = _children(raw["children"], now, errors)
        if children is not None:
            patch["children"] = children
    if raw.get("interests") is not None:
        interests = _interests(raw["interests"], errors)
        if interests is not None:
            patch["interests"] = interests
    if raw.get("protected_mode") is not None:
        if not isinstance(raw["protected_mode"], bool):
            errors.append(FieldError(("protected_mode",), t("protected_mode must be true or false"), "INVALID"))
        else:
            patch["protected"] = raw["protected_mode"]
    return patch, errors


def age_months(child: dict[str, int], now: datetime) -> int:
    return (now.year - child["birth_year"]) * 12 + (now.month - child["birth_month"])


def new_member_state(clean: dict[str, Any], password_hash: str, now: datetime) -> dict[str, Any]:
    state = {
        "_id": new_id(),
        "version": 1,
        "email": clean["email"],
        "password_hash": password_hash,
        "display_name": clean["display_name"],
        "city": clean["city"],
        "home": None,
        "languages": list(cities.CITIES[clean["city"]].languages[:1]),
        "children": [],
        "interests": [],
        "protected": False,
        "home_moves": [],
        "created_at": now,
        "updated_at": now,
    }
    return with_cell(state)


def with_cell(state: dict[str, Any]) -> dict[str, Any]:
    """Recompute the derived coarse cell; its centre is what discovery queries use."""
    cell = cells.member_cell(state.get("home"), state["city"], state.get("protected", False))
    state["cell"] = cell.to_dict()
    state["discoverable"] = not state.get("protected", False) and state.get("home") is not None
    return state


def public_view(state: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What other members may see: never the email, the home or the cell."""
    return {
        "id": state["_id"],
        "display_name": state["display_name"],
        "city": state["city"],
        "languages": list(state["languages"]),
        "children": [{"age_months": age_months(c, now)} for c in state["children"]],
        "interests": list(state["interests"]),
    }


def private_view(state: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What a member sees of themselves. The exact home stays in this service even so."""
    view = public_view(state, now)
    view["children"] = [{**c, "age_months": age_months(c, now)} for c in state["children"]]
    view.update(
        {
            "email": state["email"],
            "protected_mode": state["protected"],
            "has_home_location": state["home"] is not None,
            "home_cell": None if state["home"] is None else dict(state["cell"]),
            "created_at": state["created_at"].isoformat(),
        }
    )
    return view


def event_view(state: dict[str, Any]) -> dict[str, Any]:
    """The public fields other services may keep (member_registered, member_updated)."""
    return {
        "id": state["_id"],
        "display_name": state["display_name"],
        "city": state["city"],
        "languages": list(state["languages"]),
        "discoverable": state["discoverable"],
    }


def validate_group(raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    name = _text(raw, "name", GROUP_NAME_MAX, errors, required=True)
    description = _text(raw, "description", GROUP_DESCRIPTION_MAX, errors, required=False) or ""
    city = _city(raw, errors, required=True)
    languages = _languages(raw.get("languages"), "languages", errors)
    if not languages and city:
        languages = list(cities.CITIES[city].languages[:1])
    clean = {"name": name, "description": description, "city": city, "languages": languages or []}
    for name_, allowed, default in (("visibility", VISIBILITIES, "public"), ("join_policy", JOIN_POLICIES, "open")):
        value = raw.get(name_) or default
        if value not in allowed:
            errors.append(
                FieldError(
                    (name_,), t("{name_} must be one of {value}", name_=name_, value=", ".join(allowed)), "INVALID"
                )
            )
        clean[name_] = value
    return clean, errors


def new_group_state(clean: dict[str, Any], creator_id: str, now: datetime) -> dict[str, Any]:
    return {"_id": new_id(), "version": 1, **clean, "created_by": creator_id, "created_at": now, "updated_at": now}


def group_view(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": state["_id"],
        "name": state["name"],
        "description": state["description"],
        "city": state["city"],
        "languages": list(state["languages"]),
        "visibility": state["visibility"],
        "join_policy": state["join_policy"],
        "created_at": state["created_at"].isoformat(),
    }


def membership_view(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "group_id": state["group_id"],
        "member_id": state["member_id"],
        "role": state["role"],
        "status": state["status"],
    }


def now_utc() -> datetime:
    return datetime.now(UTC)
