"""Matching compares published areas, never exact points: a sweep of points and radii by a
requester learns the offer's cell and nothing more (issue 16: it located a home to 0.4 m).

The pure rule is checked exhaustively over a grid of requester points and radii; the service
is checked for protected mode (city level) and for the daily limit on wanted requests."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from nameko.testing.services import entrypoint_hook

from listings import domain
from listings.service import ListingsService
from parentnet_kit import cells
from parentnet_kit.geo import haversine_km

NOW = datetime(2030, 5, 1, tzinfo=UTC)
# A home ~400 m from its cell's centre: the point a bisecting requester was after.
HOME = {"lat": 48.86123, "lon": 2.35517}


def state(kind: str, owner: str, where: dict, radius: float = 5.0, protected: bool = False) -> dict:
    clean, errors = domain.validate_listing(
        {
            "kind": kind,
            "category": "toys",
            "title": "t",
            "city": "paris",
            "pickup_location": where,
            "match_radius_km": radius,
        },
        NOW,
    )
    assert errors == []
    return domain.new_listing_state(clean, owner, NOW, protected)


def offset(point: dict, north_m: float, east_m: float) -> dict:
    lat = point["lat"] + north_m / 111_195.0
    return {"lat": lat, "lon": point["lon"] + east_m / (111_195.0 * math.cos(math.radians(lat)))}


def test_the_answer_to_any_probe_is_the_same_for_every_point_of_the_offers_cell():
    """For each requester point and radius, the match answer for the real home equals the answer
    for every other point of the same cell: so no sweep can tell them apart."""
    cell = cells.cell_for(HOME["lat"], HOME["lon"])
    twins = [offset({"lat": cell.lat, "lon": cell.lon}, n, e) for n in (-400, 0, 400) for e in (-400, 0, 400)]
    assert all(cells.cell_for(p["lat"], p["lon"]).id == cell.id for p in twins)
    home_offer = state("give", "victim", HOME)
    twin_offers = [state("give", "victim", p) for p in twins]
    probes = 0
    for north in range(-3000, 3001, 250):
        for east in range(-3000, 3001, 250):
            where = offset(HOME, north, east)
            for radius in (0.05, 0.3, 0.7, 1.0, 1.4, 2.2, 3.1):
                wanted = state("wanted", "attacker", where, radius)
                answer = domain.matches(wanted, home_offer)
                assert all(domain.matches(wanted, twin) == answer for twin in twin_offers), (where, radius)
                probes += 1
    assert probes > 4_000


def test_a_protected_owners_offer_is_placed_and_matched_at_city_level():
    offer = state("give", "victim", HOME, protected=True)
    assert offer["pickup_area"]["id"] == "city:paris"
    assert domain.public_view(offer)["pickup_area"]["id"] == "city:paris"
    # Right beside the home, a small radius does not find it; at the city's centre it does.
    beside = state("wanted", "attacker", offset(HOME, 5, 5), radius=0.5)
    assert not domain.matches(beside, offer)
    at_centre = state("wanted", "attacker", {"lat": 48.8566, "lon": 2.3522}, radius=0.5)
    assert domain.matches(at_centre, offer)


def test_neighbours_still_meet_within_the_radius_between_their_cells():
    offer = state("give", "victim", HOME)
    near = state("wanted", "seeker", offset(HOME, 0, 1500), radius=3)
    assert domain.matches(near, offer)
    far = state("wanted", "seeker", offset(HOME, 0, 9000), radius=3)
    assert not domain.matches(far, offer)
    assert domain.area_distance_km(near, offer) == haversine_km(
        near["pickup_area"]["lat"], near["pickup_area"]["lon"], offer["pickup_area"]["lat"], offer["pickup_area"]["lon"]
    )


def call(container, method, *args, **kwargs):
    with entrypoint_hook(container, method) as hook:
        return hook(*args, **kwargs)


def _wanted(title: str) -> dict:
    return {
        "kind": "wanted",
        "category": "toys",
        "title": title,
        "city": "paris",
        "pickup_location": HOME,
        "match_radius_km": 0.1,
    }


def test_wanted_requests_are_limited_per_day_and_withdrawing_does_not_give_one_back(container_factory, service_config):
    config = {**service_config, "WANTED_PER_DAY": 3}
    container = container_factory(ListingsService, config)
    container.start()
    for i in range(3):
        posted = call(container, "create_listing", _wanted(f"probe {i}"), "attacker")
        assert posted["errors"] == [], posted
        withdrawn = call(container, "withdraw_listing", posted["listing"]["id"], "attacker")
        assert withdrawn["errors"] == []
    refused = call(container, "create_listing", _wanted("probe 4"), "attacker")
    assert refused["listing"] is None
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [(["kind"], "RATE_LIMITED")]
    # Offers, and other members' requests, are not held back by it.
    offer = {**_wanted("a toy"), "kind": "give"}
    assert call(container, "create_listing", offer, "attacker")["errors"] == []
    assert call(container, "create_listing", _wanted("mine"), "neighbour")["errors"] == []


def test_a_protected_owners_listing_is_posted_at_city_level(container_factory, service_config):
    container = container_factory(ListingsService, service_config)
    container.start()
    offer = {**_wanted("a toy"), "kind": "give"}
    posted = call(container, "create_listing", offer, "victim", [], True)
    assert posted["errors"] == []
    assert posted["listing"]["pickup_area"]["id"] == "city:paris"
    seen_by_others = call(container, "get_listings", [posted["listing"]["id"]], "someone")[0]
    assert "pickup_location" not in seen_by_others and seen_by_others["pickup_area"]["id"] == "city:paris"


def test_matching_reads_active_listings_markers_which_hold_no_point_or_text(container_factory, service_config, db):
    container = container_factory(ListingsService, service_config)
    container.start()
    offer = call(container, "create_listing", {**_wanted("a toy"), "kind": "give"}, "giver")["listing"]
    withdrawn = call(container, "create_listing", {**_wanted("another toy"), "kind": "give"}, "giver")["listing"]
    call(container, "withdraw_listing", withdrawn["id"], "giver")
    markers = {m["_id"]: m for m in db.listings_expiring.find({})}
    assert set(markers) == {offer["id"]}
    text = repr(markers)
    assert "pickup_location" not in text and "a toy" not in text and str(HOME["lat"]) not in text
    wanted = call(container, "create_listing", {**_wanted("looking"), "match_radius_km": 2}, "seeker")["listing"]
    matched = {n["subject"]["id"] for n in call(container, "inbox", "seeker")["items"]}
    assert matched == {offer["id"]} and wanted["id"] not in matched
