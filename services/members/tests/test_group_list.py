"""The group list reads its city's sequence of group ids and the page's groups by ``_id``,
never a filter and a count over every group (issue 17). On the real store."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_accounts import _signer

from members import domain, security
from members.store import MemberStore


@pytest.fixture
def store(db, service_config) -> MemberStore:
    store = MemberStore(db, None, _signer(service_config), security.Limits(), timedelta(days=1), lambda f, *a: f(*a))
    store.ensure_indexes()
    return store


def make(store: MemberStore, name: str, city: str) -> str:
    made = store.create_group("founder", {"name": name, "city": city})
    assert made["errors"] == [], made
    return made["group"]["id"]


def listed(store: MemberStore, city: str | None, first: int, after: str | None = None) -> tuple[list[str], dict]:
    page = store.list_groups(city, None, first, after)
    assert page["errors"] == []
    return [e["node"]["name"] for e in page["edges"]], page


def test_a_city_lists_its_groups_in_pages_and_every_group_without_a_city(store):
    paris = {make(store, f"Paris {i}", "paris"): f"Paris {i}" for i in range(5)}
    annecy = make(store, "Annecy", "annecy")
    in_order = [paris[i] for i in sorted(paris)]
    names, page = listed(store, "paris", 3)
    assert names == in_order[:3] and page["total"] == 5 and page["has_next_page"]
    names, page = listed(store, "paris", 3, page["edges"][-1]["cursor"])
    assert names == in_order[3:] and page["total"] == 5 and not page["has_next_page"]
    assert listed(store, "annecy", 10)[0] == ["Annecy"]
    names, page = listed(store, None, 10)
    assert page["total"] == 6 and set(names) == {*paris.values(), "Annecy"}
    assert annecy in {e["node"]["id"] for e in page["edges"]}
    # A redelivered creation (same id) is listed once.
    again = store.create_group("founder", {"name": "Paris 0", "city": "paris"}, next(iter(paris)))
    assert again["errors"] == [] and listed(store, "paris", 10)[1]["total"] == 5


def test_groups_stored_before_the_sequence_are_adopted(db, service_config):
    """As older code stored them: groups, and nothing the list reads."""
    for name in ("Old 1", "Old 2"):
        clean, errors = domain.validate_group({"name": name, "city": "paris"})
        assert errors == []
        db["groups"].insert_one(domain.new_group_state(clean, "founder", domain.now_utc()))
    store = MemberStore(db, None, _signer(service_config), security.Limits(), timedelta(days=1), lambda f, *a: f(*a))
    store.ensure_indexes()
    make(store, "New", "paris")
    names, page = listed(store, "paris", 10)
    assert sorted(names) == ["New", "Old 1", "Old 2"] and page["total"] == 3
    store.ensure_indexes()  # once per database
    assert listed(store, "paris", 10)[1]["total"] == 3
