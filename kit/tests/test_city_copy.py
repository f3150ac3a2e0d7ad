"""A service's copy of the open cities, on the real store: founding cities, repeats, versions, restarts."""

from __future__ import annotations

import dataclasses

from parentnet_kit import cities
from parentnet_kit.city_copy import CityCopy, apply_event

VALPARAISO = cities.City(
    "valparaiso", "Valparaíso", "CL", "America/Santiago", ("es",), -33.036, -71.62963, geonames_id=3868626
)


def test_the_copy_starts_with_the_founding_cities_and_applies_each_version_once(db):
    cities.forget_all()
    try:
        copy = CityCopy(db)
        copy.migrate()
        assert "paris" in cities.CITIES and cities.get("valparaiso") is None
        assert apply_event(copy, "city_opened", VALPARAISO.to_dict()) is True
        assert apply_event(copy, "city_opened", VALPARAISO.to_dict()) is False  # a repeat changes nothing
        assert apply_event(copy, "member_updated", {}) is False
        newer = dataclasses.replace(VALPARAISO, languages=("es", "en"), version=2)
        assert apply_event(copy, "city_opened", newer.to_dict()) is True
        assert apply_event(copy, "city_opened", VALPARAISO.to_dict()) is False  # late and old
        assert cities.get("valparaiso") == newer

        # Another process (or this one after a restart) reads the same: the highest versions.
        cities.forget_all()
        other = CityCopy(db)
        assert other.refresh_if_changed() is True
        assert cities.get("valparaiso") == newer and "paris" in cities.CITIES
        assert other.refresh_if_changed() is False  # nothing new: one lookup by _id, no reload
        CityCopy(db).migrate()  # a restart migrates again: nothing changes
        assert db["cities"].count_documents({}) == len(cities.founding()) + 2
    finally:
        cities.forget_all()
