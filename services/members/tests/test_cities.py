"""Opening cities: who may, what is checked before anything is written, slugs, versions."""

from __future__ import annotations

from members import admins, gazetteer
from members.city_directory import CityDirectory, slug_for
from parentnet_kit import cities

VALPARAISO = 3868626
VALPARAISO_BR = 3445575  # Valparaíso, São Paulo state: another place of the same name


def directory(db) -> CityDirectory:
    found = CityDirectory(db, None)
    found.migrate()
    db["members"].insert_many([{"_id": "ops", "email": "ops@example.org"}, {"_id": "parent", "email": "p@x.org"}])
    db["emails"].insert_many(
        [{"_id": "ops@example.org", "member_id": "ops"}, {"_id": "p@x.org", "member_id": "parent"}]
    )
    assert admins.grant(db, "Ops@Example.org") == "ops"  # as ops name the first one
    return found


def codes(result) -> list[tuple[tuple, str]]:
    return [(tuple(e["field"]), e["code"]) for e in result["errors"]]


def test_the_gazetteer_finds_places_by_any_name_accents_ignored():
    found = gazetteer.search("valparaiso", "CL")
    assert found[0].geonames_id == VALPARAISO and found[0].time_zone == "America/Santiago"
    assert gazetteer.search("瓦尔帕莱索", "CL")[0].geonames_id == VALPARAISO
    assert [p.country for p in gazetteer.search("Valparaíso")][:2] == ["CL", "BR"]  # most populous first
    assert slug_for("Cần Thơ") == "can-tho" and slug_for("Valparaíso") == "valparaiso"


def test_the_founding_cities_are_open_after_the_first_migration(db):
    cities.forget_all()
    try:
        found = directory(db)
        assert {c["slug"] for c in found.open_cities()} == {c.slug for c in cities.founding()}
        found.migrate()  # again: nothing new
        assert db["open_cities_outbox"].count_documents({}) == len(cities.founding())
    finally:
        cities.remember(cities.founding())


def test_only_a_network_admin_opens_a_city_and_nobody_names_themselves(db):
    found = directory(db)
    assert admins.grant(db, "nobody@x.org") is None  # no account: nothing granted
    assert found.is_network_admin("ops") and not found.is_network_admin("parent")
    refused = found.open_city("parent", {"geonames_id": VALPARAISO, "languages": ["es"]})
    assert codes(refused) == [((), "FORBIDDEN")]
    assert codes(found.grant_network_admin("parent", "parent")) == [((), "FORBIDDEN")]
    assert found.grant_network_admin("ops", "parent") == {"errors": []}
    assert found.is_network_admin("parent")


def test_bad_input_names_each_field_and_writes_nothing(db):
    found = directory(db)
    before = db["open_cities"].count_documents({})
    result = found.open_city(
        "ops",
        {"geonames_id": 1, "languages": ["es", "not a tag"], "names": {"es": ""}, "slug": "Bad Slug", "radius_km": 500},
    )
    assert codes(result) == [
        (("geonames_id",), "NOT_FOUND"),
        (("languages", "1"), "INVALID"),
        (("names", "es"), "INVALID"),
        (("slug",), "INVALID"),
        (("radius_km",), "OUT_OF_RANGE"),
    ]
    assert codes(found.open_city("ops", {"geonames_id": VALPARAISO, "languages": []})) == [(("languages",), "INVALID")]
    assert db["open_cities"].count_documents({}) == before


def test_opening_twice_changes_nothing_and_a_change_is_a_new_version(db):
    found = directory(db)
    fields = {"geonames_id": VALPARAISO, "languages": ["es", "en"], "names": {"en": "Valparaiso"}}
    city = found.open_city("ops", fields)["city"]
    assert (city["slug"], city["name"], city["time_zone"], city["currency"]) == (
        "valparaiso",
        "Valparaíso",
        "America/Santiago",
        "CLP",
    )
    assert city["names"] == {"es": "Valparaíso", "en": "Valparaiso"} and city["version"] == 1
    assert found.open_city("ops", fields)["city"] == city  # a retry: the same city, no new version
    changed = found.open_city("ops", {**fields, "radius_km": 20})["city"]
    assert (changed["slug"], changed["version"], changed["radius_km"]) == ("valparaiso", 2, 20.0)
    assert cities.get("valparaiso").version == 2  # this process knows it at once

    # Another place of the same name gets the next free slug; a slug of another city is refused.
    brazil = found.open_city("ops", {"geonames_id": VALPARAISO_BR, "languages": ["pt"]})["city"]
    assert brazil["slug"] == "valparaiso-br" and brazil["time_zone"] == "America/Sao_Paulo"
    taken = found.open_city("ops", {"geonames_id": 3871336, "languages": ["es"], "slug": "valparaiso"})
    assert codes(taken) == [(("slug",), "TAKEN")]


def test_display_names_that_would_disguise_or_break_text_are_refused_by_field(db):
    found = directory(db)
    hostile = {
        "es": "<img src=x onerror=alert(1)>",
        "en": "Valpara\u202eosi",
        "fr": "Val\u200bparaíso",
        "de": "Valpa\x00raíso\n",
    }
    result = found.open_city(
        "ops", {"geonames_id": VALPARAISO, "languages": ["es", "en", "fr", "de"], "names": hostile}
    )
    assert sorted(codes(result)) == sorted((("names", tag), "INVALID") for tag in hostile)
    assert db["open_cities"].find_one({"_id": "valparaiso"}) is None
    # A name for a language the city does not list is refused; joiners that scripts need are kept.
    result = found.open_city("ops", {"geonames_id": VALPARAISO, "languages": ["es"], "names": {"fr": "Valparaíso"}})
    assert codes(result) == [(("names", "fr"), "INVALID")]
    kept = found.open_city(
        "ops", {"geonames_id": VALPARAISO, "languages": ["es", "bn"], "names": {"bn": "ভ্যালপারাইসো\u200c"}}
    )
    assert kept["errors"] == []
