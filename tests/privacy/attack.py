"""What every attack shares: how wide to search, bisecting a distance from each anchor, then
trilaterating."""

from __future__ import annotations

import math
from collections.abc import Callable

from geometry import Point, bisect, metres, trilaterate

# How far from what a listing reveals the secret point may be, so how wide a distance from an
# anchor is searched: a ~1 km cell's centre is at most ~710 m from any point of the cell; a
# city-level area (protected mode, id "city:<slug>") says nothing, and the protected twins live
# 3.3 km from the city's centre. Halvings go on until the interval is 2 m wide.
CELL_SPAN_M, CITY_SPAN_M, PRECISION_M = 800.0, 4000.0, 2.0


def span_for(area_id: str) -> float:
    return CITY_SPAN_M if area_id.startswith("city:") else CELL_SPAN_M


def probes_for(span_m: float) -> int:
    return math.ceil(math.log2(2 * span_m / PRECISION_M))


def distances_by_bisection(
    anchors: list[Point], revealed: Point, span_m: float, inside: Callable[[Point, float], bool | None]
) -> tuple[Point, int]:
    """Trilaterate from ``inside(anchor, radius_m)`` (is the victim within radius_m of anchor?)."""
    circles, used = [], 0
    for anchor in anchors:
        start = metres(anchor, revealed)
        radius, probes = bisect(
            lambda r, a=anchor: inside(a, r), max(1.0, start - span_m), start + span_m, probes_for(span_m)
        )
        used += probes
        circles.append((anchor, radius))
    return trilaterate(circles, revealed), used
