"""What Elasticsearch applied to an index between two moments, counted from outside.

Every write that Elasticsearch applies takes the next sequence number of its shard; a write
refused as stale or repeated (a 409 under ``version_type=external``) takes none and is
counted apart in the index's ``index_failed_due_to_version_conflict`` (checked on 8.19: v1,
v1 again, v2 gives ``max_seq_no`` 1 and one conflict). So the writes applied in a window are
the advance of ``max_seq_no`` summed over the primary shards, whichever documents they
touched. An event applied once leaves one write; an event applied twice leaves two.

``applied twice`` in the fault table is then ``writes - distinct events sent`` (never below
0): under correct indexing each (document, version) succeeds at most once, since after it
the document's version is at least that one. A write by anything else in the window counts
against us too, so the measure can only overstate a fault, never hide one; the tests wait
for a quiet index before they mark.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from elasticsearch import Elasticsearch, NotFoundError


@dataclass(frozen=True)
class Mark:
    """An index's state at one moment: per primary shard the highest sequence number taken
    (-1 for none yet, or for an index that does not exist), and the refused writes so far."""

    seq_nos: dict[str, int]
    refused: int


@dataclass(frozen=True)
class Writes:
    """Between two marks: ``applied`` writes Elasticsearch took, ``refused`` ones it answered
    with a version conflict (a repeat or a stale event, harmless)."""

    applied: int
    refused: int

    def twice(self, distinct_events: int) -> int:
        """Writes beyond one per distinct (document, version) event sent: 0 when nothing was
        applied twice."""
        return max(0, self.applied - distinct_events)


def mark(es: Elasticsearch, index: str) -> Mark:
    """``index`` may be an alias; a missing index marks as empty (its first write is 0)."""
    try:
        stats = es.indices.stats(index=index, metric="indexing", level="shards")
    except NotFoundError:
        return Mark({}, 0)
    seq_nos: dict[str, int] = {}
    refused = 0
    for name, entry in stats["indices"].items():
        refused += entry["primaries"]["indexing"].get("index_failed_due_to_version_conflict", 0)
        for shard, copies in entry["shards"].items():
            for copy in copies:
                if copy["routing"]["primary"]:
                    seq_nos[f"{name}/{shard}"] = copy["seq_no"]["max_seq_no"]
    return Mark(seq_nos, refused)


def between(before: Mark, after: Mark) -> Writes:
    applied = sum(seq_no - before.seq_nos.get(shard, -1) for shard, seq_no in after.seq_nos.items())
    return Writes(applied=applied, refused=after.refused - before.refused)


def quiet(es: Elasticsearch, index: str, still_for: float = 2.0, timeout: float = 60.0) -> Mark:
    """Wait until nothing has been written to ``index`` for ``still_for`` seconds (what an
    earlier test left in flight lands first), and mark it then. Raises TimeoutError."""
    deadline = time.monotonic() + timeout
    last = mark(es, index)
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = mark(es, index)
        if now.seq_nos != last.seq_nos:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= still_for:
            return now
    raise TimeoutError(f"{index} was still being written after {timeout:g} s")
