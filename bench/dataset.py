"""The bench's data: real cities weighted by population, outing and listing events, query points.

``cities.csv``: 72 real cities on every continent but Antarctica (slug, GeoNames id, centre,
population, IANA time zone, languages, area), as ``devtools.world_cities`` opens them.
"""

from __future__ import annotations

import csv
import random
import zlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from parentnet_kit.envelope import Event

HERE = Path(__file__).resolve().parent
CATEGORIES = ["zoo", "park", "museum", "playgroup", "cafe", "swimming_pool", "workshop"]


@cache
def cities() -> tuple[dict, ...]:
    with open(HERE / "cities.csv", encoding="utf-8") as handle:
        return tuple(
            {
                **row,
                "lat": float(row["lat"]),
                "lon": float(row["lon"]),
                "population": int(row["population"]),
                "languages": row["languages"].split(),
            }
            for row in csv.DictReader(handle)
        )


def pick_city(rng: random.Random) -> dict:
    """A city drawn in proportion to its population."""
    places = cities()
    return rng.choices(places, [c["population"] for c in places])[0]


def _place(rng: random.Random) -> tuple[dict, float, float]:
    """A city by population, and a point spread around its centre (a few km)."""
    city = pick_city(rng)
    return city, city["lat"] + rng.gauss(0, 0.06), city["lon"] + rng.gauss(0, 0.08)


def _member(key: str) -> str:
    """One of 5,000 members, the same for a key on every run."""
    return f"m{zlib.crc32(key.encode()) % 5000}"


def outing_event(key: str, rng: random.Random) -> Event:
    city, lat, lon = _place(rng)
    data = {
        "id": key,
        "status": "published",
        "title": f"Sortie {key}",
        "description": "",
        "language": city["languages"][0],
        "category": rng.choice(CATEGORIES),
        "starts_at": "2031-01-01T09:00:00Z",
        "ends_at": "2031-01-01T11:00:00Z",
        "time_zone": city["time_zone"],
        "venue_name": city["name"],
        "location": {"lat": lat, "lon": lon},
        "city": city["slug"],
        "organizer_id": _member(key),
    }
    return Event("outing_published", "events", key, 1, city["slug"], data)


def listing_event(key: str, rng: random.Random) -> Event:
    city, lat, lon = _place(rng)
    data = {
        "id": key,
        "kind": "give",
        "category": "toys",
        "title": f"Jouet {key}",
        "description": "",
        "language": city["languages"][0],
        "city": city["slug"],
        "status": "active",
        "pickup_area": {"id": "x", "lat": lat, "lon": lon},
        "owner_id": _member(key),
        "expires_at": "2031-01-01T00:00:00Z",
    }
    return Event("listing_posted", "listings", key, 1, city["slug"], data)


def mixed_events(total: int, rng: random.Random, prefix: str = "") -> Iterator[Event]:
    """Outings (60 %) and listings (40 %), each city's share in proportion to its population."""
    for i in range(total):
        if i % 5 < 3:
            yield outing_event(f"{prefix}o{i}", rng)
        else:
            yield listing_event(f"{prefix}l{i}", rng)


def query_points(rng: random.Random, n: int) -> list[dict]:
    """Where parents search: around city centres, in proportion to population."""
    picks = []
    for _ in range(n):
        city = pick_city(rng)
        picks.append({"lat": city["lat"] + rng.gauss(0, 0.03), "lon": city["lon"] + rng.gauss(0, 0.04)})
    return picks


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
