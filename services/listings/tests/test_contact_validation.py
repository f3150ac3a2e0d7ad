"""A trusted contact's fields, validated by pydantic (``listings.domain.ContactInput``), answer as
the hand-written checks did: one error per field, named, with our code and a marked sentence."""

from __future__ import annotations

import pytest

from listings.domain import validate_contact
from parentnet_kit import cities

GOOD = {"kind": "paediatrician", "name": "  Dr Martin ", "phone": "+33 1 23 45 67 89", "city": "paris"}


@pytest.fixture(autouse=True)
def founding_cities():
    cities.remember(cities.founding())


def errors(raw: dict) -> list[tuple[tuple[str, ...], str, str]]:
    return [(e.field, e.code, e.to_dict()["message_id"]) for e in validate_contact(raw)[1]]


def test_a_good_contact_is_trimmed_and_completed():
    clean, problems = validate_contact({**GOOD, "languages": ["fr", "ar", "fr"], "unknown": 1})
    assert problems == []
    assert clean == {
        "kind": "paediatrician",
        "name": "Dr Martin",
        "description": "",
        "phone": "+33 1 23 45 67 89",
        "email": None,
        "website": None,
        "address": None,
        "location": None,
        "city": "paris",
        "languages": ["fr", "ar"],
        "group_id": None,
    }


def test_each_field_names_its_problem_in_the_fields_order():
    raw = {
        "kind": "wizard",
        "name": "   ",
        "phone": "call me",
        "email": "nowhere",
        "website": "ftp://files",
        "location": {"lat": 91, "lon": True},
        "city": "atlantis",
        "languages": ["fr", "not a tag"],
    }
    assert errors(raw) == [
        (("kind",), "INVALID", "{name} must be one of {value}"),
        (("name",), "REQUIRED", "{name} must not be empty"),
        (("phone",), "INVALID", "phone must be a phone number such as +33 1 23 45 67 89"),
        (("email",), "INVALID", "email is not an email address"),
        (("website",), "INVALID", "website must be an http(s) URL"),
        (("location", "lat"), "OUT_OF_RANGE", "{axis} must be between -{bound} and {bound}"),
        (("location", "lon"), "OUT_OF_RANGE", "{axis} must be between -{bound} and {bound}"),
        (("city",), "UNKNOWN_CITY", "city is not one of the network's cities"),
        (("languages",), "INVALID", "languages must be language tags such as fr, ar"),
    ]


def test_wrong_types_are_refused_by_name_not_crashed_on():
    # A city sent as an object used to raise TypeError (unhashable) inside the service.
    raw = {**GOOD, "name": 3, "city": {"slug": "paris"}, "location": "here", "group_id": True, "languages": "fr"}
    assert errors(raw) == [
        (("name",), "INVALID", "{name} must be text"),
        (("location",), "REQUIRED", "{name} must have lat and lon"),
        (("city",), "UNKNOWN_CITY", "city is not one of the network's cities"),
        (("languages",), "INVALID", "languages must be language tags such as fr, ar"),
        (("group_id",), "INVALID", "{name} must be text"),
    ]


def test_too_long_is_said_once_with_the_limit_and_a_contact_needs_a_way_to_reach_them():
    [problem] = validate_contact({**GOOD, "phone": "1" * 41})[1]
    assert (problem.field, problem.code, problem.to_dict()["params"]) == (
        ("phone",),
        "TOO_LONG",
        {"name": "phone", "limit": 40},
    )
    assert errors({k: v for k, v in GOOD.items() if k != "phone"}) == [
        (("phone",), "REQUIRED", "give at least one way to reach them")
    ]
