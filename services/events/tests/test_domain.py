from __future__ import annotations

from datetime import UTC, datetime

from events import domain

NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def proposal(**overrides):
    base = {
        "title": "Zoo de Vincennes",
        "description": "Les girafes !",
        "category": "zoo",
        "starts_at": "2026-10-10T10:00",
        "ends_at": "2026-10-10T12:30",
        "venue_name": "Parc zoologique de Paris",
        "location": {"lat": 48.8325, "lon": 2.4163},
        "city": "paris",
    }
    return {**base, **overrides}


def fields_of(errors):
    return {(e.field, e.code) for e in errors}


def test_a_good_proposal_is_read_in_the_city_time_zone():
    clean, errors = domain.validate_new_outing(proposal(), NOW)
    assert errors == []
    assert clean["starts_at"] == datetime(2026, 10, 10, 8, 0, tzinfo=UTC)  # 10:00 CEST
    assert clean["language"] == "fr"
    assert clean["time_zone"] == "Europe/Paris"


def test_winter_time_is_an_hour_less_ahead_of_utc():
    clean, _ = domain.validate_new_outing(proposal(starts_at="2026-11-10T10:00", ends_at="2026-11-10T11:00"), NOW)
    assert clean["starts_at"] == datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def test_an_explicit_offset_wins_over_the_city_zone():
    clean, _ = domain.validate_new_outing(proposal(starts_at="2026-10-10T10:00+00:00"), NOW)
    assert clean["starts_at"] == datetime(2026, 10, 10, 10, 0, tzinfo=UTC)


def test_each_bad_field_is_named():
    _, errors = domain.validate_new_outing(
        proposal(title="   ", location={"lat": 123, "lon": 2.3}, ends_at="2026-10-10T09:00", city="atlantis"),
        NOW,
    )
    assert fields_of(errors) == {
        (("title",), "REQUIRED"),
        (("location", "lat"), "OUT_OF_RANGE"),
        (("city",), "UNKNOWN_CITY"),
        (("ends_at",), "ENDS_BEFORE_START"),
    }


def test_times_in_the_past_unknown_categories_and_garbage_are_refused():
    _, errors = domain.validate_new_outing(
        proposal(starts_at="2026-09-01T10:00", ends_at="tomorrow", category="rocket", title=7), NOW
    )
    assert fields_of(errors) == {
        (("starts_at",), "IN_THE_PAST"),
        (("ends_at",), "INVALID"),
        (("category",), "INVALID"),
        (("title",), "INVALID"),
    }


def test_missing_location_and_overlong_text():
    _, errors = domain.validate_new_outing(proposal(location=None, title="x" * 141), NOW)
    assert fields_of(errors) == {(("location",), "REQUIRED"), (("title",), "TOO_LONG")}


def test_public_view_has_no_private_fields_and_iso_times():
    clean, _ = domain.validate_new_outing(proposal(), NOW)
    view = domain.public_view(domain.new_outing_state(clean, "member-1", NOW))
    assert view["starts_at"] == "2026-10-10T08:00:00Z"
    assert view["version"] == 1 and view["status"] == "published"


def test_a_local_time_the_clocks_skip_is_refused_by_its_field_not_moved():
    # Paris moves its clocks from 02:00 to 03:00 on 28 March 2027: 02:30 never happens there.
    _, errors = domain.validate_new_outing(proposal(starts_at="2027-03-28T02:30", ends_at="2027-03-28T04:00"), NOW)
    assert fields_of(errors) == {(("starts_at",), "INVALID")}
    assert "02:30 does not exist on 2027-03-28 in Europe/Paris" in errors[0].message
    _, errors = domain.validate_new_outing(proposal(starts_at="2027-03-28T01:00", ends_at="2027-03-28T02:15"), NOW)
    assert fields_of(errors) == {(("ends_at",), "INVALID")}
    # The same instant given with its offset exists: nothing to refuse.
    clean, errors = domain.validate_new_outing(
        proposal(starts_at="2027-03-28T01:30+01:00", ends_at="2027-03-28T03:30+02:00"), NOW
    )
    assert errors == [] and clean["starts_at"] == datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
