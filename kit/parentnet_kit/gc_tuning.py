"""Keeping CPython's full garbage collections short in the long-running processes.

CPython's cyclic collector runs a full (generation 2) collection now and then, and it walks
every tracked object the process holds, most of them made at start-up and alive until it exits:
the modules, graphene's schema, nameko's containers, pymongo's and pika's machinery. Measured in
the soak of 2026-12-01 20:38 (bench/README.md "Pauses of the collector"): the gateway held ~100,000
to ~120,000 such objects and paused 40 to 320 ms for a full collection every 25 to 80 s, every
request in flight on its event loop waiting meanwhile; each nameko service paused 40 to 165 ms.
At 6 calls/s that is the slowest percent of calls, which is what a p99 reads.

``freeze()`` moves every object alive now to the permanent generation (``gc.freeze``, Python 3.7+,
"Garbage Collector interface" in the standard library's documentation), which no collection
walks; objects made afterwards are collected as before. Call it once the process has started and
before it serves. Nothing is leaked: the frozen objects are the ones that live as long as the
process; a frozen object that does become garbage is freed by reference counting as ever, only a
cycle among frozen objects stays (the documentation's one caveat).
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def freeze() -> int:
    """Collect what start-up left behind, then freeze every object still tracked: returns how
    many objects the collector will no longer walk (``gc.get_freeze_count()``)."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("start-up objects frozen out of the collector's walks: %d", frozen)
    return frozen
