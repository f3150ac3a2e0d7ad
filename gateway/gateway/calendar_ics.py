"""Outings as an iCalendar (RFC 5545) feed, written with the icalendar library. No I/O here.

- Times are local to the outing's city, with its VTIMEZONE (``TZID``), so a calendar app shows
  10:00 as 10:00 across daylight-saving changes, as the API does.
- A series is ONE VEVENT with an RRULE (its frequency and count) starting at its first
  occurrence; an occurrence cancelled, or not in this feed (a member who joined only some),
  is an EXDATE; an occurrence edited on its own is an override VEVENT with its RECURRENCE-ID.
- SEQUENCE is the outing's version (the greatest of the series' for its VEVENT): monotonic, so a
  calendar app takes a changed outing as an update of the one it has.
- What a VEVENT says is what the API shows the feed's viewer of that outing: the public meeting
  place (LOCATION, GEO: outings meet at public places) and nothing about any member.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import rrule
from icalendar import Calendar, Event, vRecur

PRODID = "-//Parentnet//Outings//EN"
UID_DOMAIN = "parentnet"
# How often calendar apps should fetch the feed again (they mostly decide for themselves).
REFRESH = timedelta(hours=1)
FREQUENCIES = {"weekly": ("WEEKLY", 1), "fortnightly": ("WEEKLY", 2), "monthly": ("MONTHLY", 1)}


@dataclass(frozen=True)
class FeedItem:
    """An outing in a feed: its public view, and a line for the viewer (e.g. a waitlist spot)."""

    outing: dict[str, Any]
    note: str | None = None
    tentative: bool = False


def _instant(iso: str, zone: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))


def _written(at: datetime) -> datetime:
    """``at`` as DTSTART/DTEND hold it: local time with its zone, or UTC when that local time
    happens twice (the hour a zone turns its clocks back): a local time with a TZID cannot say
    which of the two it is, and readers take the first (RFC 5545, 3.3.5)."""
    other = at.replace(fold=1 - at.fold)
    return at.astimezone(UTC) if other.utcoffset() != at.utcoffset() else at


def _describe(event: Event, view: dict[str, Any], note: str | None) -> None:
    zone = view["time_zone"]
    event.add("summary", view["title"])
    event.add("dtstart", _written(_instant(view["starts_at"], zone)))
    event.add("dtend", _written(_instant(view["ends_at"], zone)))
    event.add("location", view["venue_name"])
    event.add("geo", (view["location"]["lat"], view["location"]["lon"]))
    text = "\n\n".join(part for part in (note, view.get("description")) if part)
    if text:
        event.add("description", text)
    event.add("categories", [view["category"]])
    event.add("last-modified", datetime.fromisoformat(view["updated_at"].replace("Z", "+00:00")))


def _single(item: FeedItem, stamp: datetime) -> Event:
    view = item.outing
    event = Event()
    event.add("uid", f"{view['id']}@{UID_DOMAIN}")
    event.add("dtstamp", stamp)
    event.add("sequence", view["version"])
    _describe(event, view, item.note)
    cancelled = view["status"] == "cancelled"
    event.add("status", "CANCELLED" if cancelled else ("TENTATIVE" if item.tentative else "CONFIRMED"))
    return event


def series_rule(first: dict[str, Any]) -> dict[str, Any]:
    """The RRULE of a series, from its first occurrence: its frequency and count. A monthly series
    on a day past the 28th keeps that day or the month's last (the events service's rule)."""
    frequency, interval = FREQUENCIES[first["recurrence"]["frequency"]]
    rule: dict[str, Any] = {"freq": frequency, "count": first["recurrence"]["count"]}
    if interval > 1:
        rule["interval"] = interval
    day = _instant(first["starts_at"], first["time_zone"]).day
    if frequency == "MONTHLY" and day > 28:
        rule.update(bymonthday=list(range(28, day + 1)), bysetpos=-1)
    return rule


def rule_starts(first: dict[str, Any]) -> list[datetime]:
    """Every start the RRULE makes, in the city's wall-clock time (as calendar apps expand it)."""
    start = _instant(first["starts_at"], first["time_zone"])
    rule = series_rule(first)
    frequency = rrule.WEEKLY if rule["freq"] == "WEEKLY" else rrule.MONTHLY
    naive = list(
        rrule.rrule(
            frequency,
            dtstart=start.replace(tzinfo=None),
            interval=rule.get("interval", 1),
            count=rule["count"],
            bymonthday=rule.get("bymonthday"),
            bysetpos=rule.get("bysetpos"),
        )
    )
    return [moment.replace(tzinfo=start.tzinfo) for moment in naive]


def _series(items: list[FeedItem], occurrences: list[dict[str, Any]], stamp: datetime) -> list[Event]:
    """One VEVENT with RRULE and EXDATEs for a series, and an override for each occurrence
    edited on its own. ``items``: the occurrences in this feed; ``occurrences``: all of them."""
    ordered = sorted(occurrences, key=lambda o: o.get("occurrence") or 0)
    first = ordered[0]
    included = {item.outing["id"]: item for item in items}
    note = next((i.note for i in items if i.note), None)
    master = Event()
    master.add("uid", f"series-{first['series_id']}@{UID_DOMAIN}")
    master.add("dtstamp", stamp)
    master.add("sequence", max(o["version"] for o in ordered))
    _describe(master, first, note)
    master.add("rrule", vRecur(series_rule(first)))
    live = [o for o in ordered if o["id"] in included and o["status"] != "cancelled"]
    master.add("status", "CONFIRMED" if live else "CANCELLED")
    expected = rule_starts(first)
    excluded, overrides = [], []
    duration = _instant(first["ends_at"], "UTC") - _instant(first["starts_at"], "UTC")
    # Durations compared in UTC: two times of one zone subtract as wall clocks in Python, so a
    # night that turns the clocks back made a 45-minute outing look like -15 minutes.
    for occurrence, at in zip(ordered, expected, strict=False):
        if occurrence["id"] not in included or occurrence["status"] == "cancelled":
            excluded.append(at)
            continue
        start = _instant(occurrence["starts_at"], occurrence["time_zone"])
        end = _instant(occurrence["ends_at"], occurrence["time_zone"])
        same = all(occurrence[k] == first[k] for k in ("title", "venue_name", "location", "description"))
        if start == at and end.astimezone(UTC) - start.astimezone(UTC) == duration and same:
            continue
        override = Event()
        override.add("uid", f"series-{first['series_id']}@{UID_DOMAIN}")
        override.add("dtstamp", stamp)
        override.add("recurrence-id", at)
        override.add("sequence", occurrence["version"])
        _describe(override, occurrence, included[occurrence["id"]].note)
        override.add("status", "CONFIRMED")
        overrides.append(override)
    if excluded:
        master.add("exdate", excluded)
    return [master, *overrides]


def feed(
    name: str,
    items: Iterable[FeedItem],
    series: dict[str, list[dict[str, Any]]],
    now: datetime | None = None,
) -> bytes:
    """The calendar named ``name`` holding ``items``; ``series`` gives every occurrence of each
    series an item belongs to (by ``series_id``). Returns the iCalendar text (UTF-8, CRLF)."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    by_series: dict[str, list[FeedItem]] = {}
    days: list[date] = []
    for item in items:
        view = item.outing
        days.append(_instant(view["starts_at"], view["time_zone"]).date())
        if view.get("series_id") and view.get("recurrence") and series.get(view["series_id"]):
            by_series.setdefault(view["series_id"], []).append(item)
        else:
            calendar.add_component(_single(item, stamp))
    for series_id, members in by_series.items():
        for event in _series(members, series[series_id], stamp):
            calendar.add_component(event)
        days += [_instant(o["starts_at"], o["time_zone"]).date() for o in series[series_id]]
    if days:
        # VTIMEZONE with the transitions around what the feed holds, not 1970-2038.
        calendar.add_missing_timezones(min(days) - timedelta(days=366), max(days) + timedelta(days=366))
    return calendar.to_ical()
