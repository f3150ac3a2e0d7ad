"""What every attack shares: how wide to search, bisecting a distance from two anchors, and
one more question at a third anchor to tell the two crossings of those circles apart."""

from __future__ import annotations

import math
from collections.abc import Callable

from geometry import Point, bisect, crossings, metres, trilaterate

# How far from what a listing reveals the secret point may be, so how wide a distance from an
# anchor is searched: a ~1 km cell's centre is at most ~710 m from any point of the cell; a
# city-level area (protected mode: the city's centre, as `cities` gives it) says nothing, and the
# protected twins live 3.3 km from the city's centre. Halvings go on until the interval is 2 m.
CELL_SPAN_M, CITY_SPAN_M, PRECISION_M = 800.0, 4000.0, 2.0


def span_for(revealed: Point, city_centre: Point) -> float:
    return CITY_SPAN_M if metres(revealed, city_centre) < 50.0 else CELL_SPAN_M


def probes_for(span_m: float) -> int:
    return math.ceil(math.log2(2 * span_m / PRECISION_M))


def interval(anchor: Point, revealed: Point, span_m: float) -> list[float]:
    start = metres(anchor, revealed)
    return [max(1.0, start - span_m), start + span_m]


def decision(circles: list[tuple[Point, float]], third: Point, revealed: Point) -> tuple[list[Point], float | None]:
    """The two crossings of two circles, and the radius around ``third`` that tells them apart
    (None when the circles do not cross or both crossings are as far from ``third``)."""
    found = crossings(circles[0], circles[1], revealed)
    if len(found) < 2:
        return found, None
    near, far = sorted(metres(third, p) for p in found)
    return found, (near + far) / 2 if far - near > 2 * PRECISION_M else None


def decided(
    found: list[Point], circles: list, third: Point, radius: float | None, inside: bool | None, revealed: Point
) -> Point:
    """The estimate once the third anchor answered ``inside`` (within ``radius``)."""
    if not found:
        return trilaterate(circles, revealed)  # no crossing: the least-squares point
    if radius is None or inside is None:
        return min(found, key=lambda p: metres(p, revealed))
    ordered = sorted(found, key=lambda p: metres(third, p))
    return ordered[0] if inside else ordered[-1]


def distances_by_bisection(
    anchors: list[Point], revealed: Point, span_m: float, inside: Callable[[Point, float], bool | None]
) -> tuple[Point, int]:
    """Locate from ``inside(anchor, radius_m)`` (is the victim within radius_m of anchor?):
    bisect the distance from the first two anchors, then ask once at the third."""
    circles, used = [], 0
    for anchor in anchors[:2]:
        low, high = interval(anchor, revealed, span_m)
        radius, probes = bisect(lambda r, a=anchor: inside(a, r), low, high, probes_for(span_m))
        used += probes
        circles.append((anchor, radius))
    found, radius = decision(circles, anchors[2], revealed)
    answer = None
    if radius is not None:
        answer = inside(anchors[2], radius)
        used += answer is not None
    return decided(found, circles, anchors[2], radius, answer, revealed), used
