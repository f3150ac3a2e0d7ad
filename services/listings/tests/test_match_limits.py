"""A new listing is matched with at most ``MATCHES_PER_LISTING`` listings, the nearest first, and
its poster is told once (issue 17: an offer posted near 60 wanted requests told all 60 and its
poster 60 times). On the real store: what members would see is their inbox."""

from __future__ import annotations

import pytest
from test_match_buckets import fields, post

from listings import domain
from listings import store as store_module
from listings.store import MATCHES_PER_LISTING, ListingStore

HERE = {"lat": 48.8530, "lon": 2.3690}


def toys(kind: str, where: dict, **extra) -> dict:
    """test_match_buckets' listing, a wanted one reaching 5 km."""
    return fields(kind, where, **{**({"match_radius_km": 5} if kind == "wanted" else {}), **extra})


@pytest.fixture
def store(db) -> ListingStore:
    store = ListingStore(db, None)
    store.ensure_indexes()
    return store


def inbox(store: ListingStore, member: str) -> list[dict]:
    return store.inbox.page(member, 100)["items"]


def east(km: float) -> dict:
    return {"lat": HERE["lat"], "lon": HERE["lon"] + km / 73.2}  # ~73.2 km per degree here


def test_sixty_wanted_requests_nearby_the_nearest_are_told_and_the_poster_once(store):
    # 60 wanted requests from 0 to ~3 km east, each in its own ~1 km cell band: the nearest
    # areas are the first 20 (of the distinct distances their cells give).
    wanted = {f"seeker-{i}": post(store, f"seeker-{i}", toys("wanted", east(i * 0.05))) for i in range(60)}
    offer = post(store, "giver", toys("give", HERE))

    told = {member for member in wanted if any(n["subject"]["id"] == offer for n in inbox(store, member))}
    assert len(told) == MATCHES_PER_LISTING == 20

    def distance(member: str) -> float:
        return domain.area_distance_km(store.listings.get(offer), store.listings.get(wanted[member]))

    # The nearest by area: nobody left out is nearer than anyone told.
    assert max(distance(m) for m in told) <= min(distance(m) for m in set(wanted) - told)
    (notice,) = inbox(store, "giver")
    assert notice["kind"] == "listing_matches" and notice["subject"]["id"] == offer
    assert notice["params"]["count"] == 20 and "20 listings nearby" in notice["message"]
    assert store.matches.aggregates.count_documents({"offer_id": offer}) == 20

    # Matched again (a redelivery, the sweep after a crash): nobody is told twice.
    assert store.match(offer) == 20
    assert len(inbox(store, "giver")) == 1
    assert all(len(inbox(store, member)) == (1 if member in told else 0) for member in wanted)


def test_one_match_tells_the_poster_about_it(store):
    offer = post(store, "giver", toys("give", east(1)))
    wanted = post(store, "seeker", toys("wanted", HERE))
    (to_seeker,) = inbox(store, "seeker")
    assert (to_seeker["kind"], to_seeker["subject"]["id"]) == ("listing_matched", offer)
    (to_giver,) = inbox(store, "giver")
    assert (to_giver["kind"], to_giver["subject"]["id"]) == ("listing_matched", wanted)


def test_a_wanted_request_near_many_offers_is_told_once(store, monkeypatch):
    monkeypatch.setattr(store_module, "MATCHES_PER_LISTING", 3)
    # 1.5 km apart, each in its own ~1 km cell; the fifth beyond the 5 km radius.
    offers = [post(store, f"giver-{i}", toys("give", east(i * 1.5))) for i in range(5)]
    wanted = post(store, "seeker", toys("wanted", HERE))
    (notice,) = inbox(store, "seeker")
    assert notice["kind"] == "listing_matches" and notice["params"]["count"] == 3
    told = [i for i, offer in enumerate(offers) if inbox(store, f"giver-{i}")]
    assert told == [0, 1, 2]  # the three nearest
    assert all(n["subject"]["id"] == wanted for i in told for n in inbox(store, f"giver-{i}"))
