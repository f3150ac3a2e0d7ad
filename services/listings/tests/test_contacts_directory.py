"""The trusted contacts' directory reads its city's sequence of contact versions and the page's
contacts by ``_id``, and a contact's recommendations from its recommenders' sequence, never a
filter over every contact or recommendation (issue 17). On the real store."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from listings.store import ListingStore


def contact(name: str, kind: str = "paediatrician", **extra) -> dict:
    return {"kind": kind, "name": name, "city": "paris", "phone": "+33 1 43 00 00 00", "languages": ["fr"], **extra}


@pytest.fixture
def store(db) -> ListingStore:
    store = ListingStore(db, None)
    store.ensure_indexes()
    return store


def add(store: ListingStore, member: str, raw: dict) -> str:
    result = store.add_contact(raw, member)
    assert result["errors"] == [], result
    return result["contact"]["id"]


def names(page: dict) -> list[str]:
    return [c["name"] for c in page["contacts"]]


def test_the_page_follows_recommendations_filters_groups_and_pages(store):
    a = add(store, "m1", contact("A"))
    b = add(store, "m1", contact("B", "nursery", languages=["fr", "vi"]))
    add(store, "m1", contact("C", group_id="g1"))
    add(store, "m1", {**contact("D"), "city": "annecy"})
    assert names(store.list_contacts("paris", None, None, [], 10, 0)) == ["A", "B"]  # a tie: by id
    for member in ("m2", "m3"):
        assert store.recommend(b, member)["errors"] == []
    assert store.recommend(a, "m2")["contact"]["recommendations"] == 2
    page = store.list_contacts("paris", None, None, ["g1"], 2, 0)
    assert names(page) == ["B", "A"] and page["total"] == 3 and page["has_next_page"]
    assert [c["recommendations"] for c in page["contacts"]] == [3, 2]
    assert names(store.list_contacts("paris", None, None, ["g1"], 2, 2)) == ["C"]
    assert names(store.list_contacts("paris", "nursery", None, [], 10, 0)) == ["B"]
    assert names(store.list_contacts("paris", None, "vi", [], 10, 0)) == ["B"]
    assert store.list_contacts(None, None, None, [], 10, 0)["total"] == 0


def test_concurrent_recommendations_are_all_counted_and_a_repeat_is_refused(store):
    c = add(store, "m0", contact("Dr Nguyen"))
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: store.recommend(c, f"m{i}"), range(1, 17)))
    assert all(r["errors"] == [] for r in results)
    assert store.recommend(c, "m3")["errors"][0]["code"] == "ALREADY_RECOMMENDED"
    page = store.list_contacts("paris", None, None, [], 10, 0)
    assert [(x["name"], x["recommendations"]) for x in page["contacts"]] == [("Dr Nguyen", 17)]


def test_contacts_and_recommendations_stored_before_the_sequences_are_adopted(db):
    """As older code stored them: contacts and recommendations, nothing the page reads."""
    now = datetime.now(UTC)
    for contact_id, name, recommenders in (("old-a", "Old A", ["x"]), ("old-b", "Old B", ["x", "y"])):
        db["contacts"].insert_one(
            {
                "_id": contact_id,
                "version": 1 + len(recommenders),
                **contact(name),
                "email": None,
                "website": None,
                "address": None,
                "description": None,
                "group_id": None,
                "location": None,
                "added_by": "x",
                "recommendations": len(recommenders),
                "created_at": now,
            }
        )
        for member in recommenders:
            db["recommendations"].insert_one({"_id": f"{contact_id}:{member}", "contact_id": contact_id, "at": now})
    store = ListingStore(db, None)
    store.ensure_indexes()
    assert names(store.list_contacts("paris", None, None, [], 10, 0)) == ["Old B", "Old A"]
    assert store.recommend("old-b", "y")["errors"][0]["code"] == "ALREADY_RECOMMENDED"
    assert store.recommend("old-a", "y")["contact"]["recommendations"] == 2
    assert store.recommend("old-a", "z")["contact"]["recommendations"] == 3
    assert names(store.list_contacts("paris", None, None, [], 10, 0)) == ["Old A", "Old B"]
    # Once per database.
    ListingStore(db, None).ensure_indexes()
    assert store.list_contacts("paris", None, None, [], 10, 0)["total"] == 2
