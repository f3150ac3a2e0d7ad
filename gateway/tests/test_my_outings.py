"""The home screen's weekend and "near you", as plain functions."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.schema.my_outings import NEAR_CELL_KM, NEAR_CITY_KM, near_point, weekend
from parentnet_kit import cities


def test_the_weekend_is_the_coming_one_on_a_weekday_and_the_current_one_on_saturday_and_sunday():
    paris = "Europe/Paris"
    for now in ("2026-11-30T12:00:00+00:00", "2026-12-04T22:59:00+00:00"):  # Monday; Friday 23:59 in Paris
        starts, ends = weekend(datetime.fromisoformat(now), paris)
        assert (starts.isoformat(), ends.isoformat()) == ("2026-12-05T00:00:00+01:00", "2026-12-07T00:00:00+01:00")
    for now in ("2026-12-04T23:00:00+00:00", "2026-12-06T22:00:00+00:00"):  # Saturday 00:00; Sunday 23:00
        assert weekend(datetime.fromisoformat(now), paris)[0].isoformat() == "2026-12-05T00:00:00+01:00"


def test_the_weekend_follows_the_citys_zone_across_a_change_of_offset():
    starts, ends = weekend(datetime(2031, 3, 27, tzinfo=UTC), "Europe/Paris")
    assert (starts.isoformat(), ends.isoformat()) == ("2031-03-29T00:00:00+01:00", "2031-03-31T00:00:00+02:00")
    # Saturday morning in Montréal is still Friday night in UTC.
    starts, _ = weekend(datetime(2026, 12, 5, 3, tzinfo=UTC), "America/Toronto")
    assert starts.isoformat() == "2026-12-05T00:00:00-05:00"


def test_near_you_is_the_home_cell_or_the_city_never_anything_finer():
    cell = {"id": "c", "lat": 48.881, "lon": 2.355}
    paris = next(c for c in cities.founding() if c.slug == "paris")
    assert near_point({"city": "paris", "home_cell": cell}, paris) == ({"lat": 48.881, "lon": 2.355}, NEAR_CELL_KM)
    city = ({"lat": paris.lat, "lon": paris.lon}, NEAR_CITY_KM)
    assert near_point({"city": "paris", "home_cell": cell, "protected_mode": True}, paris) == city
    assert near_point({"city": "paris", "home_cell": None}, paris) == city
