"""Which city a point belongs to: the one rule every service applies. No I/O here.

A city's area is a disc around its centre (the gazetteer's point) of ``radius_km``, set when
the city is opened: by default from its population (``area_radius_km``: 15 km for a town,
29 km for Paris' 2.1 million, at most 60 km, the bound homes and pickup points had when
cities were a constant), or as the network admin gives it.

- **Inside one area**: the point belongs to that city.
- **Inside several** (Paris, Saint-Denis and Issy-les-Moulineaux overlap): the city the client
  names wins when its area contains the point; with no city named, the city whose centre is
  nearest (ties: the smaller slug). Never the point's distance to anything but centres.
- **Across a time-zone border**: a city has one time zone, its centre's. Everything that belongs
  to the city is read and shown in that zone, even a point whose own zone is another.
- **Far from every city** (in no area): the point belongs to no city; what must belong to one
  (an outing, a listing, a home) is refused with ``FAR_FROM_CITY`` on its location, naming the
  nearest open city and its distance, so the client can ask for the city to be opened. A
  point outside the *named* city's area is refused the same way, naming the city it is in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .cities import City
from .geo import haversine_km
from .i18n import t

RADIUS_MIN_KM = 15.0
RADIUS_MAX_KM = 60.0


def area_radius_km(population: int | None) -> float:
    """The default area of a city of ``population``: 20 km per square root of a million
    inhabitants, between 15 and 60 km, rounded to 0.5 km."""
    scaled = 20.0 * math.sqrt(max(population or 0, 0) / 1_000_000)
    return round(min(RADIUS_MAX_KM, max(RADIUS_MIN_KM, scaled)) * 2) / 2


def contains(city: City, lat: float, lon: float) -> bool:
    """True when the point (degrees) lies in the city's area (the disc's edge included)."""
    return haversine_km(lat, lon, city.lat, city.lon) <= city.radius_km


def city_at(lat: float, lon: float, candidates: Iterable[City]) -> City | None:
    """The city a point belongs to when no city is named: among those whose area contains
    it, the nearest centre (ties: the smaller slug); None far from every city."""
    inside = [(haversine_km(lat, lon, c.lat, c.lon), c.slug, c) for c in candidates if contains(c, lat, lon)]
    return min(inside, key=lambda found: found[:2])[2] if inside else None


def nearest(lat: float, lon: float, candidates: Iterable[City]) -> tuple[City, float] | None:
    """The city whose centre is nearest the point, and that distance in km (for messages)."""
    found = [(haversine_km(lat, lon, c.lat, c.lon), c.slug, c) for c in candidates]
    if not found:
        return None
    distance, _, city = min(found, key=lambda item: item[:2])
    return city, distance


def belongs(named: City | None, lat: float, lon: float, candidates: Iterable[City]) -> tuple[City | None, str | None]:
    """The city a point with an optional named city belongs to, or why none: ``(city, None)``,
    or ``(None, message)`` for a ``FAR_FROM_CITY`` error on the location."""
    pool = list(candidates)
    if named is not None:
        if contains(named, lat, lon):
            return named, None
        distance = round(haversine_km(lat, lon, named.lat, named.lon))
        other = city_at(lat, lon, pool)
        if other is not None:
            return None, t(
                "location is {distance} km from the centre of {city}, outside its area ({radius_km} km); "
                "it is in {other} ({slug})",
                distance=distance,
                city=named.name,
                radius_km=named.radius_km,
                other=other.name,
                slug=other.slug,
            )
        return None, t(
            "location is {distance} km from the centre of {city}, outside its area ({radius_km} km)",
            distance=distance,
            city=named.name,
            radius_km=named.radius_km,
        )
    city = city_at(lat, lon, pool)
    if city is not None:
        return city, None
    near = nearest(lat, lon, pool)
    if near is None:
        return None, t("location is in no open city of the network")
    return None, t(
        "location is in no open city's area; the nearest is {city}, {distance} km away: "
        "ask a network admin to open your city",
        city=near[0].name,
        distance=round(near[1]),
    )
