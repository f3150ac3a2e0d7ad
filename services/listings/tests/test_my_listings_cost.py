"""A page of ``myListings`` reads the page's listings by ``_id``, not every listing the owner ever
posted (the issue-17 review: 150 listings cost 156 finds for ``first: 2``). On the real store."""

from __future__ import annotations

from test_listings import BASTILLE, listing

from listings.store import ListingStore
from parentnet_kit import testing


def test_a_page_of_my_listings_reads_that_page_not_everything_posted(service_config):
    with testing.recording_store(service_config["MONGO_URI"], service_config["LISTINGS_DB"]) as (db, reads):
        store = ListingStore(db, None)
        store.ensure_indexes()
        posted = []
        for i in range(40):
            result = store.create(listing("give", f"Poussette {i}", BASTILLE), "owner", [])
            assert result["errors"] == [], result
            posted.append(result["listing"]["id"])
        store.create(listing("give", "Pas à moi", BASTILLE), "someone", [])
        store.of_owner("owner", 2, None)  # this process reads the owner's sequence once

        reads.clear()
        first = store.of_owner("owner", 2, None)
        assert [li["id"] for li in first["listings"]] == posted[:-3:-1]
        assert first["has_next_page"] and first["total"] == 40
        assert reads.finds_per_collection().get("listings") == 3  # the page's two and the one after it

        reads.clear()
        deep = store.of_owner("owner", 2, posted[10])
        assert [li["id"] for li in deep["listings"]] == [posted[9], posted[8]]
        assert reads.finds_per_collection().get("listings") == 3
        last = store.of_owner("owner", 5, posted[2])
        assert [li["id"] for li in last["listings"]] == [posted[1], posted[0]] and not last["has_next_page"]
        assert store.of_owner("owner", 5, "no-such-listing")["listings"] == []
