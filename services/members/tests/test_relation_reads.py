"""A member's blocks and groups cost a few finds however many they ever had (issue 17), and every
change is read back at once, by this process and by another (``parentnet_kit.relation_index``).

Counted by a pymongo command listener on the store's own client: the finds one
``viewer_context`` sends, for a member who made 500 blocks (100 of them lifted since), was
blocked by 120 members, and joined 200 groups of which they left 190.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from pymongo import MongoClient
from test_accounts import _signer

from members import security
from members.store import MemberStore
from parentnet_kit.testing import StoreReads


def _store(service_config, finds: StoreReads | None = None):
    client = MongoClient(service_config["MONGO_URI"], tz_aware=True, event_listeners=[finds] if finds else [])
    db = client[service_config["MEMBERS_DB"]]
    store = MemberStore(db, None, _signer(service_config), security.Limits(), timedelta(days=1), lambda f, *a: f(*a))
    return client, store


@pytest.fixture
def stores(service_config):
    """Two stores on the test's database, as two processes have: the second one's finds counted."""
    finds = StoreReads()
    first_client, first = _store(service_config)
    second_client, second = _store(service_config, finds)
    yield first, second, finds
    first_client.close()
    second_client.close()


def _members(db, *ids: str) -> None:
    """Members as ``set_block`` and the groups need them (a document by ``_id``; no sign-up)."""
    db.members.insert_many([{"_id": i, "version": 1, "protected": False} for i in ids])


def test_viewer_context_costs_five_finds_at_500_blocks_120_received_and_200_groups(stores):
    store, other, finds = stores
    blocked = [f"b{i:03d}" for i in range(500)]
    blockers = [f"r{i:03d}" for i in range(120)]
    _members(store.db, "me", "founder", *blocked, *blockers)
    for b in blocked:
        assert store.set_block("me", b, True) == {"errors": []}
    for b in blocked[::5]:
        assert store.set_block("me", b, False) == {"errors": []}
    for r in blockers:
        assert store.set_block(r, "me", True) == {"errors": []}
    groups = [store.create_group("founder", {"name": f"Parc {i}", "city": "paris"})["group"]["id"] for i in range(200)]
    for gid in groups:
        assert store.join_group("me", gid)["errors"] == []
    for gid in groups[10:]:
        assert store.leave_group("me", gid)["errors"] == []
    expected = {
        "blocked": [b for i, b in enumerate(blocked) if i % 5],
        "blocked_by": blockers,
        "groups": {gid: "member" for gid in groups[:10]},
        "protected": False,
    }

    finds.clear()
    assert other.viewer_context("me") == expected  # the first read: the snapshots are written
    first = len(finds.finds())
    finds.clear()
    assert other.viewer_context("me") == expected
    # The block snapshot and the miss after it, the same for the groups, the member's document.
    assert len(finds.finds()) <= 5
    quiet = len(finds.finds())

    assert store.set_block("me", blocked[1], False) == {"errors": []}
    assert store.join_group("me", groups[-1])["errors"] == []
    finds.clear()
    context = other.viewer_context("me")
    assert context["blocked"] == [b for b in expected["blocked"] if b != blocked[1]]
    assert context["groups"] == {**expected["groups"], groups[-1]: "member"}
    assert len(finds.finds()) <= quiet + 4  # a marker and its relation each, read once
    finds.clear()
    other.viewer_context("me")
    assert len(finds.finds()) <= 5
    # Before the snapshots every read paid the first read's price (a find per entry ever).
    assert first > 1000
    print(f"\nviewer_context finds: {first} (first read), {quiet} (after)")


def test_blocks_toggled_are_read_back_at_once_here_and_in_another_process(stores):
    store, other, _ = stores
    _members(store.db, "ann", "bob")
    for active in (True, False, True):
        assert store.set_block("ann", "bob", active) == {"errors": []}
        for reader in (store, other):
            assert reader.blocked("ann") == (["bob"] if active else [])
            assert reader.blocked_by("bob") == (["ann"] if active else [])
            assert reader.block_relations("bob") == {"blocked": [], "blocked_by": ["ann"] if active else []}


def test_join_leave_rejoin_is_read_back_at_once_here_and_in_another_process(stores):
    store, other, _ = stores
    _members(store.db, "ann", "founder")
    gid = store.create_group("founder", {"name": "Square", "city": "paris", "join_policy": "open"})["group"]["id"]
    assert other.viewer_context("founder")["groups"] == {gid: "admin"}
    for change, expected in (
        (store.join_group, {gid: "member"}),
        (store.leave_group, {}),
        (store.join_group, {gid: "member"}),
    ):
        assert change("ann", gid)["errors"] == []
        for reader in (store, other):
            assert reader.viewer_context("ann")["groups"] == expected
            assert [g["id"] for g in reader.member_groups("ann")] == list(expected)
    assert store.set_role("founder", gid, "ann", "moderator")["errors"] == []
    assert other.viewer_context("ann")["groups"] == {gid: "moderator"}
