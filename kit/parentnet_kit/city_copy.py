"""A service's own copy of the open cities, fed by ``members.city_opened``, kept in its own database.

Each version of a city is one document ``{_id: "<slug>:<version>", city: {...}}``, inserted
once: a repeated event is a duplicate key (applied at most once), a late older version never
hides a newer one (the highest version wins when the copy is read), and two instances of one
service applying the same event cannot both win. The collection holds one document per city
version: small enough to read whole on FerretDB (a few hundred documents, each ~300 bytes).

Every process of the service reads its copy at start-up and again whenever
``cities_changed`` (one document, read by ``_id``: an index lookup) says another process of the
service applied an event, so a city opened is usable in every instance within
about a second, and a restart keeps what was learnt.

The first migration puts the network's founding cities (``cities.founding()``) into an empty
copy, so a service that starts before the members service ever ran knows them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from . import cities, upserts
from .cities import City

log = logging.getLogger(__name__)
CHANGED_ID = "cities"


class CityCopy:
    """The open cities in ``db.cities``; ``load`` puts them into this process's ``cities`` view."""

    def __init__(self, db: Database) -> None:
        self.versions = db["cities"]
        self.changed = db["cities_changed"]
        self._seen_stamp: str | None = None

    def migrate(self) -> None:
        """Idempotent: the founding cities, as version 1, into a copy that lacks them; then load."""
        self.apply_all(cities.founding())
        self.load()

    def apply(self, city: City) -> bool:
        """Keep this version of the city; False when it was kept already (a repeated event)."""
        return self.apply_all([city]) == 1

    def apply_all(self, found: Iterable[City]) -> int:
        added = 0
        for city in found:
            try:
                self.versions.insert_one({"_id": f"{city.slug}:{city.version}", "city": city.to_dict()})
                added += 1
            except DuplicateKeyError:
                continue
            cities.remember([city])
        if added:
            stamp = uuid.uuid4().hex
            upserts.replace(self.changed, CHANGED_ID, {"_id": CHANGED_ID, "stamp": stamp, "at": datetime.now(UTC)})
        return added

    def load(self) -> list[City]:
        """Read the whole copy into the process's view; returns the open cities, highest versions."""
        stamp = self.changed.find_one({"_id": CHANGED_ID})
        newest: dict[str, City] = {}
        for doc in self.versions.find({}):
            try:
                city = City.from_dict(doc["city"])
            except (KeyError, TypeError, ValueError) as exc:
                log.error("city copy: skipped %s: %r", doc.get("_id"), exc)
                continue
            if city.slug not in newest or newest[city.slug].version < city.version:
                newest[city.slug] = city
        cities.remember(newest.values())
        self._seen_stamp = stamp["stamp"] if stamp else None
        return sorted(newest.values(), key=lambda c: c.slug)

    def refresh_if_changed(self) -> bool:
        """Reload when another process applied a change since the last read; True when it did."""
        stamp = self.changed.find_one({"_id": CHANGED_ID})
        current = stamp["stamp"] if stamp else None
        if current == self._seen_stamp:
            return False
        self.load()
        return True


def city_from_event(data: dict[str, Any]) -> City:
    """The city a ``city_opened`` event carries (its data is ``City.to_dict()``).
    Raises KeyError or ValueError when it does not."""
    return City.from_dict(data)


# What a copy consumes (its queue binds only these; contract.events has their schema). Nothing
# ever published ``city_updated``, which this handled too: a city's change is a ``city_opened``
# with a higher version.
CONSUMED = ("members.city_opened",)


def apply_event(copy: CityCopy, event_type: str, data: dict[str, Any]) -> bool:
    """Apply one members event to the copy; False for an event about something else or a repeat."""
    if f"members.{event_type}" not in CONSUMED:
        return False
    return copy.apply(city_from_event(data))
