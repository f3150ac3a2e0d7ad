"""The pure rules: what a report and an action must say, who may act on which queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from moderation import domain

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


def test_a_report_needs_a_known_subject_type_and_reason():
    clean, errors = domain.validate_report({"subject_type": "outing", "subject_id": "o1", "reason": "spam"})
    assert errors == [] and clean["note"] == ""
    _, errors = domain.validate_report({"subject_type": "planet", "subject_id": "", "reason": "boring"})
    assert {(e.field, e.code) for e in errors} == {
        (("subject_id",), "INVALID"),
        (("subject_id",), "REQUIRED"),
        (("reason",), "INVALID"),
    }
    _, errors = domain.validate_report(
        {"subject_type": "reply", "subject_id": "r", "reason": "other", "note": "x" * (domain.NOTE_MAX + 1)}
    )
    assert [(e.field, e.code) for e in errors] == [(("note",), "TOO_LONG")]


def test_a_snapshot_keeps_text_author_group_city_and_never_a_location():
    kept = domain.clean_snapshot(
        {
            "title": "T",
            "text": "hello",
            "author_id": "m1",
            "group_id": "g1",
            "city": "paris",
            "location": {"lat": 48.1, "lon": 2.3},
            "pickup_address": "1 rue X",
        }
    )
    assert kept == {"title": "T", "text": "hello", "author_id": "m1", "group_id": "g1", "city": "paris"}


def test_an_action_needs_a_reason_and_a_suspension_a_future_end_within_a_year():
    _, errors = domain.validate_action({"action": "hide", "reason": " "}, NOW)
    assert [(e.field, e.code) for e in errors] == [(("reason",), "REQUIRED")]
    _, errors = domain.validate_action({"action": "suspend", "reason": "r", "until": "2029-01-01T00:00Z"}, NOW)
    assert [e.code for e in errors] == ["IN_THE_PAST"]
    _, errors = domain.validate_action({"action": "suspend", "reason": "r", "until": "2030-01-02T00:00"}, NOW)
    assert [e.code for e in errors] == ["INVALID"]  # no offset: which midnight?
    later = (NOW + timedelta(days=400)).isoformat()
    assert [e.code for e in domain.validate_action({"action": "suspend", "reason": "r", "until": later}, NOW)[1]] == [
        "OUT_OF_RANGE"
    ]
    clean, errors = domain.validate_action({"action": "suspend", "reason": "r", "until": "2030-01-08T12:00Z"}, NOW)
    assert errors == [] and clean["until"] == NOW + timedelta(days=7)


def test_who_may_act_on_which_queue():
    group = domain.queue_key("g1")
    assert domain.may_act("hide", group, network_moderator=False, group_role="admin")
    assert domain.may_act("warn", group, network_moderator=False, group_role="moderator")
    assert not domain.may_act("suspend", group, network_moderator=False, group_role="admin")
    assert not domain.may_act("hide", group, network_moderator=False, group_role="member")
    assert not domain.may_act("hide", domain.NETWORK, network_moderator=False, group_role="admin")
    assert domain.may_act("suspend", domain.NETWORK, network_moderator=True, group_role=None)


def test_control_characters_in_a_note_or_a_reason_are_refused_on_the_field():
    report = {"subject_type": "reply", "subject_id": "r1", "reason": "spam", "note": "voir \u202etxet"}
    _, errors = domain.validate_report(report)
    assert [(e.field, e.code) for e in errors] == [(("note",), "INVALID")]
    clean, errors = domain.validate_report({**report, "note": "ردود مسيئة"})
    assert errors == [] and clean["note"] == "ردود مسيئة"
    _, errors = domain.validate_action({"action": "hide", "reason": "spam\x00"}, NOW)
    assert [(e.field, e.code) for e in errors] == [(("reason",), "INVALID")]
    _, errors = domain.validate_report({**report, "note": "fin\x85"})  # NEL, which str.strip would drop
    assert [(e.field, e.code) for e in errors] == [(("note",), "INVALID")]
