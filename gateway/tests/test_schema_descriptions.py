"""Every type, field, argument, input field and enum value of the API says what it is: the
explorer's Docs and generated client types are all a front-end team reads."""

from __future__ import annotations

import re
from typing import Any

from graphql import get_introspection_query, graphql_sync

from gateway.schema.assemble import schema

# What graphene writes when an enum has no description of its own.
PLACEHOLDERS = {"", "An enumeration."}


def introspected() -> list[dict[str, Any]]:
    result = graphql_sync(
        schema.graphql_schema, get_introspection_query(descriptions=True, input_value_deprecation=True)
    )
    assert result.errors is None, result.errors
    return [t for t in result.data["__schema"]["types"] if not t["name"].startswith("__")]


def undescribed() -> list[str]:
    missing: list[str] = []

    def check(name: str, description: str | None) -> None:
        if (description or "").strip() in PLACEHOLDERS:
            missing.append(name)

    for t in introspected():
        if t["kind"] == "SCALAR" and t["name"] in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        check(t["name"], t["description"])
        for field in t["fields"] or []:
            check(f"{t['name']}.{field['name']}", field["description"])
            for arg in field["args"]:
                check(f"{t['name']}.{field['name']}({arg['name']})", arg["description"])
        for field in t["inputFields"] or []:
            check(f"{t['name']}.{field['name']}", field["description"])
        for value in t["enumValues"] or []:
            check(f"{t['name']}.{value['name']}", value["description"])
    return missing


def test_every_type_field_argument_and_enum_value_is_described():
    missing = undescribed()
    assert missing == [], f"{len(missing)} parts of the schema have no description: {missing}"


def test_every_deprecation_gives_a_reason_and_a_date():
    """A reason (what to use instead), then the date, as GitHub's and Shopify's APIs do."""
    for t in introspected():
        for field in t["fields"] or []:
            if field["isDeprecated"]:
                reason = field["deprecationReason"] or ""
                assert re.search(r"\. Deprecated \d{4}-\d{2}-\d{2}\.$", reason), (t["name"], field["name"], reason)
