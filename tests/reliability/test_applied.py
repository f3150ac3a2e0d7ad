"""applied.py's counts against the real Elasticsearch: a (document, version) applied twice is
reported, however the writer versions its writes, and a correct writer reports none."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from applied import Witness, between, mark, quiet
from elasticsearch import Elasticsearch

from parentnet_kit import config


@pytest.fixture(scope="module")
def witness() -> Iterator[Witness]:
    proxy = Witness(config.elasticsearch_url())
    proxy.start()
    yield proxy
    proxy.close()


@pytest.fixture
def index() -> Iterator[str]:
    direct = Elasticsearch(config.elasticsearch_url(), request_timeout=30)
    name = f"applied-test-{uuid.uuid4().hex[:8]}"
    direct.indices.create(index=name, settings={"number_of_shards": 1, "number_of_replicas": 0})
    yield name
    direct.indices.delete(index=name, ignore_unavailable=True)


def write(es: Elasticsearch, index: str, version: int, version_type: str | None) -> int:
    """One bulk of one write of document ``d`` carrying ``version``, as the indexer writes;
    returns the item's status."""
    action: dict = {"_index": index, "_id": "d"}
    if version_type is not None:
        action |= {"version": version, "version_type": version_type}
    answer = es.bulk(operations=[{"index": action}, {"version": version}], filter_path="items.*.status")
    return answer["items"][0]["index"]["status"]


# (versions written in order, version_type, applied, refused, applied twice)
CASES = [
    ([1, 1, 3, 2, 3], "external", 2, 3, 0),  # the repeats and the stale v2 are refused
    ([1, 1], "external_gte", 2, 0, 1),  # v1 again is applied again
    # The case the old measure (applied - distinct events sent = 3 - 3) reported as 0: the
    # stale v2 is refused and v3 is applied twice.
    ([1, 3, 2, 3], "external_gte", 3, 1, 1),
    ([1, 1, 3, 2, 3], "external_gte", 4, 1, 2),
    ([1, 1], None, 2, 0, 1),  # no version at all: every write is applied
]


@pytest.mark.parametrize(("versions", "version_type", "applied", "refused", "twice"), CASES)
def test_a_version_applied_twice_is_counted(witness, index, versions, version_type, applied, refused, twice):
    direct = Elasticsearch(config.elasticsearch_url(), request_timeout=30)
    through = Elasticsearch(witness.url, request_timeout=30)
    before = mark(direct, index, witness)
    statuses = [write(through, index, v, version_type) for v in versions]
    writes = between(before, quiet(direct, index, witness, still_for=0.5), witness)
    assert (writes.applied, writes.refused, writes.twice, writes.unattributed) == (applied, refused, twice, 0)
    assert writes.distinct == len({v for v, s in zip(versions, statuses, strict=True) if s < 300})
    assert len(writes.answered) == len(versions)
    assert writes.refusals_of("d") == refused


def test_a_write_around_the_witness_is_left_unattributed(witness, index):
    direct = Elasticsearch(config.elasticsearch_url(), request_timeout=30)
    through = Elasticsearch(witness.url, request_timeout=30)
    before = mark(direct, index, witness)
    write(through, index, 1, "external")
    write(direct, index, 2, "external")
    writes = between(before, quiet(direct, index, witness, still_for=0.5), witness)
    assert (writes.applied, len(writes.attributed), writes.unattributed) == (2, 1, 1)
