"""Places: points on the map and their checks, and the network's open cities."""

from __future__ import annotations

import math
from typing import Any

import graphene

from parentnet_kit import i18n
from parentnet_kit.cities import City as CityData
from parentnet_kit.i18n import t

from ... import ids, open_cities
from ...errors import bad_input
from .relay import NODE_LOADERS, NODE_TYPES, Node


class GeoPoint(graphene.ObjectType):
    """A point on the map (WGS 84)."""

    lat = graphene.Float(required=True, description="Latitude in degrees, -90 to 90.")
    lon = graphene.Float(required=True, description="Longitude in degrees, -180 to 180.")


class GeoPointInput(graphene.InputObjectType):
    """A point on the map (WGS 84), in degrees."""

    lat = graphene.Float(required=True, description="Latitude, -90 to 90.")
    lon = graphene.Float(required=True, description="Longitude, -180 to 180.")


class CityName(graphene.ObjectType):
    """A city's display name in one language."""

    language = graphene.String(required=True, description="Language tag, e.g. es.")
    name = graphene.String(required=True, description="The name shown to people reading that language.")


def accepted_languages(info: graphene.ResolveInfo) -> list[str]:
    """The caller's Accept-Language tags, most preferred first (over a websocket, the ones its
    connection_init payload or handshake sent)."""
    return i18n.accept_language(getattr(info.context, "accept_language", None))


class City(graphene.ObjectType):
    """An open city of the network, with the time zone its local times are given in."""

    class Meta:
        interfaces = (Node,)

    slug = graphene.String(required=True, description="Stable key, e.g. paris: what `city` arguments take.")
    name = graphene.String(
        required=True,
        language=graphene.String(
            description="A language tag; when absent, the request's Accept-Language, then the city's own language."
        ),
        description="The city's name in the viewer's language when the city has one, else in its own language.",
    )
    names = graphene.List(
        graphene.NonNull(CityName), required=True, description="The city's display name in each of its languages."
    )
    country = graphene.String(required=True, description="ISO 3166-1 alpha-2 code.")
    time_zone = graphene.String(required=True, description="IANA time zone, e.g. Europe/Paris.")
    languages = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Language tags spoken there, most common first; the first is the default for new text.",
    )
    center = graphene.Field(GeoPoint, required=True, description="Where to centre a map of the city.")
    radius_km = graphene.Float(
        required=True,
        description="The city's area: what lies within this many km of its centre belongs to it (km).",
    )
    currency = graphene.String(description="ISO 4217 code of prices given there without one, e.g. CLP.")
    geonames_id = graphene.Int(description="The GeoNames id of the place it was opened from.")

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("City", root["slug"])

    @staticmethod
    def resolve_name(root: dict[str, Any], info: graphene.ResolveInfo, language: str | None = None) -> str:
        wanted = [language] if language else accepted_languages(info)
        return CityData.from_dict(root).name_in(wanted)

    @staticmethod
    def resolve_names(root: dict[str, Any], info: graphene.ResolveInfo) -> list[dict[str, str]]:
        names = root.get("names") or {}
        return [{"language": tag, "name": name} for tag, name in names.items()]

    @staticmethod
    def resolve_center(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, float]:
        return {"lat": root["lat"], "lon": root["lon"]}


def check_point(info: graphene.ResolveInfo, point: Any, name: str = "near") -> dict[str, float]:
    """A GeoPointInput as {lat, lon}; BAD_USER_INPUT naming ``<name>.lat``/``.lon`` outside the globe."""
    if not (math.isfinite(point.lat) and -90 <= point.lat <= 90):
        raise bad_input(info, f"{name}.lat", t("{name}.lat must be between -90 and 90.", name=name))
    if not (math.isfinite(point.lon) and -180 <= point.lon <= 180):
        raise bad_input(info, f"{name}.lon", t("{name}.lon must be between -180 and 180.", name=name))
    return {"lat": point.lat, "lon": point.lon}


RADIUS_MAX_KM = 100.0


def check_radius(info: graphene.ResolveInfo, radius_km: float, name: str = "radiusKm") -> float:
    if not (math.isfinite(radius_km) and 0 < radius_km <= RADIUS_MAX_KM):
        raise bad_input(
            info,
            name,
            t("{name} must be more than 0 and at most {radius_max_km}.", name=name, radius_max_km=RADIUS_MAX_KM),
        )
    return radius_km


async def resolve_city(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
    """The ``city`` field of anything that carries a city slug (from the gateway's cached copy)."""
    city = await open_cities.DIRECTORY.get(root["city"])
    return city.to_dict() if city else None


async def load_city(info: graphene.ResolveInfo, slug: str) -> dict[str, Any] | None:
    city = await open_cities.DIRECTORY.get(slug)
    return {**city.to_dict(), "__typename": "City"} if city else None


NODE_TYPES["City"] = City
NODE_LOADERS["City"] = load_city
