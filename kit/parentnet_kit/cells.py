"""A fixed grid of cells of about 1 km: how a private location is shown to others.

Rows of 0.009° latitude (about 1 km), each cut into columns about 1 km wide at its
latitude. The grid is fixed, so a place always maps to the same cell and repeated queries
reveal nothing more than one does (never re-randomise per request: averaging defeats it).
Members' homes, listings' pickup addresses and co-op hosts' homes leave their services only
as a cell, or as their city's centre for members in protected mode (``placement``).

A cell protects a point only if no answer compares the exact point with something the asker
chooses (a point, a radius, a sort): matching, filtering and notifying compare *cell
centres* with cell centres, so a sweep of points and radii learns the cell and nothing more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import cities

ROW_DEGREES = 0.009


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
    """A whole city as one cell, centred on the city's centre: protected mode's placement.

    Raises ``KeyError`` for a slug that is not one of ``cities.CITIES``."""
    city = cities.CITIES[city_slug]
    return Cell(f"city:{city_slug}", city.lat, city.lon)


def placement(point: dict[str, float] | None, city_slug: str, protected: bool) -> Cell:
    """Where a private point may be shown and compared: its cell, or its city in protected mode.

    ``point`` is ``{"lat", "lon"}`` in degrees (WGS 84); None (no point given) places at the city."""
    if protected or point is None:
        return city_cell(city_slug)
    return cell_for(point["lat"], point["lon"])


def search_box(centre: dict[str, float], radius_km: float) -> dict[str, tuple[float, float]]:
    """A lat/lon box holding every point (and cell centre) within ``radius_km`` of ``centre``."""
    dlat = radius_km / 111.0 + ROW_DEGREES
    dlon = radius_km / (111.0 * max(math.cos(math.radians(min(89.0, abs(centre["lat"]) + dlat))), 0.01))
    dlon += ROW_DEGREES * 2
    return {"lat": (centre["lat"] - dlat, centre["lat"] + dlat), "lon": (centre["lon"] - dlon, centre["lon"] + dlon)}
