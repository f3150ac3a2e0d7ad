"""Per-key sequences against the real store: dense, insert-only, nothing lost under racing appends."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from parentnet_kit.sequences import Sequences


def test_append_numbers_densely_and_reads_newest_first(db):
    seq = Sequences(db["seq"])
    assert seq.head("a") == 0
    assert list(seq.newest_first("a")) == []
    assert [seq.append("a", {"v": i}) for i in range(5)] == [1, 2, 3, 4, 5]
    assert seq.append("b", {"v": "other"}) == 1
    assert seq.head("a") == 5
    assert [e["v"] for e in seq.newest_first("a")] == [4, 3, 2, 1, 0]
    assert [e["v"] for e in seq.range("a", 2, 4)] == [1, 2]
    assert [e["v"] for e in seq.all("b")] == ["other"]


def test_a_stale_or_missing_hint_only_costs_lookups(db):
    seq = Sequences(db["seq"])
    for i in range(20):
        seq.append("k", {"v": i})
    db["seq"].update_one({"_id": "k:head"}, {"$set": {"n": 3}})
    assert seq.head("k") == 20
    assert seq.append("k", {"v": 20}) == 21
    db["seq"].delete_one({"_id": "k:head"})
    assert seq.head("k") == 21
    assert [e["v"] for e in seq.newest_first("k")][:2] == [20, 19]


def test_newest_first_stops_where_the_oldest_entries_were_swept(db):
    seq = Sequences(db["seq"])
    for i in range(6):
        seq.append("k", {"v": i})
    db["seq"].delete_many({"_id": {"$in": ["k:1", "k:2"]}})
    assert [e["n"] for e in seq.newest_first("k")] == [6, 5, 4, 3]
    assert seq.append("k", {"v": 6}) == 7


def test_fifty_concurrent_appends_to_one_key_are_all_kept_densely(db):
    seq = Sequences(db["seq"])
    with ThreadPoolExecutor(max_workers=50) as pool:
        numbers = list(pool.map(lambda i: seq.append("hot", {"v": i}), range(50)))
    assert sorted(numbers) == list(range(1, 51))
    entries = list(seq.newest_first("hot"))
    assert [e["n"] for e in entries] == list(range(50, 0, -1))
    assert sorted(e["v"] for e in entries) == list(range(50))
    assert seq.head("hot") == 50


def test_extend_appends_in_bulk_after_what_is_there(db):
    seq = Sequences(db["seq"])
    seq.append("k", {"v": "first"})
    seq.extend("k", [{"v": i} for i in range(3)])
    assert [e["v"] for e in seq.all("k")] == ["first", 0, 1, 2]
    assert seq.append("k", {"v": "last"}) == 5


def test_a_cache_reads_only_what_came_after(db):
    seq = Sequences(db["seq"], cache_keys=2)
    other = Sequences(db["seq"])  # another process
    for i in range(3):
        other.append("k", {"v": i})
    assert [e["v"] for e in seq.all("k")] == [0, 1, 2]
    db["seq"].update_one({"_id": "k:1"}, {"$set": {"v": "changed under the cache"}})
    other.append("k", {"v": 3})
    assert [e["v"] for e in seq.all("k")] == [0, 1, 2, 3]  # 1..3 from the cache, 4 read
    seq.all("a"), seq.all("b")  # "k" is the least recently used of three: out
    assert seq.all("k")[0]["v"] == "changed under the cache"


def test_dropping_a_prefix_never_lets_the_head_or_an_append_start_below_it(db):
    seq = Sequences(db["seq"])
    for i in range(5):
        seq.append("k", {"i": i})
    db["seq"].update_one({"_id": "k:head"}, {"$set": {"n": 2}})  # a stale hint (a lost race)
    assert [e["i"] for e in seq.drop_prefix("k", 1, 4)] == [0, 1, 2, 3]
    assert seq.head("k") == 5
    assert seq.append("k", {"i": 5}) == 6
    assert [e["i"] for e in seq.newest_first("k")] == [5, 4]
    assert seq.drop_prefix("k", 1, 4) == []  # again: nothing left to do
