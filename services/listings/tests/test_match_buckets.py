"""Matching reads its candidates from buckets by category, side and tile (listings/buckets.py),
by ``_id``, never the markers of every active listing (issue 17). On the real store: what a
member would see is who was matched with whom, so the tests read the recorded matches."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from listings import buckets, domain
from listings.store import ListingStore, _open_marker

# Either side of longitude 2.56°, a tile border at every level (0.04°, 0.16° and 0.64°), ~2 km apart.
WEST = {"lat": 48.85, "lon": 2.55}
EAST = {"lat": 48.85, "lon": 2.57}


def fields(kind: str, where: dict, **extra) -> dict:
    return {
        "kind": kind,
        "category": "toys",
        "title": f"{kind} toys",
        "city": "paris",
        "pickup_location": where,
        **({"condition": "good"} if kind != "wanted" else {"match_radius_km": 3}),
        **extra,
    }


@pytest.fixture
def store(db) -> ListingStore:
    store = ListingStore(db, None)
    store.ensure_indexes()
    return store


def post(store: ListingStore, owner: str, raw: dict) -> str:
    result = store.create(raw, owner, [])
    assert result["errors"] == [], result
    return result["listing"]["id"]


def matched(store: ListingStore) -> set[tuple[str, str]]:
    return {(m["wanted_id"], m["offer_id"]) for m in store.matches.aggregates.find({})}


def tiles(listing_id: str, store: ListingStore) -> set[tuple[int, int, int]]:
    area = store.listings.get(listing_id)["pickup_area"]
    return {(k, *buckets._tile(area["lat"], area["lon"], size)) for k, size in enumerate(buckets.LEVELS)}


@pytest.mark.parametrize("offer_first", [True, False])
def test_a_match_is_found_across_a_tile_border_whichever_side_posts_first(store, offer_first):
    if offer_first:
        offer = post(store, "offerer", fields("give", EAST))
        wanted = post(store, "seeker", fields("wanted", WEST))
    else:
        wanted = post(store, "seeker", fields("wanted", WEST))
        offer = post(store, "offerer", fields("give", EAST))
    assert not tiles(offer, store) & tiles(wanted, store)  # in different tiles at every level
    assert matched(store) == {(wanted, offer)}


def test_expired_and_withdrawn_listings_are_not_matched(store):
    live = post(store, "a", fields("give", EAST))
    withdrawn = post(store, "b", fields("lend", EAST))
    assert store.close(withdrawn, "b", "withdrawn")["errors"] == []
    lapsed = post(store, "c", fields("sell", EAST, price={"amount": "5.00", "currency": "EUR"}))
    # Past its expiry, not swept yet: its marker and its bucket entry still say active.
    past = datetime.now(UTC) - timedelta(minutes=1)
    store.listings.aggregates.update_one({"_id": lapsed}, {"$set": {"expires_at": past}})
    wanted = post(store, "seeker", fields("wanted", WEST))
    assert matched(store) == {(wanted, live)}


def test_a_listing_reserved_then_declined_is_matched_again(store):
    offer = post(store, "offerer", fields("give", EAST))
    assert store.reserve(offer, "taker", [])["errors"] == []
    early = post(store, "early", fields("wanted", WEST))
    assert matched(store) == set()  # reserved: not on offer
    assert store.decide_reservation(offer, "offerer", accept=False)["errors"] == []
    later = post(store, "later", fields("wanted", WEST))
    assert matched(store) == {(later, offer)}
    assert early != later


def test_concurrent_postings_into_one_bucket_are_all_found(store):
    with ThreadPoolExecutor(8) as pool:
        # As many as one posting is matched with (MATCHES_PER_LISTING): each must be found.
        offers = list(pool.map(lambda i: post(store, f"offerer-{i}", fields("give", EAST)), range(20)))
    wanted = post(store, "seeker", fields("wanted", WEST))
    assert matched(store) == {(wanted, offer) for offer in offers}
    # The bucket is dense: one entry per offer, numbered 1..20, whoever raced whom.
    period = buckets.period_of(store.listings.get(offers[0])["expires_at"])
    key = buckets.entered_at(_open_marker(store.listings.get(offers[0])))[0]
    entries = store.db[period].find({"_id": {"$regex": f"^{key}:[0-9]+$"}})
    assert sorted(e["n"] for e in entries) == list(range(1, 21))


def test_listings_stored_before_the_buckets_are_matched_before_and_after_their_adoption(db):
    """As a filled or older database holds them: listings and nothing matching reads. The service
    answers at once (adoption is the timer's, not the start-up's): until the buckets are adopted,
    matching reads the markers; after, the buckets; either way the old listings are found."""
    now = datetime.now(UTC)
    old = []
    for owner, kind in (("a", "give"), ("b", "lend"), ("c", "wanted")):
        clean, errors = domain.validate_listing(fields(kind, EAST), now)
        assert errors == []
        state = {**domain.new_listing_state(clean, owner, now), "matched": True, "owner_apart": []}
        db["listings"].insert_one(state)
        old.append(state["_id"])
    store = ListingStore(db, None)
    store.ensure_indexes()
    assert not store.buckets_adopted()
    wanted = post(store, "seeker", fields("wanted", WEST))
    assert matched(store) == {(wanted, old[0]), (wanted, old[1])}
    store.adopt_buckets()
    assert store.buckets_adopted() and ListingStore(db, None).buckets_adopted()
    offer = post(store, "giver", fields("give", WEST))
    assert matched(store) == {(wanted, old[0]), (wanted, old[1]), (old[2], offer), (wanted, offer)}
    # Once per database: a second adoption enters nothing again.
    before = sum(db[n].count_documents({}) for n in db.list_collection_names() if n.startswith(buckets.PREFIX))
    again = ListingStore(db, None)
    again.ensure_indexes()
    again.adopt_buckets()
    after = sum(db[n].count_documents({}) for n in db.list_collection_names() if n.startswith(buckets.PREFIX))
    assert after == before


def test_the_sweep_drops_ended_periods_and_keeps_the_live_entries(store):
    live = post(store, "a", fields("give", EAST))
    # An entry of a listing that expired two periods ago, as a long-running store would hold.
    gone = {**_open_marker(store.listings.get(live)), "expires_at": datetime.now(UTC) - 2 * buckets.PERIOD}
    store.matching.enter("long-gone", gone)
    ended = buckets.period_of(gone["expires_at"])
    assert ended in store.db.list_collection_names()
    store.expire_due()
    names = store.db.list_collection_names()
    assert ended not in names
    assert buckets.period_of(store.listings.get(live)["expires_at"]) in names
    wanted = post(store, "seeker", fields("wanted", WEST))
    assert matched(store) == {(wanted, live)}


def test_a_posting_reads_a_handful_of_buckets():
    """How many buckets a posting reads, per period, for the radii members choose."""
    area = {"id": "x", "lat": 48.85, "lon": 2.35}

    def read(radius: float) -> int:
        wanted = {"kind": "wanted", "category": "toys", "pickup_area": area, "match_radius_km": radius}
        return len(buckets.looked_up(wanted))

    assert all(read(radius) <= 6 for radius in (0.5, 1.0, 3.0, 5.0, 10.0, 20.0))
    assert read(domain.RADIUS_MAX_KM) <= 12
    assert len(buckets.looked_up({"kind": "give", "category": "toys", "pickup_area": area})) == len(buckets.LEVELS)


def test_adoption_racing_a_posting_into_one_bucket_keeps_both_and_the_bucket_dense(store):
    """A posting entered while the start-up adopts: the adoption's entry numbered 1 finds it
    taken and goes after it."""
    first = post(store, "a", fields("give", EAST))
    marker = _open_marker(store.listings.get(first))
    written = store.matching.enter_many([{"_id": "adopted", **marker}])
    assert written == len(buckets.LEVELS)
    period = buckets.period_of(marker["expires_at"])
    for key in buckets.entered_at(marker):
        entries = store.db[period].find({"_id": {"$regex": f"^{key}:[0-9]+$"}})
        assert sorted((e["n"], e["listing_id"]) for e in entries) == [(1, first), (2, "adopted")]
