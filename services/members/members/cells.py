"""Where a member lives, as much as anyone else may know: a fixed cell of about 1 km.

The grid is fixed (rows of 0.009° latitude, about 1 km; each row cut into columns about
1 km wide at its latitude), so a home always maps to the same cell and repeated queries
reveal nothing more than one does. Members in protected mode get their city's centre
instead. Distances between people are only ever given in bands between cell centres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from parentnet_kit import cities
from parentnet_kit.geo import haversine_km

ROW_DEGREES = 0.009

BANDS: tuple[tuple[str, float], ...] = (
    ("UNDER_1_KM", 1.0),
    ("FROM_1_TO_3_KM", 3.0),
    ("FROM_3_TO_10_KM", 10.0),
)
MAX_BAND_KM = BANDS[-1][1]


@dataclass(frozen=True)
class Cell:
    id: str
    lat: float
    lon: float

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "lat": self.lat, "lon": self.lon}


def _column_degrees(row_centre_lat: float) -> float:
    return ROW_DEGREES / max(math.cos(math.radians(row_centre_lat)), 0.01)


def cell_for(lat: float, lon: float) -> Cell:
    row = math.floor((lat + 90.0) / ROW_DEGREES)
    centre_lat = -90.0 + (row + 0.5) * ROW_DEGREES
    width = _column_degrees(centre_lat)
    column = math.floor((lon + 180.0) / width)
    centre_lon = -180.0 + (column + 0.5) * width
    return Cell(f"{row}:{column}", round(centre_lat, 6), round(centre_lon, 6))


def city_cell(city_slug: str) -> Cell:
    city = cities.CITIES[city_slug]
    return Cell(f"city:{city_slug}", city.lat, city.lon)


def member_cell(home: dict[str, float] | None, city_slug: str, protected: bool) -> Cell:
    """The only location of a member that leaves the members service."""
    if protected or home is None:
        return city_cell(city_slug)
    return cell_for(home["lat"], home["lon"])


def band(a: dict[str, float], b: dict[str, float]) -> str | None:
    """The distance band between two cell centres, or None when they are too far apart."""
    distance = haversine_km(a["lat"], a["lon"], b["lat"], b["lon"])
    for name, limit in BANDS:
        if distance < limit:
            return name
    return None


def band_rank(name: str) -> int:
    return [b for b, _ in BANDS].index(name)


def search_box(centre: dict[str, float], radius_km: float = MAX_BAND_KM) -> dict[str, tuple[float, float]]:
    """A lat/lon box holding every cell centre within ``radius_km`` of ``centre``."""
    dlat = radius_km / 111.0 + ROW_DEGREES
    dlon = radius_km / (111.0 * max(math.cos(math.radians(abs(centre["lat"]) + dlat)), 0.01)) + ROW_DEGREES * 2
    return {"lat": (centre["lat"] - dlat, centre["lat"] + dlat), "lon": (centre["lon"] - dlon, centre["lon"] + dlon)}
