"""One rule for times without an offset (issue 18 point 8): read in the time zone of the city
they concern, for outingCreate and for the startsAfter/startsBefore filters alike (the filters
read them as UTC). Tested in Montréal, west of Greenwich (UTC-4 in July)."""

from __future__ import annotations

import time

from test_outing_end_to_end import CREATE, proposal

from parentnet_kit.testing import wait_for

MONTREAL = {"lat": 45.5088, "lon": -73.5540}  # Place Jacques-Cartier
PAGE = """query($near: GeoPointInput!, $filter: OutingFilter) {
  nearbyOutings(near: $near, radiusKm: 2, filter: $filter, first: 50) { nodes { id } userErrors { code } }
}"""


def test_times_without_an_offset_are_read_in_the_city_time_zone(gql):
    title = f"Heure du conte {time.time_ns()}"
    fields = proposal(title, MONTREAL["lat"], MONTREAL["lon"], city="montreal")
    fields |= {"startsAt": "2031-07-10T18:00", "endsAt": "2031-07-10T19:30", "venueName": "Place Jacques-Cartier"}
    created = gql(CREATE, {"input": fields})["outingCreate"]
    assert created["userErrors"] == []
    outing = created["outing"]
    assert outing["startsAt"] == "2031-07-10T18:00:00-04:00"  # 22:00 UTC

    def found(window: dict) -> bool:
        page = gql(PAGE, {"near": MONTREAL, "filter": window})["nearbyOutings"]
        assert page["userErrors"] == []
        return outing["id"] in [n["id"] for n in page["nodes"]]

    wait_for(lambda: found({}), timeout=10, what="the outing searchable")
    # Local 19:00 is after the outing's 18:00 (read as UTC, 19:00 was before its 22:00 UTC).
    assert not found({"startsAfter": "2031-07-10T19:00"})
    assert found({"startsAfter": "2031-07-10T17:30"})
    # Local 18:30 is after its start (read as UTC, 18:30 was before 22:00 UTC).
    assert found({"startsBefore": "2031-07-10T18:30"})
    assert not found({"startsBefore": "2031-07-10T17:30"})
    # With an offset, the instant it names.
    assert found({"startsAfter": "2031-07-10T21:30Z", "startsBefore": "2031-07-10T22:30Z"})
    assert not found({"startsAfter": "2031-07-10T19:00-04:00"})
