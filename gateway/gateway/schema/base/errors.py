"""User errors: the codes a payload's ``userErrors`` may carry, the type, and the helpers that
turn a service's errors (snake_case paths) into them; query-argument mistakes as BAD_USER_INPUT."""

from __future__ import annotations

import logging
import re
from typing import Any

import graphene

from parentnet_kit import i18n
from parentnet_kit.i18n import t

from ...errors import bad_input, header_language
from .values import camel, enum

log = logging.getLogger(__name__)

# Every code a service or the gateway puts in ``userErrors`` (tests/test_user_error_codes.py
# reads services/ and gateway/ and fails on one missing here). An unknown code from a newer
# service is sent as INVALID and logged, rather than failing the whole payload.
USER_ERROR_CODES: dict[str, str] = {
    "REQUIRED": "A required value is missing or empty.",
    "INVALID": "The value has the wrong form (not a date, not a language tag...).",
    "OUT_OF_RANGE": "A number, date or size outside what is allowed (the message says the range).",
    "TOO_LONG": "Text longer than allowed.",
    "TOO_SHORT": "Text shorter than allowed (a password, say).",
    "UNKNOWN_FIELD": "A field this operation does not take.",
    "UNKNOWN_CITY": "Not a city slug of the network (see `cities`).",
    "FAR_FROM_CITY": "A place too far from the city it is given for.",
    "IN_THE_PAST": "A time that has already passed.",
    "IN_THE_FUTURE": "A time (a child's birth month, say) that has not come yet.",
    "ENDS_BEFORE_START": "An end at or before the start.",
    "NOT_FOUND": "No such object, or not one you may see.",
    "FORBIDDEN": "You may not do this to that object.",
    "NOT_YOURS": "Only its owner or organizer can do this.",
    "NOT_MEMBER": "Only the group's members can do this.",
    "LAST_ADMIN": "A group's last admin must name another before leaving or stepping down.",
    "ALREADY_MEMBER": "You are in the group already.",
    "ALREADY_REQUESTED": "You asked to join already; an admin decides.",
    "ALREADY_JOINED": "You have a place or a waitlist spot already.",
    "ALREADY_RESERVED": "Somebody reserved it first.",
    "ALREADY_RECOMMENDED": "You recommend it already (once per member).",
    "NOT_JOINED": "You have no place to give up.",
    "NOT_AVAILABLE": "It is no longer available (reserved, completed, withdrawn or expired).",
    "NO_RESERVATION": "There is no reservation to decide on.",
    "OWN_LISTING": "You cannot reserve your own listing.",
    "OWN_SHIFT": "You cannot book your own shift.",
    "NOT_CONFIRMED": "The booking is not confirmed (cancelled already, say).",
    "NO_CHILDREN": "Name at least one child.",
    "FULL": "No places left.",
    "CLOSED": "It is closed: a shift taking no more bookings, a listing no longer active.",
    "CANCELLED": "It was cancelled.",
    "ENDED": "It is over.",
    "STARTED": "It has started: too late for this.",
    "DONE": "It is done already (a swap accepted before, say).",
    "BELOW_FLOOR": "Your credits would fall below the group's floor: host a shift first.",
    "BELOW_ATTENDANCE": "Fewer places than the families already confirmed.",
    "TAKEN": "Somebody else has it (a day of a rota, say).",
    "STALE": "Things changed since it was proposed; nothing moved.",
    "SKIPPED": "Nothing was done: it changed meanwhile (renewed by another request, say).",
    "EMAIL_TAKEN": "An account with this email exists.",
    "INVALID_CREDENTIALS": "Wrong email or password (the same code for both).",
    "INVALID_REFRESH_TOKEN": "The refresh token is unknown, used or expired: sign in again.",
    "THROTTLED": "Too many tries; retryAfterSeconds says when to try again.",
    "RATE_LIMITED": "Too many searches; the message says when to try again.",
    "HOME_LOCATION_REQUIRED": "Set your home location in your profile first.",
    "INVALID_CURSOR": "Not a cursor this list returned.",
    "TOO_LARGE": "A file larger than allowed, in bytes or in pixels (the message says the limit).",
    "NOT_AN_IMAGE": "Not a JPEG, PNG or WebP picture once decoded, or a damaged one.",
    "TOO_MANY": "More than allowed (pictures of one outing, say): remove one first.",
    "SUSPENDED": "A moderator suspended your account until a time (the message says when): no posting till then.",
}
UserErrorCode = enum(
    "UserErrorCode",
    "Why an input was refused: stable, for code to branch on (the message is for people).",
    [(code, code, doc) for code, doc in USER_ERROR_CODES.items()],
)


def error_code(code: str) -> str:
    """A service's code as a ``UserErrorCode`` value (INVALID, logged, for one it does not know)."""
    if code in USER_ERROR_CODES:
        return code
    log.warning("userErrors: unknown code %r sent as INVALID; add it to USER_ERROR_CODES", code)
    return "INVALID"


def user_errors(errors: list[dict[str, Any]], prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Domain errors (snake_case field paths) as GraphQL ``userErrors`` (camelCase paths, and
    the field a sentence names as the client knows it: "displayName must not be empty")."""
    return [_user_error(e, prefix) for e in errors]


_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def _user_error(error: dict[str, Any], prefix: tuple[str, ...]) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "field": [*prefix, *(camel(part) for seg in error["field"] for part in seg.split("."))],
        **i18n.wire(error["message"]),
        **{k: error[k] for k in ("message_id", "params", "message_plural") if k in error},
        "code": error_code(error["code"]),
    }
    name = (shaped.get("params") or {}).get("name")
    if shaped.get("message_id") and isinstance(name, str) and _SNAKE.match(name):
        # The services name a field in their own (snake_case) terms, e.g. {name: display_name}.
        shaped["params"] = {**shaped["params"], "name": camel(name)}
        shaped["message"] = i18n.render(shaped, i18n.DEFAULT)
    return shaped


class UserError(graphene.ObjectType):
    """A problem with the input that the user can fix."""

    field = graphene.List(
        graphene.NonNull(graphene.String), description="Path to the input field at fault, e.g. [input, title]."
    )
    message = graphene.String(
        required=True,
        description=(
            "A sentence to show the user, in the caller's language: Accept-Language (over a websocket, "
            "the connection_init payload's, else the handshake's), else English."
        ),
    )
    code = graphene.Field(UserErrorCode, required=True, description="Stable machine-readable code.")

    @staticmethod
    def resolve_message(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        if not root.get("message_id") and not isinstance(root.get("message"), i18n.Message):
            return str(root["message"])
        language = header_language(info)
        return i18n.render(root if root.get("message_id") else root["message"], language)


def user_errors_field() -> graphene.List:
    """A payload's ``userErrors``."""
    return graphene.List(
        graphene.NonNull(UserError),
        required=True,
        description="What was wrong with the input, each naming its field; empty when it worked.",
    )


def refused(field: str, message: str, code: str = "NOT_FOUND") -> list[dict[str, Any]]:
    """One user error on ``input.<field>`` (a camelCase name), e.g. an ID that names nothing."""
    return [{"field": ["input", field], "message": message, "code": code}]


def not_found(field: str, what: str) -> list[dict[str, Any]]:
    """``refused(field, "No such <what>.")``."""
    return refused(field, t("No such {what}.", what=what))


def argument_errors(info: graphene.ResolveInfo, errors: list[dict[str, Any]]) -> None:
    """Raise a service's argument errors (snake_case paths) as one BAD_USER_INPUT, naming the first."""
    if errors:
        first = errors[0]
        field = ".".join(camel(part) for seg in first["field"] for part in seg.split("."))
        raise bad_input(info, field, i18n.render(first, header_language(info)))
