"""A known limitation of upgrading members from v0.25.0 (docs/operations.md "Upgrading from
v0.25.0"), and the documented remedy.

v0.25.0's ``set_block`` appends a member's sequence entry only before a block's *first* commit
and nothing after a write: a re-block (block, unblock, block again) appends nothing. v0.26.0
reads a member's blocks from a snapshot plus the markers after it, so a change an old instance
made while both ran is not read: after a rolling deploy the blocked parent sees the blocker
again. The remedy: deploy members in one step, or drop the two snapshot collections
(``member_block_snapshots``, ``member_group_snapshots``) once the old instances are gone; each
member's next read rebuilds hers from the sequence and the relations it names.

The old instance is played by this store without its ``on_applied`` (the after-marker), which is
what v0.25.0's commit path is: outbox record, then the aggregate write, then publish. (From the
stop-26 review's test_review_rollout.py.)
"""

from __future__ import annotations

from test_relation_reads import _members, _store

SNAPSHOTS = ("member_block_snapshots", "member_group_snapshots")


def test_a_reblock_by_v0_25_during_a_rolling_deploy_is_read_once_the_snapshots_are_dropped(service_config):
    client, new = _store(service_config)
    old_client, old = _store(service_config)
    old.blocks.on_applied = None  # v0.25.0: no marker after a write
    try:
        _members(new.db, "vera", "wanda")
        assert new.set_block("vera", "wanda", True) == {"errors": []}
        assert new.viewer_context("vera")["blocked"] == ["wanda"]
        assert new.set_block("vera", "wanda", False) == {"errors": []}
        assert new.viewer_context("vera")["blocked"] == []  # the snapshots now say: nobody
        assert new.viewer_context("wanda")["blocked_by"] == []
        # Both instances run (a rolling deploy); Vera's re-block lands on the old one.
        assert old.set_block("vera", "wanda", True) == {"errors": []}
        assert new.db.blocks.find_one({"_id": "block:vera:wanda"})["active"] is True

        def seen(store) -> dict:
            return {
                "vera blocked": store.viewer_context("vera")["blocked"],
                "wanda blocked by": store.viewer_context("wanda")["blocked_by"],
            }

        # The limitation, as documented: the new instance misses it.
        assert seen(new) == {"vera blocked": [], "wanda blocked by": []}
        # The remedy, once the old instance is gone: drop the two snapshot collections.
        old_client.close()
        for name in SNAPSHOTS:
            new.db.drop_collection(name)
        assert seen(new) == {"vera blocked": ["wanda"], "wanda blocked by": ["vera"]}
        # A second process started after the drop reads the same.
        fresh_client, fresh = _store(service_config)
        try:
            assert seen(fresh) == {"vera blocked": ["wanda"], "wanda blocked by": ["vera"]}
        finally:
            fresh_client.close()
    finally:
        client.close()
        old_client.close()
