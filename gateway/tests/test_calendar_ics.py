"""The iCalendar feed as written, read back by icalendar and expanded by recurring-ical-events."""

from __future__ import annotations

from datetime import UTC, date, datetime

import icalendar
import recurring_ical_events

from gateway.calendar_ics import FeedItem, feed, rule_starts


def outing(n: int, start: str, **extra) -> dict:
    return {
        "id": f"o{n}",
        "version": 2,
        "status": "published",
        "title": "Piscine",
        "description": "",
        "category": "swimming_pool",
        "starts_at": start,
        "ends_at": start[:11] + f"{int(start[11:13]) + 1:02d}" + start[13:],
        "time_zone": "Europe/Paris",
        "venue_name": "Piscine Pontoise",
        "location": {"lat": 48.85, "lon": 2.35},
        "updated_at": "2030-01-01T00:00:00Z",
        "series_id": "s1",
        "occurrence": n,
        "recurrence": {"frequency": "weekly", "count": 3},
        **extra,
    }


def test_a_series_is_one_event_with_its_rule_and_a_cancelled_date_excluded():
    # Across the change to summer time (2030-03-31): 10:00 in Paris stays 10:00.
    series = [
        outing(1, "2030-03-24T09:00:00Z"),
        outing(2, "2030-03-31T08:00:00Z", status="cancelled", version=3),
        outing(3, "2030-04-07T08:00:00Z"),
    ]
    text = feed("Mine", [FeedItem(o) for o in series], {"s1": series}, datetime(2030, 1, 1, tzinfo=UTC))
    calendar = icalendar.Calendar.from_ical(text)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    assert events[0]["RRULE"]["FREQ"] == ["WEEKLY"] and events[0]["SEQUENCE"] == 3
    assert [t.tz_name for t in calendar.timezones] == ["Europe/Paris"]
    expanded = recurring_ical_events.of(calendar).between(date(2030, 3, 1), date(2030, 5, 1))
    assert [(e["DTSTART"].dt.date().isoformat(), e["DTSTART"].dt.hour) for e in expanded] == [
        ("2030-03-24", 10),
        ("2030-04-07", 10),
    ]


def test_an_occurrence_moved_on_its_own_overrides_its_date():
    series = [outing(1, "2030-03-24T09:00:00Z"), outing(2, "2030-03-31T09:00:00Z", detached=True)]
    series[0]["recurrence"] = series[1]["recurrence"] = {"frequency": "weekly", "count": 2}
    calendar = icalendar.Calendar.from_ical(feed("Mine", [FeedItem(o) for o in series], {"s1": series}))
    expanded = recurring_ical_events.of(calendar).between(date(2030, 3, 1), date(2030, 5, 1))
    assert [e["DTSTART"].dt.hour for e in expanded] == [10, 11]


def test_a_monthly_series_on_the_31st_keeps_the_last_day():
    first = outing(1, "2030-01-31T09:00:00Z", recurrence={"frequency": "monthly", "count": 3})
    assert [d.date().isoformat() for d in rule_starts(first)] == ["2030-01-31", "2030-02-28", "2030-03-31"]


def test_a_single_outing_cancelled_stays_with_its_status():
    one = outing(1, "2030-03-24T09:00:00Z", series_id=None, recurrence=None, status="cancelled")
    event = icalendar.Calendar.from_ical(feed("Mine", [FeedItem(one, note="Waitlist: 3rd")], {})).walk("VEVENT")[0]
    assert (str(event["STATUS"]), str(event["UID"])) == ("CANCELLED", "o1@parentnet")
    assert str(event["DESCRIPTION"]) == "Waitlist: 3rd"


def test_a_night_that_turns_the_clocks_back_keeps_the_series_whole_and_every_end_after_its_start():
    # Santiago, Saturdays 23:30-00:15; on 5 April 2031 midnight (-03) becomes 23:00 (-04), so
    # 23:30 happens twice. The outing starts at the first and lasts 45 minutes, as every week.
    times = [
        ("2031-03-23T02:30:00Z", "2031-03-23T03:15:00Z"),
        ("2031-03-30T02:30:00Z", "2031-03-30T03:15:00Z"),
        ("2031-04-06T02:30:00Z", "2031-04-06T03:15:00Z"),
        ("2031-04-13T03:30:00Z", "2031-04-13T04:15:00Z"),
    ]
    series = [
        outing(n, start, ends_at=end, time_zone="America/Santiago", recurrence={"frequency": "weekly", "count": 4})
        for n, (start, end) in enumerate(times, 1)
    ]
    calendar = icalendar.Calendar.from_ical(feed("Mine", [FeedItem(o) for o in series], {"s1": series}))
    assert len(list(calendar.walk("VEVENT"))) == 1, "no override for a week that only looks odd in local time"
    expanded = recurring_ical_events.of(calendar).between(date(2031, 3, 1), date(2031, 5, 1))
    assert len(expanded) == 4
    for event in expanded:
        assert event["DTEND"].dt > event["DTSTART"].dt
