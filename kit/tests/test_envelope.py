from __future__ import annotations

import pytest

from parentnet_kit import request_ids
from parentnet_kit.envelope import Event, MalformedEvent


def event(**overrides):
    base = dict(type="outing_published", source="events", aggregate_id="o1", version=1, city="paris", data={"a": 1})
    return Event(**{**base, **overrides})


def test_round_trip_keeps_every_field():
    original = event()
    assert Event.from_dict(original.to_dict()) == original
    assert original.routing_key == "events.outing_published"
    assert original.occurred_at.endswith("Z")


def test_unknown_fields_are_ignored():
    raw = {**event().to_dict(), "added_later": "by a newer producer"}
    assert Event.from_dict(raw).aggregate_id == "o1"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "not a JSON object"),
        ({"type": "x"}, "lacks"),
        ({**event().to_dict(), "version": 0}, "positive"),
        ({**event().to_dict(), "version": True}, "positive"),
        ({**event().to_dict(), "data": "text"}, "object"),
    ],
)
def test_malformed_events_are_refused(raw, message):
    with pytest.raises(MalformedEvent, match=message):
        Event.from_dict(raw)


def test_an_event_built_during_a_request_carries_its_id():
    with request_ids.bound("req-42"):
        built = event()
    assert built.request_id == "req-42"
    assert built.to_dict()["request_id"] == "req-42"
    assert Event.from_dict(built.to_dict()) == built


def test_an_event_without_a_request_has_no_request_id_on_the_wire():
    raw = event().to_dict()
    assert "request_id" not in raw
    assert Event.from_dict(raw).request_id is None


def test_an_envelope_from_an_older_producer_or_with_a_bad_request_id_is_read():
    raw = {**event().to_dict(), "request_id": {"not": "a string"}}
    assert Event.from_dict(raw).request_id is None


def test_zones_come_from_the_pinned_tzdata_package_not_the_hosts_files():
    import zoneinfo

    import parentnet_kit  # noqa: F401 - importing the kit sets the search path

    assert zoneinfo.TZPATH == ()
    assert zoneinfo.ZoneInfo("America/Santiago").key == "America/Santiago"
