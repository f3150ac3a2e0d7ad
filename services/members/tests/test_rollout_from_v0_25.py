"""A known limitation of upgrading members from v0.25.0 (docs/operations.md "Upgrading from
v0.25.0"), and the documented remedy.

v0.25.0's ``set_block`` appends a member's sequence entry only before a block's *first* commit
and nothing after a write: a re-block (block, unblock, block again) appends nothing. v0.26.0
reads a member's blocks from a snapshot plus the markers after it, so a change an old instance
made while both ran is not read: after a rolling deploy the blocked parent sees the blocker
again. The remedy: deploy members in one step, or, once the old instances are gone, run
``python -m members.remark_relations`` (``MemberStore.remark_relations``: a marker for every
relation, so every reader reads each one again). Dropping the snapshot collections, the remedy
first written, no longer is one: they hold the epochs and bases, and closed epochs' markers are
deleted.

The old instance is played by this store without its ``on_applied`` (the after-marker), which is
what v0.25.0's commit path is: outbox record, then the aggregate write, then publish. (From the
stop-26 review's test_review_rollout.py.)
"""

from __future__ import annotations

from test_relation_reads import _members, _store


def test_a_reblock_by_v0_25_during_a_rolling_deploy_is_read_once_relations_are_marked_again(service_config):
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
        # The remedy, once the old instance is gone: mark every relation again.
        old_client.close()
        assert new.remark_relations() >= 1
        assert seen(new) == {"vera blocked": ["wanda"], "wanda blocked by": ["vera"]}
        # A second process started after it reads the same.
        fresh_client, fresh = _store(service_config)
        try:
            assert seen(fresh) == {"vera blocked": ["wanda"], "wanda blocked by": ["vera"]}
        finally:
            fresh_client.close()
    finally:
        client.close()
        old_client.close()
