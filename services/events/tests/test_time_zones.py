"""Local times in the odd time zones: Southern-hemisphere daylight saving, 30/45-minute offsets,
zones whose rules changed lately. A weekly series keeps its wall-clock time across each change."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from events import domain


def _local_times(first_local: str, zone: str, count: int) -> list[tuple[str, str]]:
    tz = ZoneInfo(zone)
    first = datetime.fromisoformat(first_local).replace(tzinfo=tz).astimezone(UTC)
    starts = domain.occurrence_starts(first, zone, "weekly", count)
    return [(s.astimezone(tz).strftime("%Y-%m-%d %H:%M"), s.astimezone(tz).strftime("%z")) for s in starts]


@pytest.mark.parametrize(
    ("zone", "first", "weeks", "offsets"),
    [
        # Chile: DST ends on the first Sunday of April, starts on the first Sunday of September.
        ("America/Santiago", "2030-03-20T10:00", 28, {"-0300", "-0400"}),
        # Sydney: DST ends the first Sunday of April, starts the first Sunday of October.
        ("Australia/Sydney", "2030-03-20T10:00", 32, {"+1100", "+1000"}),
        ("Pacific/Auckland", "2030-03-20T10:00", 32, {"+1300", "+1200"}),
        # Adelaide: half-hour offsets either side of its changes.
        ("Australia/Adelaide", "2030-03-20T10:00", 32, {"+1030", "+0930"}),
        # Kathmandu: +05:45 all year.
        ("Asia/Kathmandu", "2030-03-20T10:00", 10, {"+0545"}),
        # Mexico City ended DST in 2022: +06 all year since (tzdata 2022f and later).
        ("America/Mexico_City", "2030-03-20T10:00", 32, {"-0600"}),
    ],
)
def test_a_weekly_series_keeps_ten_oclock_local_across_each_change(zone, first, weeks, offsets):
    times = _local_times(first, zone, weeks)
    assert {t for t, _ in times} == {t for t, _ in times if t.endswith("10:00")}
    assert {offset for _, offset in times} == offsets


def test_chiles_april_and_september_changes_move_the_utc_time_not_the_local_one():
    starts = domain.occurrence_starts(
        datetime(2030, 3, 27, 13, 0, tzinfo=UTC), "America/Santiago", "weekly", 26
    )  # 10:00 at -03
    utc_hours = [s.hour for s in starts]
    assert utc_hours[0] == 13  # summer time, -03
    assert 14 in utc_hours  # winter time, -04, from April 7
    assert utc_hours[-1] == 13  # summer again from September 8
    assert all(s.astimezone(ZoneInfo("America/Santiago")).hour == 10 for s in starts)


def test_a_zone_whose_rules_changed_recently_reads_local_times_by_the_new_rules():
    # Kazakhstan moved Almaty from +06 to +05 on 2024-03-01.
    almaty = ZoneInfo("Asia/Almaty")
    assert domain.parse_local_time("2025-06-01T10:00", almaty) == datetime(2025, 6, 1, 5, 0, tzinfo=UTC)
    assert domain.parse_local_time("2024-02-01T10:00", almaty) == datetime(2024, 2, 1, 4, 0, tzinfo=UTC)


def test_kathmandu_and_adelaide_read_local_inputs_at_their_odd_offsets():
    assert domain.parse_local_time("2030-01-15T10:00", ZoneInfo("Asia/Kathmandu")) == datetime(
        2030, 1, 15, 4, 15, tzinfo=UTC
    )
    assert domain.parse_local_time("2030-01-15T10:00", ZoneInfo("Australia/Adelaide")) == datetime(
        2030, 1, 14, 23, 30, tzinfo=UTC
    )
