"""Where a member lives, as much as anyone else may know: a fixed cell of about 1 km
(``parentnet_kit.cells``), or the city's centre in protected mode. Distances between
people are only ever given in bands between cell centres.
"""

from __future__ import annotations

from parentnet_kit.cells import ROW_DEGREES, Cell, cell_for, city_cell, placement
from parentnet_kit.cells import search_box as _search_box
from parentnet_kit.geo import haversine_km

__all__ = ["BANDS", "ROW_DEGREES", "Cell", "band", "band_rank", "cell_for", "city_cell", "member_cell", "search_box"]

BANDS: tuple[tuple[str, float], ...] = (
    ("UNDER_1_KM", 1.0),
    ("FROM_1_TO_3_KM", 3.0),
    ("FROM_3_TO_10_KM", 10.0),
)
MAX_BAND_KM = BANDS[-1][1]


def member_cell(home: dict[str, float] | None, city_slug: str, protected: bool) -> Cell:
    """The only location of a member that leaves the members service."""
    return placement(home, city_slug, protected)


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
    return _search_box(centre, radius_km)
