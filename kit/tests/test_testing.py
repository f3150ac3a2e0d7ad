"""``testing.recording_store`` records what a client selects, on the real store."""

from __future__ import annotations

from pymongo import MongoClient

from parentnet_kit import config, testing
from parentnet_kit.testing import StoreRead


def test_the_record_says_which_selections_went_by_id_and_where():
    name = testing.unique_name("kit")
    try:
        with testing.recording_store(config.mongo_uri(), name) as (db, reads):
            db.kids.insert_many([{"_id": "a", "age": 3}, {"_id": "b", "age": 5}])
            db.parents.insert_one({"_id": "p", "kids": ["a", "b"]})
            assert reads.reads == []  # inserts select nothing
            assert db.parents.find_one({"_id": "p"})["kids"] == ["a", "b"]
            assert [db.kids.find_one({"_id": k})["age"] for k in ("a", "b")] == [3, 5]
            assert [k["_id"] for k in db.kids.find({"age": {"$gt": 4}})] == ["b"]
            db.kids.update_one({"_id": "a"}, {"$set": {"age": 4}})
            db.kids.delete_many({"age": {"$lt": 0}})
            assert db.kids.count_documents({}) == 2

            assert reads.finds_per_collection() == {"parents": 1, "kids": 3}
            assert reads.finds("kids")[-1] == {"age": {"$gt": 4}}
            slow = reads.not_by_id()
            assert [(r.command, r.collection) for r in slow] == [
                ("find", "kids"),
                ("delete", "kids"),
                ("aggregate", "kids"),
            ]
            assert reads.not_by_id(commands=("find",)) == [StoreRead("find", "kids", {"age": {"$gt": 4}})]

            reads.clear()
            db.kids.find_one({"_id": "a"})
            assert reads.reads == [StoreRead("find", "kids", {"_id": "a"})] and reads.not_by_id() == []
    finally:
        MongoClient(config.mongo_uri()).drop_database(name)


def test_in_on_id_counts_as_by_id_only_when_allowed():
    batch = StoreRead("find", "kids", {"_id": {"$in": ["a", "b"]}})
    assert not batch.by_id() and batch.by_id(in_allowed=True)
    assert not StoreRead("find", "kids", {"_id": "a", "age": 3}).by_id(in_allowed=True)
    assert not StoreRead("aggregate", "kids", [{"$match": {"_id": "a"}}]).by_id()
