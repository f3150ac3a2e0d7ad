from gateway.ids import from_global_id, to_global_id


def test_round_trip_and_opaque():
    gid = to_global_id("Outing", "abc123")
    assert "Outing" not in gid and "abc123" not in gid
    assert from_global_id(gid) == ("Outing", "abc123")


def test_garbage_is_not_an_id():
    for bad in ("", "!!!", to_global_id("Outing", "x")[:-3] + "***", "T3V0aW5n"):
        assert from_global_id(bad) is None
