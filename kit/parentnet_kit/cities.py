"""The open cities this process knows: a copy, never the source.

The members service owns which cities are open (it opens them from the GeoNames gazetteer
and publishes ``members.city_opened``); every other process keeps a copy fed by that event
(``city_copy.CityCopy``) and reads it here. Nothing in code lists the cities: a process
starts with none, loads its copy at start-up (the network's founding cities are the first
migration of each copy, ``founding_cities.json``) and learns every city opened later within
seconds, without a restart.

A city's time zone decides how its local times are read and shown; its languages are the ones
its members mostly write in; ``radius_km`` is its area (``city_areas`` has the rules).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class City:
    slug: str
    name: str  # in the city's first language
    country: str  # ISO 3166-1 alpha-2
    time_zone: str  # IANA
    languages: tuple[str, ...]  # BCP 47, most spoken first
    lat: float  # centre, degrees (WGS 84)
    lon: float
    radius_km: float = 10.0  # the city's area: a disc around the centre (city_areas)
    names: Mapping[str, str] = field(default_factory=dict)  # language tag -> display name
    currency: str | None = None  # ISO 4217
    geonames_id: int | None = None
    version: int = 1

    def name_in(self, languages: Sequence[str]) -> str:
        """The display name in the first of ``languages`` that has one (a tag's primary subtag
        counts: ``fr-CA`` finds ``fr``); else the name in the city's own language."""
        for tag in languages:
            for candidate in (tag, tag.split("-")[0]):
                if candidate in self.names:
                    return self.names[candidate]
        return self.name

    def to_dict(self) -> dict[str, Any]:
        """The city as events, RPC answers and stored copies carry it (JSON-safe)."""
        return {
            "slug": self.slug,
            "name": self.name,
            "names": dict(self.names),
            "country": self.country,
            "time_zone": self.time_zone,
            "languages": list(self.languages),
            "lat": self.lat,
            "lon": self.lon,
            "radius_km": self.radius_km,
            "currency": self.currency,
            "geonames_id": self.geonames_id,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> City:
        """Raises KeyError or ValueError for a dict that lacks a field ``to_dict`` writes."""
        return cls(
            slug=str(raw["slug"]),
            name=str(raw["name"]),
            country=str(raw["country"]),
            time_zone=str(raw["time_zone"]),
            languages=tuple(raw["languages"]),
            lat=float(raw["lat"]),
            lon=float(raw["lon"]),
            radius_km=float(raw.get("radius_km") or 10.0),
            names=dict(raw.get("names") or {}),
            currency=raw.get("currency"),
            geonames_id=raw.get("geonames_id"),
            version=int(raw.get("version") or 1),
        )


# The process's view. Replaced whole (readers never see half a refresh); a dict read is atomic.
_lock = threading.Lock()
CITIES: dict[str, City] = {}


def get(slug: str) -> City | None:
    """The open city with this slug, or None (unknown, or not known to this process yet)."""
    return CITIES.get(slug)


def open_cities() -> list[City]:
    """Every open city this process knows, by slug."""
    return [CITIES[slug] for slug in sorted(CITIES)]


def remember(found: Iterable[City]) -> None:
    """Take these cities into the process's view; a city's older version never replaces a newer."""
    with _lock:
        for city in found:
            known = CITIES.get(city.slug)
            if known is None or known.version <= city.version:
                CITIES[city.slug] = city


def forget_all() -> None:
    """Tests only: start from no city."""
    with _lock:
        CITIES.clear()


def founding() -> list[City]:
    """The network's first cities, as the first migration opens them (version 1)."""
    raw = json.loads(resources.files(__package__).joinpath("founding_cities.json").read_text("utf-8"))
    return [City.from_dict(entry) for entry in raw]
