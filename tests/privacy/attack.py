"""What every attack shares: bisecting a distance from each anchor, then trilaterating."""

from __future__ import annotations

from collections.abc import Callable

from geometry import Point, bisect, metres, trilaterate

# A distance searched from an anchor lies within this much of the anchor's distance to what the
# victim's listing reveals: 14 halvings of 6 km leave 0.4 m.
SPAN_M, PROBES_PER_ANCHOR = 3000.0, 14


def distances_by_bisection(
    anchors: list[Point], revealed: Point, inside: Callable[[Point, float], bool | None]
) -> tuple[Point, int]:
    """Trilaterate from ``inside(anchor, radius_m)`` (is the victim within radius_m of anchor?)."""
    circles, used = [], 0
    for anchor in anchors:
        start = metres(anchor, revealed)
        radius, probes = bisect(
            lambda r, a=anchor: inside(a, r), max(1.0, start - SPAN_M), start + SPAN_M, PROBES_PER_ANCHOR
        )
        used += probes
        circles.append((anchor, radius))
    return trilaterate(circles, revealed), used
