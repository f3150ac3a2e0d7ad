from __future__ import annotations

import pytest

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
