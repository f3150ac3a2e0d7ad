"""What conversations are and who may see them: validation, views and rules. No I/O here.

Texts are stored as written (any language, right-to-left included), trimmed, bounded.
Who may read what depends on the copies this service keeps of members' groups, memberships
and blocks (``copies``), never on what the caller says.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from typing import Any

from parentnet_kit.fields import FieldError, control_characters
from parentnet_kit.fields import text as plain_text
from parentnet_kit.geo import haversine_km
from parentnet_kit.i18n import t


def text(raw: dict[str, Any], name: str, limit: int, errors: list[FieldError], required: bool) -> str:
    """``parentnet_kit.fields.text`` for what members write here (titles, texts, messages, answers,
    suggestions, contact cards), refusing control characters too (``INVALID`` on the field)."""
    value = plain_text(raw, name, limit, errors, required)
    written = raw.get(name)  # as sent: a control stripped off its ends is refused too
    refused = control_characters((name,), written) if isinstance(written, str) else None
    if refused is not None:
        errors.append(refused)
    return value


TITLE_MAX = 200
BODY_MAX = 10_000
REPLY_MAX = 5_000
QUESTION_MAX = 1_000
ANSWER_MAX = 3_000
MESSAGE_MAX = 4_000

THREAD_KINDS = ("discussion", "announcement", "suggestion")
SCOPES = ("city", "nearby")
NEARBY_RADIUS_MIN_KM, NEARBY_RADIUS_MAX_KM, NEARBY_RADIUS_DEFAULT_KM = 1.0, 5.0, 3.0
POINTS_TO = ("contact", "listing", "outing")
ABOUT = ("listing", "outing")
# Tiles of 0.1° a question within a few km is filed under (and read back from with the 8
# tiles around): at most 5 km away, a neighbour tile always holds it (0.1° of longitude is
# 7.4 km at 48°N, 5.6 km at 60°N; beyond 60° the radius is limited to what a tile covers).
TILE_DEGREES = 0.1
# What moderation may hide or remove here (``moderation.content_*`` subject types).
SUBJECT_TYPES = ("thread", "reply", "question", "answer", "message")


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def validate_thread(raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    title = text(raw, "title", TITLE_MAX, errors, required=True)
    body = text(raw, "body", BODY_MAX, errors, required=False)
    kind = raw.get("kind") or "discussion"
    if kind not in THREAD_KINDS:
        errors.append(FieldError(("kind",), t("kind must be one of {kinds}", kinds=", ".join(THREAD_KINDS)), "INVALID"))
    return {"title": title, "body": body, "kind": kind}, errors


def validate_text(raw: dict[str, Any], name: str, limit: int) -> tuple[str, list[FieldError]]:
    errors: list[FieldError] = []
    value = text(raw, name, limit, errors, required=True)
    return value, errors


def validate_question(raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    question = text(raw, "text", QUESTION_MAX, errors, required=True)
    scope = raw.get("scope") or "nearby"
    if scope not in SCOPES:
        errors.append(FieldError(("scope",), t("scope must be one of {scopes}", scopes=", ".join(SCOPES)), "INVALID"))
    radius = raw.get("radius_km")
    if radius is None:
        radius = NEARBY_RADIUS_DEFAULT_KM
    if isinstance(radius, bool) or not isinstance(radius, int | float) or not math.isfinite(radius):
        errors.append(FieldError(("radius_km",), "radius_km must be a number", "INVALID"))
        radius = NEARBY_RADIUS_DEFAULT_KM
    elif not NEARBY_RADIUS_MIN_KM <= radius <= NEARBY_RADIUS_MAX_KM:
        message = t(
            "radius_km must be between {least} and {most}", least=NEARBY_RADIUS_MIN_KM, most=NEARBY_RADIUS_MAX_KM
        )
        errors.append(FieldError(("radius_km",), message, "OUT_OF_RANGE"))
    return {"text": question, "scope": scope, "radius_km": float(radius)}, errors


def validate_pointer(raw: Any, name: str, kinds: tuple[str, ...]) -> tuple[dict[str, str] | None, list[FieldError]]:
    """``{type, id}`` naming a contact, listing or outing (the gateway decodes global IDs), or None."""
    if raw is None:
        return None, []
    if not isinstance(raw, dict) or raw.get("type") not in kinds or not isinstance(raw.get("id"), str):
        return None, [
            FieldError((name,), t("{name} must name one of: {kinds}", name=name, kinds=", ".join(kinds)), "INVALID")
        ]
    if not 0 < len(raw["id"]) <= 200:
        return None, [
            FieldError((name,), t("{name} must name one of: {kinds}", name=name, kinds=", ".join(kinds)), "INVALID")
        ]
    return {"type": raw["type"], "id": raw["id"]}, []


def validate_contact_card(raw: Any) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """A trusted contact recommended in an answer and not yet in the directory: the fields the
    listings service's ``add_contact`` takes, kept as given (listings validates them on save)."""
    if raw is None:
        return None, []
    if not isinstance(raw, dict):
        return None, [FieldError(("contact",), "contact must be an object", "INVALID")]
    errors: list[FieldError] = []
    card = {"kind": raw.get("kind") or "other", "name": text(raw, "name", 200, errors, required=True)}
    for name in ("phone", "email", "website", "address", "city", "description"):
        value = raw.get(name)
        if value is not None:
            card[name] = text(raw, name, 2_000, errors, required=False)
    if isinstance(raw.get("languages"), list):
        card["languages"] = [tag for tag in raw["languages"] if isinstance(tag, str)][:10]
    return card, [FieldError(("contact", *e.field), e.message, e.code) for e in errors]


def conversation_id(a: str, b: str, about: dict[str, str] | None) -> str:
    """The one conversation of two members (about one listing or outing, or on its own)."""
    first, second = sorted((a, b))
    subject = f"{about['type']}:{about['id']}" if about else "-"
    return "dm" + hashlib.sha256(f"{first}|{second}|{subject}".encode()).hexdigest()[:30]


def tile(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / TILE_DEGREES), math.floor(lon / TILE_DEGREES)


def tile_key(row: int, column: int) -> str:
    return f"tile:{row}:{column}"


def tiles_around(lat: float, lon: float) -> list[str]:
    row, column = tile(lat, lon)
    return [tile_key(row + dr, column + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)]


def reaches(question: dict[str, Any], viewer_city: str | None, viewer_cell: dict[str, float] | None) -> bool:
    """Whether a question is for this viewer: their city for a city question; for a nearby one,
    their cell's centre within the radius of the asker's cell's centre (cell with cell, never a
    home: both are what members let out)."""
    if question["scope"] == "city":
        return viewer_city == question["city"]
    if not viewer_cell:
        return False
    cell = question["cell"]
    return haversine_km(cell["lat"], cell["lon"], viewer_cell["lat"], viewer_cell["lon"]) <= question["radius_km"]


def thread_view(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": state["_id"],
        "group_id": state["group_id"],
        "author_id": state["author_id"],
        "kind": state["kind"],
        "title": state["title"],
        "body": state["body"],
        "pinned": bool(state.get("pinned")),
        "locked": bool(state.get("locked")),
        "answer": state.get("answer"),
        "created_at": iso(state["created_at"]),
        "version": state["version"],
    }


def reply_view(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": state["_id"],
        "thread_id": state["thread_id"],
        "group_id": state["group_id"],
        "author_id": state["author_id"],
        "text": state["text"],
        "n": state["slot"],
        "created_at": iso(state["created_at"]),
        "version": state["version"],
    }


def question_view(state: dict[str, Any]) -> dict[str, Any]:
    """No cell in the view: who may see a question is decided here and in the gateway's feed."""
    return {
        "id": state["_id"],
        "asker_id": state["asker_id"],
        "city": state["city"],
        "scope": state["scope"],
        "radius_km": state["radius_km"],
        "text": state["text"],
        "created_at": iso(state["created_at"]),
        "version": state["version"],
    }


def answer_view(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": state["_id"],
        "question_id": state["question_id"],
        "author_id": state["author_id"],
        "text": state["text"],
        "points_to": state.get("points_to"),
        "contact": state.get("contact"),
        "helpful": bool(state.get("helpful")),
        "n": state["slot"],
        "created_at": iso(state["created_at"]),
        "version": state["version"],
    }
