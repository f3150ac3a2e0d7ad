"""Members' pure rules: cells, validation, and what each view lets out."""

from __future__ import annotations

from datetime import UTC, datetime

from members import cells, domain
from parentnet_kit.geo import haversine_km

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_a_home_always_maps_to_the_same_cell_of_about_one_km():
    home = cells.cell_for(48.8510, 2.3470)
    assert cells.cell_for(48.8510, 2.3470) == home
    # The centre is within the cell: never more than ~0.8 km (half a diagonal) from the home.
    assert haversine_km(48.8510, 2.3470, home.lat, home.lon) < 0.8
    north = cells.cell_for(48.8510 + cells.ROW_DEGREES, 2.3470)
    east = cells.cell_for(48.8510, 2.3470 + cells.ROW_DEGREES / 0.657)
    assert 0.9 < haversine_km(home.lat, home.lon, north.lat, north.lon) < 1.1
    assert 0.9 < haversine_km(home.lat, home.lon, east.lat, east.lon) < 1.1


def test_protected_members_are_placed_at_their_city_centre():
    cell = cells.member_cell({"lat": 48.87, "lon": 2.30}, "paris", protected=True)
    assert (cell.id, cell.lat, cell.lon) == ("city:paris", 48.8566, 2.3522)


def test_bands_are_coarse_and_end_at_ten_km():
    origin = {"lat": 48.85, "lon": 2.35}
    assert cells.band(origin, {"lat": 48.855, "lon": 2.35}) == "UNDER_1_KM"
    assert cells.band(origin, {"lat": 48.87, "lon": 2.35}) == "FROM_1_TO_3_KM"
    assert cells.band(origin, {"lat": 48.90, "lon": 2.35}) == "FROM_3_TO_10_KM"
    assert cells.band(origin, {"lat": 49.00, "lon": 2.35}) is None


def test_registration_errors_name_each_field():
    _, errors = domain.validate_registration({"email": "not-an-email", "password": "short", "city": "atlantis"})
    assert {(e.field, e.code) for e in errors} == {
        (("email",), "INVALID"),
        (("password",), "TOO_SHORT"),
        (("display_name",), "REQUIRED"),
        (("city",), "UNKNOWN_CITY"),
    }


def test_profile_patch_checks_children_and_home():
    current = {"city": "paris", "home": None}
    raw = {
        "children": [{"birth_year": 2027, "birth_month": 1}, {"birth_year": 2021, "birth_month": 13}],
        "home_location": {"lat": 45.9, "lon": 6.13},
        "languages": ["fr", "not a tag"],
    }
    _, errors = domain.validate_profile_patch(raw, current, NOW)
    assert {(e.field, e.code) for e in errors} == {
        (("children", "0", "birth_year"), "IN_THE_FUTURE"),
        (("children", "1", "birth_month"), "OUT_OF_RANGE"),
        (("home_location",), "FAR_FROM_CITY"),
        (("languages", "1"), "INVALID"),
    }


def test_views_for_others_hold_no_contact_or_location():
    clean = {"email": "a@example.org", "password": "x" * 12, "display_name": "Awa", "city": "paris"}
    state = domain.new_member_state(clean, "hash", NOW)
    state.update(home={"lat": 48.85, "lon": 2.35}, children=[{"birth_year": 2024, "birth_month": 11}])
    state = domain.with_cell(state)
    public = domain.public_view(state, NOW)
    assert set(public) == {"id", "display_name", "city", "languages", "children", "interests"}
    assert public["children"] == [{"age_months": 24}]
    event = domain.event_view(state)
    assert "email" not in event and "home" not in event and "cell" not in event
    assert "home" not in domain.private_view(state, NOW)
