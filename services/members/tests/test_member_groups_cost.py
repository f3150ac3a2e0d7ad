"""A member's own groups (``viewer { groups }``, ``members.member_groups``) cost finds that follow
the member's groups, not how many people are in them (a review at stop 26 found they did: each
group's member count read every membership; now the group's relation index answers it).

Seen through the API at volume (tests/e2e/test_review_relations.py, 6,000 members in 240 groups):
``viewer { groups }`` for a member in 10 groups took 4 to 5 s, and once 5.3 s in members, past the
gateway's deadline, so the field answered SERVICE_UNAVAILABLE. Here the finds are counted: the same
member in the same 5 groups, first with the groups nearly empty, then with 60 members each.
"""

from __future__ import annotations

from test_relation_reads import _members, _store

from parentnet_kit.testing import StoreReads


def test_member_groups_costs_the_same_however_full_the_groups_are(service_config):
    finds = StoreReads()
    client, store = _store(service_config)
    other_client, other = _store(service_config, finds)
    try:
        crowd = [f"c{i:03d}" for i in range(60)]
        _members(store.db, "me", "founder", *crowd)
        groups = [
            store.create_group("founder", {"name": f"Square {i}", "city": "paris"})["group"]["id"] for i in range(5)
        ]
        for gid in groups:
            assert store.join_group("me", gid)["errors"] == []
        other.member_groups("me")  # snapshots written
        finds.clear()
        assert len(other.member_groups("me")) == 5
        small = len(finds.finds())

        for gid in groups:
            for c in crowd:
                assert store.join_group(c, gid)["errors"] == []
        other.member_groups("me")
        finds.clear()
        assert len(other.member_groups("me")) == 5
        full = len(finds.finds())
        assert full <= small + len(groups), f"{small} finds with the groups nearly empty, {full} with 60 members each"
    finally:
        client.close()
        other_client.close()
