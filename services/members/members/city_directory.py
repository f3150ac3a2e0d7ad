"""The open cities, owned here: opened by a network admin from the gazetteer, published as
``members.city_opened`` (the whole city, versioned) through the outbox.

- ``open_cities`` (+ ``open_cities_outbox``): one aggregate per city, ``_id`` = its slug, so two
  admins racing to open two places under one slug cannot both win (the loser's retry takes the
  next free slug).
- ``network_admins``: one document per member holding the role: granted by another network
  admin, or by ops with ``python -m members.admins grant EMAIL`` (how the first one is named:
  an email in the configuration would name whoever registered that unverified address first).
  Nobody grants the role to themselves.
- ``cities`` / ``cities_changed``: this service's own copy (``parentnet_kit.city_copy``), which
  every members process reads its view from, like every other service.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from parentnet_kit import cities
from parentnet_kit.cities import City
from parentnet_kit.city_copy import CityCopy
from parentnet_kit.envelope import Event
from parentnet_kit.fields import LANGUAGE_TAG
from parentnet_kit.fields import field_error as error
from parentnet_kit.i18n import t
from parentnet_kit.outbox import AggregateStore, ConcurrencyConflict, retry_on_conflict
from parentnet_kit.publisher import EventPublisher

from . import gazetteer

SOURCE = "members"
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# What no place name holds and every client would have to defend against: control characters
# (NUL, newlines), bidirectional embeddings, overrides and isolates (they reorder the text around
# the name: U+202A-U+202E, U+2066-U+2069), invisible spaces (U+200B, U+2060, U+FEFF) and markup.
# Zero-width joiners and non-joiners (U+200C, U+200D) stay: Bengali and Persian names need them.
_UNFIT = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff<>]")
SLUG_MAX = 60
NAME_MAX = 100
LANGUAGES_MAX = 10
RADIUS_RANGE_KM = (2.0, 100.0)


def slug_for(name: str) -> str:
    """``Valparaíso`` -> ``valparaiso``, ``Cần Thơ`` -> ``can-tho`` (ASCII letters and digits)."""
    folded = gazetteer.folded(name).replace("đ", "d").replace("ø", "o").replace("ł", "l")
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:SLUG_MAX].strip("-") or "city"


def unfit_name(name: str) -> str | None:
    """Why a display name cannot be shown as it is (None when it can)."""
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return "a name may not hold control characters such as a newline"
    if _UNFIT.search(name):
        return "a name may not hold direction overrides, invisible spaces, < or >"
    return None


class CityDirectory:
    def __init__(self, db: Database, publisher: EventPublisher | None) -> None:
        self.store = AggregateStore(db, "open_cities", publisher, outbox="open_cities_outbox")
        self.copy = CityCopy(db)
        self.admins = db["network_admins"]
        self.members = db["members"]

    # -- start-up ------------------------------------------------------------------------
    def migrate(self) -> None:
        """Idempotent first migration: the founding cities opened (version 1, each published
        once through the outbox), then this process's view loaded from the copy."""
        self.store.ensure_indexes()
        for city in cities.founding():
            if self.store.get(city.slug) is None:
                with contextlib.suppress(ConcurrencyConflict):  # another members process opened it first
                    self.store.commit(self._state(city), self._event(city))
        self.copy.migrate()

    def relay_pending(self) -> int:
        return self.store.relay_pending()

    def refresh(self) -> bool:
        return self.copy.refresh_if_changed()

    # -- the role ------------------------------------------------------------------------
    def is_network_admin(self, member_id: str | None) -> bool:
        if not member_id:
            return False
        return self.admins.find_one({"_id": member_id}, {"_id": 1}) is not None

    def grant_network_admin(self, granter_id: str, member_id: str) -> dict[str, Any]:
        """``{errors}``: ``FORBIDDEN`` unless the granter is a network admin (so nobody grants
        it to themselves), ``NOT_FOUND`` for an unknown member. Granting twice is fine."""
        if not self.is_network_admin(granter_id):
            return {"errors": [error((), t("Only a network admin may name another."), "FORBIDDEN")]}
        if self.members.find_one({"_id": member_id}, {"_id": 1}) is None:
            return {"errors": [error(("member_id",), t("No such member."), "NOT_FOUND")]}
        with contextlib.suppress(DuplicateKeyError):  # granted already
            self.admins.insert_one({"_id": member_id, "granted_by": granter_id, "at": datetime.now(UTC)})
        return {"errors": []}

    # -- reading -------------------------------------------------------------------------
    def open_cities(self) -> list[dict[str, Any]]:
        """Every open city (``City.to_dict()``), by slug: the small ``open_cities`` collection."""
        found = [City.from_dict(doc["city"]) for doc in self.store.aggregates.find({}, {"city": 1})]
        return [c.to_dict() for c in sorted(found, key=lambda c: c.slug)]

    def search_gazetteer(self, text: str, country: str | None, first: int) -> dict[str, Any]:
        """``{places: [{geonames_id, name, country, admin1, time_zone, population, lat, lon,
        currency, radius_km, open_slug}], errors}``; ``open_slug`` is None for a place not open."""
        if not isinstance(text, str) or not text.strip():
            return {"places": [], "errors": [error(("text",), t("text is required"), "REQUIRED")]}
        if country is not None and not re.fullmatch(r"[A-Za-z]{2}", country):
            return {
                "places": [],
                "errors": [error(("country",), t("country must be an ISO 3166-1 alpha-2 code"), "INVALID")],
            }
        opened = {c.geonames_id: c.slug for c in cities.open_cities() if c.geonames_id is not None}
        places = gazetteer.search(text[:100], country, first)
        return {"places": [{**p.to_dict(), "open_slug": opened.get(p.geonames_id)} for p in places], "errors": []}

    # -- opening -------------------------------------------------------------------------
    def open_city(self, admin_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Open a gazetteer place as a city, or change an open one's languages, names and area:
        ``{city, errors}``. Fields: ``geonames_id`` (int, required), ``languages`` (1-10 tags,
        most spoken first, required), ``names`` ({tag: display name}; a language without one
        shows the gazetteer's name), ``slug`` (optional; default from the name), ``radius_km``
        (optional, 2-100; default from the population). Nothing is written unless all is valid."""
        if not self.is_network_admin(admin_id):
            return {"city": None, "errors": [error((), t("Only a network admin may open a city."), "FORBIDDEN")]}
        place, clean, errors = self._validate(fields)
        if errors or place is None:
            return {"city": None, "errors": errors}

        def attempt() -> City:
            current = self._opened(place)
            if current is not None:
                before = City.from_dict(current["city"])
                city = self._city(place, before.slug, clean, version=before.version + 1)
                if _same(city, before):
                    return before
            else:
                city = self._city(place, self._free_slug(place, clean.get("slug")), clean, version=1)
            self.store.commit(self._state(city), self._event(city))
            self.copy.apply(city)
            return city

        if clean.get("slug") and self._slug_taken_by_other(clean["slug"], place.geonames_id):
            return {"city": None, "errors": [error(("slug",), t("slug is another city's already"), "TAKEN")]}
        try:
            city = retry_on_conflict(5, attempt)
        except ConcurrencyConflict:
            return {
                "city": None,
                "errors": [error((), t("The city is being changed by someone else; try again."), "STALE")],
            }
        return {"city": city.to_dict(), "errors": []}

    def _validate(self, fields: dict[str, Any]) -> tuple[gazetteer.Place | None, dict[str, Any], list[dict[str, Any]]]:
        errors: list[dict[str, Any]] = []
        raw_id = fields.get("geonames_id")
        place = None
        if isinstance(raw_id, bool) or not isinstance(raw_id, int | str) or not str(raw_id).strip().isdigit():
            errors.append(error(("geonames_id",), t("geonamesId must be a GeoNames id (a number)"), "REQUIRED"))
        else:
            place = gazetteer.get(int(raw_id))
            if place is None:
                errors.append(
                    error(
                        ("geonames_id",),
                        t("{raw_id} is no city of 15,000 or more in the gazetteer", raw_id=raw_id),
                        "NOT_FOUND",
                    )
                )
        languages = fields.get("languages")
        clean_languages: list[str] = []
        if not isinstance(languages, list) or not 1 <= len(languages) <= LANGUAGES_MAX:
            errors.append(
                error(
                    ("languages",),
                    t("languages must list 1 to {languages_max} language tags", languages_max=LANGUAGES_MAX),
                    "INVALID",
                )
            )
        else:
            for i, tag in enumerate(languages):
                if not isinstance(tag, str) or not LANGUAGE_TAG.match(tag.strip()):
                    errors.append(
                        error(
                            ("languages", str(i)), t("{tag} is not a language tag such as es", tag=repr(tag)), "INVALID"
                        )
                    )
                elif tag.strip() not in clean_languages:
                    clean_languages.append(tag.strip())
        names = fields.get("names") or {}
        clean_names: dict[str, str] = {}
        if not isinstance(names, dict):
            errors.append(error(("names",), t("names must map language tags to names"), "INVALID"))
        else:
            for tag, name in names.items():
                if not isinstance(tag, str) or not LANGUAGE_TAG.match(tag):
                    errors.append(
                        error(("names", str(tag)), t("{tag} is not a language tag", tag=repr(tag)), "INVALID")
                    )
                elif not isinstance(name, str) or not name.strip() or len(name.strip()) > NAME_MAX:
                    errors.append(
                        error(
                            ("names", tag), t("a name must be 1 to {name_max} characters", name_max=NAME_MAX), "INVALID"
                        )
                    )
                elif (why := unfit_name(name)) is not None:
                    errors.append(error(("names", tag), why, "INVALID"))
                elif clean_languages and tag not in clean_languages:
                    message = t("a name in {tag}, which is not one of the city's languages", tag=tag)
                    errors.append(error(("names", tag), message, "INVALID"))
                else:
                    clean_names[tag] = unicodedata.normalize("NFC", name.strip())
        slug = fields.get("slug")
        if slug is not None and (not isinstance(slug, str) or len(slug) > SLUG_MAX or not SLUG.match(slug)):
            errors.append(
                error(("slug",), t("slug must be lower-case letters and digits joined by hyphens"), "INVALID")
            )
        radius = fields.get("radius_km")
        if radius is not None and (
            isinstance(radius, bool)
            or not isinstance(radius, int | float)
            or not RADIUS_RANGE_KM[0] <= radius <= RADIUS_RANGE_KM[1]
        ):
            low, high = RADIUS_RANGE_KM
            errors.append(
                error(
                    ("radius_km",), t("radiusKm must be between {low} and {high}", low=low, high=high), "OUT_OF_RANGE"
                )
            )
        clean = {"languages": clean_languages, "names": clean_names, "slug": slug, "radius_km": radius}
        return place, clean, errors

    def _opened(self, place: gazetteer.Place) -> dict[str, Any] | None:
        """The open city made from this place, if any: by this process's view, then by the slugs
        it would have been given (another members process may have opened it a moment ago)."""
        known = next((c for c in cities.open_cities() if c.geonames_id == place.geonames_id), None)
        base = slug_for(place.name)
        candidates = ([known.slug] if known else []) + [
            base,
            f"{base}-{place.country.lower()}",
            f"{base}-{place.geonames_id}",
        ]
        for slug in candidates:
            doc = self.store.get(slug)
            if doc is not None and doc["city"].get("geonames_id") == place.geonames_id:
                return doc
        return None

    def _slug_taken_by_other(self, slug: str, geonames_id: int) -> bool:
        taken = self.store.get(slug)
        return taken is not None and taken["city"].get("geonames_id") != geonames_id

    def _free_slug(self, place: gazetteer.Place, wanted: str | None) -> str:
        if wanted:
            return wanted
        base = slug_for(place.name)
        for candidate in (base, f"{base}-{place.country.lower()}", f"{base}-{place.geonames_id}"):
            if not self._slug_taken_by_other(candidate, place.geonames_id):
                return candidate
        return f"{base}-{place.geonames_id}"

    @staticmethod
    def _city(place: gazetteer.Place, slug: str, clean: dict[str, Any], version: int) -> City:
        languages = tuple(clean["languages"])
        names = {tag: clean["names"].get(tag) or place.name for tag in languages}
        names.update(clean["names"])
        return City(
            slug=slug,
            name=names[languages[0]],
            country=place.country,
            time_zone=place.time_zone,
            languages=languages,
            lat=place.lat,
            lon=place.lon,
            radius_km=float(clean["radius_km"] or place.radius_km),
            names=names,
            currency=place.currency,
            geonames_id=place.geonames_id,
            version=version,
        )

    @staticmethod
    def _state(city: City) -> dict[str, Any]:
        return {"_id": city.slug, "version": city.version, "city": city.to_dict(), "at": datetime.now(UTC)}

    @staticmethod
    def _event(city: City) -> Event:
        return Event(
            type="city_opened",
            source=SOURCE,
            aggregate_id=city.slug,
            version=city.version,
            city=city.slug,
            data=city.to_dict(),
        )


def _same(a: City, b: City) -> bool:
    return {**a.to_dict(), "version": 0} == {**b.to_dict(), "version": 0}
