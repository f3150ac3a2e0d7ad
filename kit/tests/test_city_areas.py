"""The rules of which city a point belongs to (city_areas), on the founding cities and two made up."""

from __future__ import annotations

from parentnet_kit import cities, city_areas
from parentnet_kit.cities import City

FOUNDING = {c.slug: c for c in cities.founding()}
PARIS, SAINT_DENIS, ISSY = FOUNDING["paris"], FOUNDING["saint-denis"], FOUNDING["issy-les-moulineaux"]


def test_the_default_area_grows_with_the_population_between_bounds():
    assert city_areas.area_radius_km(15_000) == 15.0
    assert city_areas.area_radius_km(2_138_551) == 29.0
    assert city_areas.area_radius_km(17_000_000) == 60.0
    assert city_areas.area_radius_km(None) == 15.0


def test_a_point_inside_one_area_belongs_to_that_city():
    annecy = FOUNDING["annecy"]
    assert city_areas.city_at(45.90, 6.12, FOUNDING.values()) == annecy
    assert city_areas.belongs(None, 45.90, 6.12, FOUNDING.values()) == (annecy, None)


def test_a_point_near_two_cities_goes_to_the_named_one_when_its_area_holds_it_else_the_nearest_centre():
    # Between Paris' centre (4.5 km) and Saint-Denis' (4.4 km): inside both areas.
    lat, lon = 48.8966, 2.3548
    assert city_areas.contains(PARIS, lat, lon) and city_areas.contains(SAINT_DENIS, lat, lon)
    assert city_areas.belongs(PARIS, lat, lon, FOUNDING.values()) == (PARIS, None)
    assert city_areas.belongs(SAINT_DENIS, lat, lon, FOUNDING.values()) == (SAINT_DENIS, None)
    assert city_areas.city_at(lat, lon, FOUNDING.values()) == SAINT_DENIS  # nearest centre, no city named
    # The Eiffel Tower: in Paris' and Issy's areas, nearer Issy's centre.
    assert city_areas.city_at(48.8584, 2.2945, FOUNDING.values()) == ISSY


def test_equal_distances_are_settled_by_slug():
    a = City("b-town", "B", "XX", "UTC", ("en",), 0.0, 0.1, radius_km=20)
    b = City("a-town", "A", "XX", "UTC", ("en",), 0.0, -0.1, radius_km=20)
    assert city_areas.city_at(0.0, 0.0, [a, b]) == b


def test_a_point_outside_the_named_city_is_refused_naming_the_city_it_is_in():
    city, message = city_areas.belongs(FOUNDING["annecy"], 48.8566, 2.3522, FOUNDING.values())
    assert city is None and "Annecy" in message and "paris" in message


def test_a_point_far_from_every_city_belongs_to_none_and_the_message_names_the_nearest():
    city, message = city_areas.belongs(None, -33.036, -71.63, FOUNDING.values())  # Valparaíso, not open
    assert city is None
    assert "no open city" in message and "Montréal" in message
    assert city_areas.belongs(None, 0.0, 0.0, []) == (None, "location is in no open city of the network")


def test_a_city_across_a_time_zone_border_keeps_its_centres_zone():
    # A made-up city centred in El Paso (America/Denver) whose area reaches Ciudad Juárez
    # (America/Ciudad_Juarez): everything in it belongs to the city, read in the city's zone.
    el_paso = City("el-paso", "El Paso", "US", "America/Denver", ("en", "es"), 31.7587, -106.4869, radius_km=20)
    city, _ = city_areas.belongs(None, 31.7200, -106.4600, [el_paso])  # Ciudad Juárez' centre
    assert city is el_paso and city.time_zone == "America/Denver"


def test_the_name_in_the_viewers_language_falls_back_to_the_citys_own():
    city = City("valparaiso", "Valparaíso", "CL", "America/Santiago", ("es",), -33.0, -71.6, names={"en": "Valparaiso"})
    assert city.name_in(["en-GB"]) == "Valparaiso"
    assert city.name_in(["fr"]) == "Valparaíso"
    assert City.from_dict(city.to_dict()) == city


def test_the_process_view_never_goes_back_to_an_older_version():
    cities.forget_all()
    try:
        newer = City("x", "X2", "XX", "UTC", ("en",), 0, 0, version=2)
        cities.remember([newer])
        cities.remember([City("x", "X1", "XX", "UTC", ("en",), 0, 0, version=1)])
        assert cities.get("x") == newer
    finally:
        cities.forget_all()
