"""Types and helpers every part of the schema shares: errors, Node, geo, cities, pages."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import graphene
from graphql import GraphQLError

from parentnet_kit import i18n
from parentnet_kit.cities import City as CityData
from parentnet_kit.i18n import t

from .. import ids, open_cities
from ..errors import Unauthenticated
from ..ids import from_global_id
from ..limits import PAGE_DEFAULT, PAGE_MAX, PAGE_MIN

log = logging.getLogger(__name__)

# Each module registers the types ``node(id:)`` can return, by GraphQL type name, and how
# to load one for the viewer (None when it does not exist or the viewer may not see it).
NODE_TYPES: dict[str, type] = {}
NODE_LOADERS: dict[str, Callable[[graphene.ResolveInfo, str], Awaitable[dict[str, Any] | None]]] = {}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def enum(name: str, description: str, values: Sequence[tuple[str, Any, str]]) -> type[graphene.Enum]:
    """A GraphQL enum whose every value has a description: ``values`` are (NAME, the value the
    services speak, description)."""
    docs = {value: doc for _, value, doc in values}

    def describe(member: Any) -> str:
        return description if member is None else docs[member.value]

    return graphene.Enum(name, [(n, v) for n, v, _ in values], description=describe)


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
    """Domain errors (snake_case field paths) as GraphQL ``userErrors`` (camelCase paths)."""
    return [
        {
            "field": [*prefix, *(camel(part) for seg in e["field"] for part in seg.split("."))],
            **i18n.wire(e["message"]),
            **{k: e[k] for k in ("message_id", "params", "message_plural") if k in e},
            "code": error_code(e["code"]),
        }
        for e in errors
    ]


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
        language = _header_language(info)
        return i18n.render(root if root.get("message_id") else root["message"], language)


def user_errors_field() -> graphene.List:
    """A payload's ``userErrors``."""
    return graphene.List(
        graphene.NonNull(UserError),
        required=True,
        description="What was wrong with the input, each naming its field; empty when it worked.",
    )


class Node(graphene.Interface):
    """An object with an opaque global ID, fetchable with ``node(id:)``."""

    id = graphene.ID(required=True, description="Opaque global ID: pass it back as it is, never parse it.")

    @classmethod
    def resolve_type(cls, instance: dict[str, Any], info: graphene.ResolveInfo) -> type:
        return NODE_TYPES[instance["__typename"]]


class GeoPoint(graphene.ObjectType):
    """A point on the map (WGS 84)."""

    lat = graphene.Float(required=True, description="Latitude in degrees, -90 to 90.")
    lon = graphene.Float(required=True, description="Longitude in degrees, -180 to 180.")


class GeoPointInput(graphene.InputObjectType):
    """A point on the map (WGS 84), in degrees."""

    lat = graphene.Float(required=True, description="Latitude, -90 to 90.")
    lon = graphene.Float(required=True, description="Longitude, -180 to 180.")


class CityName(graphene.ObjectType):
    """A city's display name in one language."""

    language = graphene.String(required=True, description="Language tag, e.g. es.")
    name = graphene.String(required=True, description="The name shown to people reading that language.")


def accepted_languages(info: graphene.ResolveInfo) -> list[str]:
    """The caller's Accept-Language tags, most preferred first (over a websocket, the ones its
    connection_init payload or handshake sent)."""
    return i18n.accept_language(getattr(info.context, "accept_language", None))


class City(graphene.ObjectType):
    """An open city of the network, with the time zone its local times are given in."""

    class Meta:
        interfaces = (Node,)

    slug = graphene.String(required=True, description="Stable key, e.g. paris: what `city` arguments take.")
    name = graphene.String(
        required=True,
        language=graphene.String(
            description="A language tag; when absent, the request's Accept-Language, then the city's own language."
        ),
        description="The city's name in the viewer's language when the city has one, else in its own language.",
    )
    names = graphene.List(
        graphene.NonNull(CityName), required=True, description="The city's display name in each of its languages."
    )
    country = graphene.String(required=True, description="ISO 3166-1 alpha-2 code.")
    time_zone = graphene.String(required=True, description="IANA time zone, e.g. Europe/Paris.")
    languages = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Language tags spoken there, most common first; the first is the default for new text.",
    )
    center = graphene.Field(GeoPoint, required=True, description="Where to centre a map of the city.")
    radius_km = graphene.Float(
        required=True,
        description="The city's area: what lies within this many km of its centre belongs to it (km).",
    )
    currency = graphene.String(description="ISO 4217 code of prices given there without one, e.g. CLP.")
    geonames_id = graphene.Int(description="The GeoNames id of the place it was opened from.")

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("City", root["slug"])

    @staticmethod
    def resolve_name(root: dict[str, Any], info: graphene.ResolveInfo, language: str | None = None) -> str:
        wanted = [language] if language else accepted_languages(info)
        return CityData.from_dict(root).name_in(wanted)

    @staticmethod
    def resolve_names(root: dict[str, Any], info: graphene.ResolveInfo) -> list[dict[str, str]]:
        names = root.get("names") or {}
        return [{"language": tag, "name": name} for tag, name in names.items()]

    @staticmethod
    def resolve_center(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, float]:
        return {"lat": root["lat"], "lon": root["lon"]}


class PageInfo(graphene.ObjectType):
    """Where a page sits in its list (Relay)."""

    has_next_page = graphene.Boolean(required=True, description="More items follow: ask with after: endCursor.")
    has_previous_page = graphene.Boolean(
        required=True, description="Items come before this page (it was asked with after, or before a later one)."
    )
    start_cursor = graphene.String(description="The first edge's cursor; null for an empty page.")
    end_cursor = graphene.String(description="The last edge's cursor, for the next page's after; null when empty.")


def page_info(
    edges: list[dict[str, Any]], has_next_page: bool, after: str | None, has_previous_page: bool | None = None
) -> dict[str, Any]:
    return {
        "has_next_page": has_next_page,
        "has_previous_page": after is not None if has_previous_page is None else has_previous_page,
        "start_cursor": edges[0]["cursor"] if edges else None,
        "end_cursor": edges[-1]["cursor"] if edges else None,
    }


def connection(
    edges: list[dict[str, Any]],
    has_next_page: bool,
    after: str | None,
    total: int,
    has_previous_page: bool | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A Relay connection: edges, nodes, pageInfo and totalCount, plus the type's own fields."""
    return {
        "edges": edges,
        "nodes": [e["node"] for e in edges],
        "page_info": page_info(edges, has_next_page, after, has_previous_page),
        "total_count": total,
        **extra,
    }


CURSOR_DOC = "Where this item is in the list: pass it as after (or before) to page on. Opaque."


def edge_type(name: str, node: Any, what: str, **fields: Any) -> type[graphene.ObjectType]:
    """A Relay edge type: ``cursor``, ``node`` (described as ``what``) and the edge's own fields."""
    return type(
        name,
        (graphene.ObjectType,),
        {
            "__doc__": f"One item of a list of {what}, with its cursor.",
            "cursor": graphene.String(required=True, description=CURSOR_DOC),
            "node": graphene.Field(node, required=True, description="The item."),
            **fields,
        },
    )


def connection_type(name: str, edge: Any, node: Any, what: str, **fields: Any) -> type[graphene.ObjectType]:
    """A Relay connection type: ``edges``, ``nodes``, ``pageInfo``, ``totalCount`` and its own fields."""
    return type(
        name,
        (graphene.ObjectType,),
        {
            "__doc__": f"A page of {what}.",
            "edges": graphene.List(
                graphene.NonNull(edge), required=True, description="The page's items with their cursors."
            ),
            "nodes": graphene.List(
                graphene.NonNull(node), required=True, description="The page's items, when cursors are not needed."
            ),
            "page_info": graphene.Field(PageInfo, required=True, description="How to ask for the next page."),
            "total_count": graphene.Int(required=True, description="Items in the whole list, all pages together."),
            **fields,
        },
    )


def deprecated_user_errors() -> graphene.List:
    """The page-level ``userErrors`` that argument mistakes used to travel in."""
    return graphene.List(
        graphene.NonNull(UserError),
        required=True,
        description="Always empty.",
        deprecation_reason=(
            "Argument mistakes are top-level errors with extensions.code BAD_USER_INPUT and extensions.field "
            "naming the argument, like every other query's. Always empty. Deprecated 2026-11-30."
        ),
    )


def first_argument(default: int = PAGE_DEFAULT, most: int = PAGE_MAX) -> graphene.Argument:
    return graphene.Argument(
        graphene.Int,
        default_value=default,
        description=f"Page size, {PAGE_MIN} to {most} ({default} when left out); null or a number outside is "
        "BAD_USER_INPUT.",
    )


def after_argument() -> graphene.Argument:
    return graphene.Argument(
        graphene.String,
        description=(
            "endCursor of the previous page, from the same query with the same arguments (apart from first); "
            "any other cursor is BAD_USER_INPUT."
        ),
    )


def check_first(info: graphene.ResolveInfo, first: int | None, most: int = PAGE_MAX, name: str = "first") -> int:
    """A page size from 1 to ``most``; BAD_USER_INPUT naming ``name`` otherwise, explicit null included
    (the limits check a literal null as the default's cost, then it reaches here)."""
    if first is None or not PAGE_MIN <= first <= most:
        raise bad_input(
            info, name, t("{name} must be between {page_min} and {most}.", name=name, page_min=PAGE_MIN, most=most)
        )
    return first


def _header_language(info: Any) -> str:
    """The caller's language (``Context.caller_language``: Accept-Language, else English)."""
    return i18n.negotiate(i18n.accept_language(getattr(getattr(info, "context", None), "accept_language", None)))


def bad_input(info: graphene.ResolveInfo, field: str, message: str) -> GraphQLError:
    """A query-argument mistake: a top-level error at this field's path, with
    ``extensions = {code: BAD_USER_INPUT, field: <argument path, e.g. near.lat>}``. A marked
    ``message`` (``i18n.t``) is written in the caller's Accept-Language."""
    language = _header_language(info)
    return GraphQLError(
        i18n.render(message, language) if isinstance(message, i18n.Message) else message,
        nodes=info.field_nodes,
        path=info.path.as_list(),
        extensions={"code": "BAD_USER_INPUT", "field": field},
    )


def argument_errors(info: graphene.ResolveInfo, errors: list[dict[str, Any]]) -> None:
    """Raise a service's argument errors (snake_case paths) as one BAD_USER_INPUT, naming the first."""
    if errors:
        first = errors[0]
        field = ".".join(camel(part) for seg in first["field"] for part in seg.split("."))
        raise bad_input(info, field, i18n.render(first, _header_language(info)))


def check_point(info: graphene.ResolveInfo, point: Any, name: str = "near") -> dict[str, float]:
    """A GeoPointInput as {lat, lon}; BAD_USER_INPUT naming ``<name>.lat``/``.lon`` outside the globe."""
    if not (math.isfinite(point.lat) and -90 <= point.lat <= 90):
        raise bad_input(info, f"{name}.lat", t("{name}.lat must be between -90 and 90.", name=name))
    if not (math.isfinite(point.lon) and -180 <= point.lon <= 180):
        raise bad_input(info, f"{name}.lon", t("{name}.lon must be between -180 and 180.", name=name))
    return {"lat": point.lat, "lon": point.lon}


RADIUS_MAX_KM = 100.0


def check_radius(info: graphene.ResolveInfo, radius_km: float, name: str = "radiusKm") -> float:
    if not (math.isfinite(radius_km) and 0 < radius_km <= RADIUS_MAX_KM):
        raise bad_input(
            info,
            name,
            t("{name} must be more than 0 and at most {radius_max_km}.", name=name, radius_max_km=RADIUS_MAX_KM),
        )
    return radius_km


async def resolve_city(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
    """The ``city`` field of anything that carries a city slug (from the gateway's cached copy)."""
    city = await open_cities.DIRECTORY.get(root["city"])
    return city.to_dict() if city else None


async def load_city(info: graphene.ResolveInfo, slug: str) -> dict[str, Any] | None:
    city = await open_cities.DIRECTORY.get(slug)
    return {**city.to_dict(), "__typename": "City"} if city else None


NODE_TYPES["City"] = City
NODE_LOADERS["City"] = load_city


def viewer_id(info: graphene.ResolveInfo) -> str | None:
    return info.context.viewer_id


def require_viewer(info: graphene.ResolveInfo) -> str:
    """The signed-in member's id, or a top-level UNAUTHENTICATED error."""
    member_id = info.context.viewer_id
    if member_id is None:
        raise Unauthenticated("Sign in to do this.")
    return member_id


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time from a service (``...Z``) as an aware datetime, for ``DateTime`` fields."""
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


NODES_MAX = PAGE_MAX


async def load_node(info: graphene.ResolveInfo, global_id: str) -> dict[str, Any] | None:
    """The object a global ID names, if the viewer may see it; None otherwise (never an error)."""
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] not in NODE_LOADERS:
        return None
    return await NODE_LOADERS[decoded[0]](info, decoded[1])


class NodeQueries(graphene.ObjectType):
    nodes = graphene.Field(
        graphene.List(Node),
        required=True,
        ids=graphene.Argument(
            graphene.List(graphene.NonNull(graphene.ID)),
            required=True,
            description=f"Global IDs, at most {NODES_MAX}; more is BAD_USER_INPUT.",
        ),
        description=(
            "Several objects by their global IDs, in the same order: null where an ID names nothing you may see. "
            "Objects of one type are loaded in one call."
        ),
    )

    @staticmethod
    async def resolve_nodes(root: None, info: graphene.ResolveInfo, ids: list[str]) -> list[dict[str, Any] | None]:
        if len(ids) > NODES_MAX:
            raise bad_input(info, "ids", t("ids takes at most {nodes_max} IDs.", nodes_max=NODES_MAX))
        return list(await asyncio.gather(*(load_node(info, global_id) for global_id in ids)))
