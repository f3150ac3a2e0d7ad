"""Small value helpers every part of the schema uses: enums with described values, times, names."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import graphene
from graphene.utils.module_loading import import_string


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


def enum_value(value: Any) -> Any:
    """graphene hands enum inputs over as enum members; the services speak values."""
    return getattr(value, "value", value)


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time from a service (``...Z``) as an aware datetime, for ``DateTime`` fields."""
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def local_time(iso_utc: str, zone: str) -> datetime:
    """A service's UTC time (``...Z``) in the IANA time zone ``zone``."""
    return datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))


def typed(type_name: str, view: dict[str, Any] | None, **extra: Any) -> dict[str, Any] | None:
    """A service's view tagged with its GraphQL type (``__typename``, which ``Node`` resolves by);
    None stays None."""
    return None if view is None else {**view, **extra, "__typename": type_name}


def resolver_at(path: str) -> Any:
    """A resolver named by its import path (``"gateway.schema.coop.resolve_coop_shifts"``),
    imported on first call: how a type lists a field another context answers (a group's co-op
    shifts) without importing that context, as ``graphene.Field("module.Type")`` names a type."""
    resolve: Any = None

    def call(root: Any, info: graphene.ResolveInfo, **arguments: Any) -> Any:
        nonlocal resolve
        if resolve is None:
            resolve = import_string(path)
        return resolve(root, info, **arguments)

    return call


# The deprecation reason of a String field replaced by an enum field of the same values.
ENUM_INSTEAD = "Use {new}, an enum of the same values in upper case. Deprecated 2026-11-30."


def time_resolver(key: str) -> Any:
    """A ``DateTime`` field's resolver: the view's ISO time at ``key`` (null when absent)."""

    def resolve(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime | None:
        return parse_time(root.get(key))

    return staticmethod(resolve)


def key_resolver(key: str) -> Any:
    """A field's resolver reading the view's ``key`` (a field named otherwise than the service's)."""

    def resolve(root: dict[str, Any], info: graphene.ResolveInfo) -> Any:
        return root[key]

    return staticmethod(resolve)
