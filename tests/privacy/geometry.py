"""The attacker's arithmetic: points moved by metres, bisection, trilateration. No I/O here.

Distances are great-circle (``parentnet_kit.geo``, the radius Elasticsearch uses), so an
estimate is exact to the bisection's precision, not to a flat-earth approximation.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from parentnet_kit.geo import haversine_km

Point = dict[str, float]
METRES_PER_DEGREE_LAT = 111_194.9


def metres(a: Point, b: Point) -> float:
    return haversine_km(a["lat"], a["lon"], b["lat"], b["lon"]) * 1000.0


def moved(p: Point, north_m: float, east_m: float) -> Point:
    """``p`` moved by so many metres north and east (exact enough over a few km)."""
    lat = p["lat"] + north_m / METRES_PER_DEGREE_LAT
    lon = p["lon"] + east_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians((lat + p["lat"]) / 2)))
    return {"lat": lat, "lon": lon}


def offset_of(p: Point, origin: Point) -> tuple[float, float]:
    """(north, east) metres of ``p`` from ``origin``: the inverse of ``moved``."""
    north = (p["lat"] - origin["lat"]) * METRES_PER_DEGREE_LAT
    east = (p["lon"] - origin["lon"]) * METRES_PER_DEGREE_LAT * math.cos(math.radians((p["lat"] + origin["lat"]) / 2))
    return north, east


def toward(a: Point, b: Point, distance_m: float) -> Point:
    """The point ``distance_m`` from ``a`` on the way to ``b`` (or beyond it)."""
    north, east = offset_of(b, a)
    length = math.hypot(north, east) or 1.0
    return moved(a, north * distance_m / length, east * distance_m / length)


def bisect(inside: Callable[[float], bool | None], low: float, high: float, probes: int) -> tuple[float, int]:
    """The radius where ``inside(r)`` turns true, in [low, high], with at most ``probes`` asks.

    ``inside`` answers None when the attacker cannot ask any more (every account refused):
    the search stops there with what it has. Returns (estimate, probes used)."""
    used = 0
    while used < probes:
        middle = (low + high) / 2
        answer = inside(middle)
        if answer is None:
            break
        used += 1
        if answer:
            high = middle
        else:
            low = middle
    return (low + high) / 2, used


def trilaterate(circles: list[tuple[Point, float]], start: Point) -> Point:
    """The point whose great-circle distances to the centres best fit the radii (least
    squares, Gauss-Newton from ``start`` in metres around the current estimate)."""
    estimate = dict(start)
    for _ in range(50):
        rows, residuals = [], []
        for centre, radius in circles:
            here = metres(estimate, centre)
            north, east = offset_of(estimate, centre)
            norm = math.hypot(north, east) or 1.0
            rows.append((north / norm, east / norm))
            residuals.append(radius - here)
        # Solve the 2x2 normal equations (J^T J) step = J^T r.
        a = sum(n * n for n, _ in rows)
        b = sum(n * e for n, e in rows)
        c = sum(e * e for _, e in rows)
        rn = sum(n * r for (n, _), r in zip(rows, residuals, strict=True))
        re = sum(e * r for (_, e), r in zip(rows, residuals, strict=True))
        det = a * c - b * b
        if abs(det) < 1e-12:
            break
        step_n, step_e = (c * rn - b * re) / det, (a * re - b * rn) / det
        estimate = moved(estimate, step_n, step_e)
        if math.hypot(step_n, step_e) < 0.01:
            break
    return estimate


def around(centre: Point, distance_m: float, bearings: tuple[float, ...] = (0.0, 120.0, 240.0)) -> list[Point]:
    """Points ``distance_m`` from ``centre`` at the given bearings (degrees from north)."""
    return [
        moved(centre, distance_m * math.cos(math.radians(b)), distance_m * math.sin(math.radians(b))) for b in bearings
    ]


def crossings(first: tuple[Point, float], second: tuple[Point, float], origin: Point) -> list[Point]:
    """Where two circles cross (none, or two points), each refined on the sphere."""
    (c1, r1), (c2, r2) = first, second
    n1, e1 = offset_of(c1, origin)
    n2, e2 = offset_of(c2, origin)
    d = math.hypot(n2 - n1, e2 - e1)
    if d == 0 or d > r1 + r2 or d < abs(r1 - r2):
        return []
    a = (r1 * r1 - r2 * r2 + d * d) / (2 * d)
    h = math.sqrt(max(0.0, r1 * r1 - a * a))
    mid_n, mid_e = n1 + a * (n2 - n1) / d, e1 + a * (e2 - e1) / d
    found = []
    for sign in (1.0, -1.0):
        guess = moved(origin, mid_n - sign * h * (e2 - e1) / d, mid_e + sign * h * (n2 - n1) / d)
        found.append(trilaterate([first, second], guess))
    return found
