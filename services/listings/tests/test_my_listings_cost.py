"""A page of ``myListings`` reads the page's listings by ``_id``, not every listing the owner ever
posted (the issue-17 review: 150 listings cost 156 finds for ``first: 2``). On the real store."""

from __future__ import annotations

from pymongo import MongoClient, monitoring
from test_listings import BASTILLE, listing

from listings.store import ListingStore


class Finds(monitoring.CommandListener):
    def __init__(self) -> None:
        self.collections: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.collections.append(event.command["find"])

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def test_a_page_of_my_listings_reads_that_page_not_everything_posted(service_config):
    finds = Finds()
    client = MongoClient(service_config["MONGO_URI"], tz_aware=True, event_listeners=[finds])
    try:
        store = ListingStore(client[service_config["LISTINGS_DB"]], None)
        store.ensure_indexes()
        posted = []
        for i in range(40):
            result = store.create(listing("give", f"Poussette {i}", BASTILLE), "owner", [])
            assert result["errors"] == [], result
            posted.append(result["listing"]["id"])
        store.create(listing("give", "Pas à moi", BASTILLE), "someone", [])
        store.of_owner("owner", 2, None)  # this process reads the owner's sequence once

        finds.collections.clear()
        first = store.of_owner("owner", 2, None)
        assert [li["id"] for li in first["listings"]] == posted[:-3:-1]
        assert first["has_next_page"] and first["total"] == 40
        assert finds.collections.count("listings") == 3  # the page's two and the one after it

        finds.collections.clear()
        deep = store.of_owner("owner", 2, posted[10])
        assert [li["id"] for li in deep["listings"]] == [posted[9], posted[8]]
        assert finds.collections.count("listings") == 3
        last = store.of_owner("owner", 5, posted[2])
        assert [li["id"] for li in last["listings"]] == [posted[1], posted[0]] and not last["has_next_page"]
        assert store.of_owner("owner", 5, "no-such-listing")["listings"] == []
    finally:
        client.close()
