"""Upserts of the same new ``_id`` by many writers at once, against the real store: every writer
succeeds and one document stays (FerretDB 1.24 answers the losers of a bare upsert with E11000)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pymongo.errors import DuplicateKeyError

from parentnet_kit import upserts
from parentnet_kit.lookups import is_ferretdb

WRITERS = 16
IDS = 50


def race(write: Callable[[str, int], Any], ids: list[str]) -> list[BaseException]:
    """Run ``write(id, writer)`` from ``WRITERS`` threads released together, id after id;
    returns what they raised."""
    raised: list[BaseException] = []
    for doc_id in ids:
        barrier = threading.Barrier(WRITERS)

        def one(writer: int, doc_id: str = doc_id, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                write(doc_id, writer)
            except Exception as exc:  # noqa: BLE001 - every error is the finding
                raised.append(exc)

        threads = [threading.Thread(target=one, args=(w,)) for w in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return raised


def fresh_ids(prefix: str) -> list[str]:
    return [f"{prefix}-{k}" for k in range(IDS)]


def test_a_bare_upsert_of_a_new_id_loses_the_race_on_ferretdb(db):
    """What the helpers are for: without them some writers get E11000 (MongoDB 4.2+ retries
    such an upsert itself, so there nobody does)."""
    coll = db["bare"]
    raised = race(lambda doc_id, w: coll.replace_one({"_id": doc_id}, {"w": w}, upsert=True), fresh_ids("bare"))
    assert all(isinstance(exc, DuplicateKeyError) for exc in raised), raised[:3]
    if is_ferretdb(db):
        assert raised, "no upsert lost the race: this store no longer shows the fault the helpers absorb"
    assert coll.count_documents({}) == IDS


def test_racing_replaces_of_a_new_id_all_succeed_and_one_document_stays(db):
    coll = db["replaced"]
    ids = fresh_ids("replaced")
    raised = race(lambda doc_id, w: upserts.replace(coll, doc_id, {"_id": doc_id, "w": w, "of": doc_id}), ids)
    assert raised == []
    found = {doc["_id"]: doc for doc in coll.find({})}
    assert sorted(found) == sorted(ids)  # one document per id, no other
    for doc_id, doc in found.items():
        assert doc["of"] == doc_id and doc["w"] in range(WRITERS)  # one writer's whole document


def test_racing_updates_of_a_new_id_all_succeed_on_one_document(db):
    coll = db["updated"]
    ids = fresh_ids("updated")
    raised = race(lambda doc_id, w: upserts.update(coll, doc_id, {"$max": {"n": w}, "$set": {"of": doc_id}}), ids)
    assert raised == []
    found = {doc["_id"]: doc for doc in coll.find({})}
    assert sorted(found) == sorted(ids)
    for doc_id, doc in found.items():
        assert doc["of"] == doc_id and doc["n"] in range(WRITERS)
        # MongoDB applies each $max atomically; FerretDB 1.x writes the whole document back
        # after reading it (its issue #3040), so there a racing $max may be overwritten by a
        # smaller one: the upsert race is gone, that one is not (sequences' hint allows for it).
        assert doc["n"] == WRITERS - 1 or is_ferretdb(db)
    upserts.update(coll, ids[0], {"$max": {"n": WRITERS}})
    assert coll.find_one({"_id": ids[0]})["n"] == WRITERS


class LosesTheRaceOnce:
    """A collection whose first upsert finds nothing while another writer inserts first."""

    def __init__(self, coll: Any, racer: dict[str, Any]) -> None:
        self.coll, self.racer, self.calls = coll, racer, 0

    def _lost(self) -> None:
        self.calls += 1
        if self.calls == 1:
            self.coll.insert_one(self.racer)
            raise DuplicateKeyError("E11000 duplicate key error collection", 11000, {"code": 11000})

    def replace_one(self, *args: Any, **kwargs: Any) -> Any:
        self._lost()
        return self.coll.replace_one(*args, **kwargs)

    def update_one(self, *args: Any, **kwargs: Any) -> Any:
        self._lost()
        return self.coll.update_one(*args, **kwargs)


def test_the_loser_replaces_the_winners_document(db):
    racing = LosesTheRaceOnce(db["lost"], {"_id": "a", "w": "winner"})
    result = upserts.replace(racing, "a", {"w": "loser"})
    assert racing.calls == 2 and result.matched_count == 1
    assert db["lost"].find_one({"_id": "a"}) == {"_id": "a", "w": "loser"}  # the last write stays


def test_the_loser_applies_its_operators_to_the_winners_document(db):
    racing = LosesTheRaceOnce(db["lost"], {"_id": "h", "n": 9, "by": "winner"})
    upserts.update(racing, "h", {"$max": {"n": 4}})
    assert db["lost"].find_one({"_id": "h"}) == {"_id": "h", "n": 9, "by": "winner"}  # $max kept 9
    racing = LosesTheRaceOnce(db["lost"], {"_id": "k", "n": 2})
    upserts.update(racing, "k", {"$max": {"n": 4}})
    assert db["lost"].find_one({"_id": "k"})["n"] == 4


class AlwaysDuplicate:
    def __init__(self, details: dict[str, Any]) -> None:
        self.details, self.calls = details, 0

    def replace_one(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        raise DuplicateKeyError("E11000 duplicate key error", 11000, self.details)


def test_a_second_loss_is_raised_and_another_index_is_not_retried():
    twice = AlwaysDuplicate({"code": 11000})
    with pytest.raises(DuplicateKeyError):
        upserts.replace(twice, "a", {"w": 1})
    assert twice.calls == 2
    # MongoDB names the index: a duplicate on another unique index is the caller's to handle.
    other = AlwaysDuplicate({"code": 11000, "keyPattern": {"email": 1}, "keyValue": {"email": "x"}})
    with pytest.raises(DuplicateKeyError):
        upserts.replace(other, "a", {"email": "x"})
    assert other.calls == 1
    on_id = AlwaysDuplicate({"code": 11000, "keyPattern": {"_id": 1}, "keyValue": {"_id": "a"}})
    with pytest.raises(DuplicateKeyError):
        upserts.replace(on_id, "a", {"w": 1})
    assert on_id.calls == 2


def test_every_upsert_in_services_and_kit_goes_through_the_helpers():
    """A bare ``upsert=True`` is the fault these helpers absorb: none may come back."""
    root = Path(__file__).resolve().parents[2]
    sources = [*root.glob("services/*/*/**/*.py"), *root.glob("kit/parentnet_kit/**/*.py")]
    bare = [
        f"{path.relative_to(root)}:{n}"
        for path in sources
        if "tests" not in path.relative_to(root).parts and path.name != "upserts.py"
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"\bupsert\s*=\s*True", line)
    ]
    assert len(sources) > 50 and bare == []
