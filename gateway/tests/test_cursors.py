"""One cursor scheme: opaque, bound to its list and arguments, positions checked by shape."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from graphql import GraphQLError

from gateway import cursors
from gateway.schema.outings import OutingSort


def info(type_name: str = "Query", field: str = "nearbyOutings") -> SimpleNamespace:
    """What cursors.py reads of a resolver's info: the list's name and the error's place."""
    return SimpleNamespace(
        parent_type=SimpleNamespace(name=type_name),
        field_name=field,
        field_nodes=[],
        path=SimpleNamespace(as_list=lambda: [field]),
    )


ARGS = {"near": {"lat": 48.85, "lon": 2.29}, "radius_km": 2.0, "filter": None, "sort": "distance"}


def test_a_cursor_round_trips_its_position():
    cursor = cursors.encode(info(), ARGS, [0.42, "outing-1"])
    assert "=" not in cursor and "outing-1" not in cursor  # opaque, URL-safe
    assert cursors.decode(info(), cursor, ARGS, cursors.is_sort_values) == [0.42, "outing-1"]
    assert cursors.decode(info(), None, ARGS, cursors.is_sort_values) is None


def test_the_fingerprint_ignores_how_the_same_arguments_are_written():
    member = OutingSort.get("distance")  # graphene hands enum arguments over as members
    assert cursors.fingerprint({**ARGS, "sort": member}) == cursors.fingerprint(ARGS)
    assert cursors.fingerprint({"b": 1, "a": {"y": 2, "x": None}}) == cursors.fingerprint({"a": {"y": 2}, "b": 1})
    assert cursors.fingerprint({**ARGS, "sort": "start"}) != cursors.fingerprint(ARGS)


@pytest.mark.parametrize(
    ("where", "arguments", "message"),
    [
        (info(), {**ARGS, "sort": "start"}, "other arguments"),  # a DISTANCE cursor with START_TIME
        (info(), {**ARGS, "radius_km": 3.0}, "other arguments"),
        (info("Query", "nearbyListings"), ARGS, "not a cursor from this list"),
        (info("Group", "members"), ARGS, "not a cursor from this list"),
    ],
)
def test_a_cursor_sent_to_another_query_is_bad_user_input(where, arguments, message):
    cursor = cursors.encode(info(), ARGS, [0.42, "outing-1"])
    with pytest.raises(GraphQLError) as refused:
        cursors.decode(where, cursor, arguments, cursors.is_sort_values)
    assert message in refused.value.message
    assert refused.value.extensions == {"code": "BAD_USER_INPUT", "field": "after"}


@pytest.mark.parametrize("cursor", ["junk", "", "bm90IGpzb24", "WzEsMl0", "e30"])
def test_what_no_list_made_is_bad_user_input(cursor):
    with pytest.raises(GraphQLError) as refused:
        cursors.decode(info(), cursor, ARGS, cursors.is_sort_values, "before")
    assert refused.value.extensions["field"] == "before"


@pytest.mark.parametrize("position", [["far", 3], [1.5, {"id": 1}], [None, "x"], [True, "x"], [1.5], "abc", 7])
def test_a_well_formed_cursor_with_a_position_of_the_wrong_shape_is_refused(position):
    forged = cursors.encode(info(), ARGS, position)
    with pytest.raises(GraphQLError):
        cursors.decode(info(), forged, ARGS, cursors.is_sort_values)


def test_service_cursors_convert_both_ways():
    # The search service's (padded) and the members service's (unpadded) base64 JSON.
    assert cursors.from_service("WzEuNSwgImlkIl0=") == [1.5, "id"]
    assert cursors.from_service("WzEuNSwgImlkIl0") == [1.5, "id"]
    assert cursors.from_service(cursors.to_service([3, "a"])) == [3, "a"]
