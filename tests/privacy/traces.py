"""Finding a victim's exact place in text: its coordinates at any rounding to 4 decimals or
more, or its address. No I/O here."""

from __future__ import annotations

import re

from geometry import Point

NUMBER = re.compile(r"-?\d{1,3}\.\d{4,}")
# A number with 4+ decimals that rounds or truncates to the victim's coordinate is within
# 1e-4 degrees of it (11 m of latitude); the revealed cell centres are hundreds of metres off.
CLOSE_DEGREES = 1e-4


def coordinates_in(text: str, point: Point) -> bool:
    """Both the latitude and the longitude appear in ``text``, however rounded (4+ decimals)."""
    numbers = [float(n) for n in NUMBER.findall(text)]
    return any(abs(n - point["lat"]) < CLOSE_DEGREES for n in numbers) and any(
        abs(n - point["lon"]) < CLOSE_DEGREES for n in numbers
    )


def address_in(text: str, address: str) -> bool:
    """The street part of the address (before the first comma), in any case."""
    return address.split(",")[0].lower() in text.lower()
