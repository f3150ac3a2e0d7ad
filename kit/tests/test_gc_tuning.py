"""parentnet_kit.gc_tuning and its hook in nameko_run: once a service has started, what start-up
made is out of the collector's full walks (the soak's p99, bench/README.md "Pauses of the
collector")."""

from __future__ import annotations

import gc

import pytest

from parentnet_kit import gc_tuning, nameko_run


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_freeze_moves_what_is_alive_out_of_the_walks_and_later_objects_are_collected(unfrozen):
    kept = [[] for _ in range(1000)]
    frozen = gc_tuning.freeze()
    # Not equal to gc.get_freeze_count() read later: a frozen object freed meanwhile by another
    # thread of the test process (a client's monitor) leaves the permanent generation.
    assert frozen >= len(kept) and gc.get_freeze_count() > 0
    assert all(not gc.is_finalized(x) for x in kept)

    class Cycle:
        pass

    made_after = Cycle()
    made_after.me = made_after  # a cycle: only the collector frees it
    del made_after
    assert gc.collect() >= 1  # what came after the freeze is collected as before


def test_a_started_nameko_runner_freezes_start_up(unfrozen):
    from nameko.runners import ServiceRunner

    nameko_run.freeze_once_started()
    nameko_run.freeze_once_started()  # idempotent: one wrapper, not two
    runner = ServiceRunner({"AMQP_URI": "memory://"})  # no service: start() starts nothing
    runner.start()
    assert gc.get_freeze_count() > 0
