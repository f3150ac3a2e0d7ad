"""How values cross between the services' JSON and the schema's scalars: one rule per scalar,
whichever module declares the field.

Services send times as ISO 8601 strings (``"2030-06-01T08:00:00+00:00"``, ``...Z``) and the
gateway's resolvers sometimes as ``datetime``; graphene's ``DateTime`` only serializes
``datetime`` objects and answered ``INTERNAL_SERVER_ERROR`` for a string (every
``accessTokenExpiresAt``). ``install`` puts these functions on the built schema's ``DateTime``,
so a field declared with ``graphene.DateTime()`` anywhere gets them.

Input: ``DateTime`` reads ISO 8601 with or without an offset (``2030-06-01T16:00``,
``2030-06-01T16:00+02:00``, ``...Z``). A time without an offset stays naive here: it is read in
the time zone of the city it concerns, by the resolver that knows the city (``local_to_utc``).
A malformed value is a client's mistake (``BAD_USER_INPUT`` naming the argument or variable).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from graphql import GraphQLError, GraphQLSchema, StringValueNode, ValueNode

from parentnet_kit.geo import haversine_km

from . import open_cities

DATETIME_HINT = "an ISO 8601 date and time, e.g. 2030-06-01T16:00 (in the city's time zone) or 2030-06-01T16:00+02:00"


def serialize_datetime(value: Any) -> str:
    """A service's or resolver's time as ISO 8601 with its offset; a naive time is UTC (how
    the services store them). Raises TypeError for anything else: a server fault."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"DateTime cannot serialize a {type(value).__name__}")


def parse_datetime(value: Any) -> datetime:
    """A client's ISO 8601 time (naive when it has no offset). GraphQLError when malformed."""
    if not isinstance(value, str):
        raise GraphQLError(f"DateTime must be a string: {DATETIME_HINT}.")
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise GraphQLError(f"DateTime must be {DATETIME_HINT}; got {value[:40]!r}.") from None


def parse_datetime_literal(node: ValueNode, _variables: Any = None) -> datetime:
    if not isinstance(node, StringValueNode):
        raise GraphQLError(f"DateTime must be a string: {DATETIME_HINT}.", node)
    return parse_datetime(node.value)


def local_to_utc(value: datetime, time_zone: str) -> datetime:
    """The one rule for time inputs: a time with an offset is that instant; one without is read
    in ``time_zone`` (the city's IANA zone). Returns an aware UTC datetime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(time_zone))
    return value.astimezone(UTC)


async def time_zone_near(lat: float, lon: float) -> str:
    """The IANA time zone of the open city nearest a point (how a search's times without an
    offset are read: the city the searcher is in); UTC while no city is known."""
    known = (await open_cities.DIRECTORY.all()).values()
    if not known:
        return "UTC"
    return min(known, key=lambda city: haversine_km(lat, lon, city.lat, city.lon)).time_zone


DESCRIPTION = (
    "A date and time in ISO 8601. Answers always carry an offset: an outing's, shift's or trip's "
    "times the offset of its city's time zone, other times UTC. Inputs may carry one "
    "(2030-06-01T16:00+02:00, or Z); a time without an offset (2030-06-01T16:00) is read in the "
    "time zone of the city it concerns: the outing's city when creating or editing one, and for "
    "the startsAfter/startsBefore filters of a search near a point, the network's city nearest "
    "that point."
)


def install(schema: GraphQLSchema) -> GraphQLSchema:
    """Give the schema's ``DateTime`` the rules above; returns the schema."""
    scalar = schema.type_map.get("DateTime")
    if scalar is not None:
        scalar.description = DESCRIPTION
        scalar.serialize = serialize_datetime  # type: ignore[attr-defined]
        scalar.parse_value = parse_datetime  # type: ignore[attr-defined]
        scalar.parse_literal = parse_datetime_literal  # type: ignore[attr-defined]
    return schema
