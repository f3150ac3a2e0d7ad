"""The demo's and the bench's cities: 72 real cities on every continent but Antarctica, from
``bench/cities.csv`` (GeoNames ids, centres, populations and IANA time zones from the gazetteer
the members service opens cities from; languages from GeoNames' country data, plus English).

The network's founding eight are among them with the slugs, names and languages they were
opened with; the others are opened by the demo (``cityOpen``) or written into the services'
copies by ``devtools.volume``.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

from parentnet_kit import cities
from parentnet_kit.cities import City

CSV = Path(__file__).resolve().parents[1] / "bench" / "cities.csv"


@functools.cache
def world() -> dict[str, City]:
    """Slug -> City (version 1), as they would be opened; founding cities as the migration opens them."""
    founding = {c.slug: c for c in cities.founding()}
    found: dict[str, City] = {}
    with CSV.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["slug"] in founding:
                found[row["slug"]] = founding[row["slug"]]
                continue
            languages = tuple(row["languages"].split())
            found[row["slug"]] = City(
                slug=row["slug"],
                name=row["name"],
                country=row["country"],
                time_zone=row["time_zone"],
                languages=languages,
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                radius_km=float(row["radius_km"]),
                names={languages[0]: row["name"]},
                geonames_id=int(row["geonames_id"]),
            )
    return found


def population(slug: str) -> int:
    with CSV.open(encoding="utf-8") as handle:
        return next(int(r["population"]) for r in csv.DictReader(handle) if r["slug"] == slug)
