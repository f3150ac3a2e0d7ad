"""The query log: shapes without values, against the real MongoDB-protocol server."""

from __future__ import annotations

import json

from pymongo import MongoClient

from parentnet_kit import config, querylog, testing


def test_a_shape_keeps_field_names_and_operators_and_drops_every_value():
    found = querylog.shape({"recipient_id": "m1", "at": {"$gte": 3}, "$or": [{"a": "x"}, {"a": "y"}]})
    assert found == {"recipient_id": "str", "at": {"$gte": "int"}, "$or": [{"a": "str"}]}
    assert querylog.is_point_lookup({"_id": "str"})
    assert querylog.is_point_lookup([{"q": {"_id": "str"}, "multi": False}])
    assert not querylog.is_point_lookup({"_id": {"$in": ["str"]}})
    assert not querylog.is_point_lookup({"_id": "str", "version": {"$lt": "int"}})


def test_every_command_a_client_sends_is_logged_by_shape_and_summarized(tmp_path, monkeypatch):
    path = tmp_path / "queries.jsonl"
    monkeypatch.setenv(querylog.ENV, str(path))
    client = MongoClient(config.mongo_uri(), event_listeners=querylog.listeners())
    name = testing.unique_name("querylog")
    try:
        things = client[name].things
        things.insert_one({"_id": "a", "home": {"lat": 48.85, "lon": 2.35}})
        for key in ("a", "b", "c"):
            things.find_one({"_id": key})
        things.count_documents({"home.lat": {"$gt": 48.0}})
        things.update_one({"_id": "a"}, {"$set": {"seen": True}})
    finally:
        client.drop_database(name)
        client.close()
    text = path.read_text()
    assert "48.85" not in text and '"a"' not in text  # no value reaches the file
    rows = {(r["command"], str(r["shape"])): r for r in querylog.summarize(text.splitlines())}
    assert rows[("find", "{'_id': 'str'}")]["calls"] == 3
    assert rows[("find", "{'_id': 'str'}")]["indexed"]
    scans = [r for r in rows.values() if r["command"] == "aggregate"]  # count_documents
    assert scans and not scans[0]["indexed"]
    assert rows[("update", "[{'q': {'_id': 'str'}, 'multi': False}]")]["indexed"]


def test_a_window_keeps_only_the_commands_answered_in_it():
    entry = {"db": "d", "collection": "c", "command": "find", "shape": {"_id": "str"}, "ms": 1.0, "ok": True}
    lines = [json.dumps({**entry, "at": at}) for at in (10.0, 20.0, 30.0)] + [json.dumps(entry)]
    assert querylog.summarize(lines)[0]["calls"] == 4
    assert querylog.summarize(lines, 15.0, 30.0)[0]["calls"] == 2
    assert querylog.summarize(lines, start=25.0)[0]["calls"] == 1
    assert querylog.summarize(lines, 40.0, 50.0) == []
