"""The victims: four members whose home, listing pickup point and co-op shift are at a secret
exact point, placed as twins so that the verdict is sound.

Twins are two victims mirrored about the point the network may reveal: A1 and A2 about the
centre of the ~1 km cell they share (ordinary members), P1 and P2 about the city's centre
(members in protected mode, placed at city level). A surface that shows only that point gives
both twins the same answers, so the attacker makes the same estimate E for both, and by the
triangle inequality |E - v1| + |E - v2| >= |v1 - v2| = baseline1 + baseline2: such a surface
can never fail the test, however lucky a guess. An oracle on the exact point drives both errors
towards 0. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from geometry import Point, metres, moved, offset_of

from parentnet_kit import cells, cities

CITY = next(c for c in cities.founding() if c.slug == "paris")  # open from the first migration
CITY_CENTRE: Point = {"lat": CITY.lat, "lon": CITY.lon}
# Where the ordinary twins live: a cell of the 11th arrondissement.
ORDINARY_CELL = cells.cell_for(48.8655, 2.3790)
ORDINARY_CENTRE: Point = {"lat": ORDINARY_CELL.lat, "lon": ORDINARY_CELL.lon}
# 250 m north and 300 m east of the cell's centre (390 m off), and the mirror image.
ORDINARY_OFFSET = (250.0, 300.0)
# The protected twins: about 2.7 km from the city's centre, each 300-450 m off its own cell's centre.
PROTECTED_OFFSETS = [(1200.0 + 37.0 * k, 2400.0 + 23.0 * k) for k in range(40)]
SECRET_RANGE_M = (300.0, 450.0)


@dataclass
class Victim:
    key: str
    twin: str
    protected: bool
    point: Point
    address: str
    category: str
    title: str
    description: str
    # Set up through the API:
    member_id: str = ""
    listing_id: str = ""
    shift_id: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def revealed(self) -> Point:
        """What the network may reveal of where this victim lives: the cell's centre, or the city's."""
        if self.protected:
            return CITY_CENTRE
        cell = cells.cell_for(self.point["lat"], self.point["lon"])
        return {"lat": cell.lat, "lon": cell.lon}

    @property
    def baseline_m(self) -> float:
        return metres(self.revealed, self.point)


def off_centre(point: Point) -> float:
    cell = cells.cell_for(point["lat"], point["lon"])
    return metres(point, {"lat": cell.lat, "lon": cell.lon})


def _protected_offset() -> tuple[float, float]:
    for north, east in PROTECTED_OFFSETS:
        points = [moved(CITY_CENTRE, north, east), moved(CITY_CENTRE, -north, -east)]
        if all(SECRET_RANGE_M[0] <= off_centre(p) <= SECRET_RANGE_M[1] for p in points):
            return north, east
    raise AssertionError("no protected offset puts both twins 300-450 m off their cells' centres")


def victims() -> list[Victim]:
    north, east = ORDINARY_OFFSET
    a1, a2 = moved(ORDINARY_CENTRE, north, east), moved(ORDINARY_CENTRE, -north, -east)
    assert cells.cell_for(a1["lat"], a1["lon"]) == cells.cell_for(a2["lat"], a2["lon"]) == ORDINARY_CELL
    pn, pe = _protected_offset()
    p1, p2 = moved(CITY_CENTRE, pn, pe), moved(CITY_CENTRE, -pn, -pe)
    made = [
        Victim("A1", "A2", False, a1, "14 passage Kestrelle, 75011 Paris", "TOYS", "Kestrel wooden train", "Oak."),
        Victim("A2", "A1", False, a2, "3 impasse Marigoldine, 75011 Paris", "BOOKS", "Marigold picture books", "Six."),
        Victim("P1", "P2", True, p1, "22 rue Tamarinier, 75010 Paris", "FURNITURE", "Tamarind high chair", "Beech."),
        Victim("P2", "P1", True, p2, "9 villa Juniperine, 75015 Paris", "PRAM_STROLLER", "Juniper baby pram", "Blue."),
    ]
    for victim in made:
        assert SECRET_RANGE_M[0] <= off_centre(victim.point) <= SECRET_RANGE_M[1], victim
    # Mirrored: the twins' offsets from what may be revealed cancel out.
    for one, other in ((made[0], made[1]), (made[2], made[3])):
        n1, e1 = offset_of(one.point, one.revealed)
        n2, e2 = offset_of(other.point, other.revealed)
        assert abs(n1 + n2) < 0.5 and abs(e1 + e2) < 0.5
    return made
