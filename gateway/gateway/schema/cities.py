"""Cities: the open ones (``cities``), the gazetteer a network admin picks from
(``gazetteerPlaces``) and ``cityOpen``. The members service owns them; this module shapes them."""

from __future__ import annotations

from typing import Any

import graphene

from parentnet_kit.i18n import t

from .. import open_cities
from ..context import context_of
from .base import (
    City,
    GeoPoint,
    InputMutation,
    bad_input,
    key_resolver,
    local_id,
    not_found,
    require_viewer,
    user_errors,
    user_errors_field,
)


class GazetteerPlace(graphene.ObjectType):
    """A place of the GeoNames gazetteer (cities of 15,000 inhabitants or more) a network admin can open."""

    geonames_id = graphene.Int(required=True, description="Its GeoNames id: what cityOpen takes.")
    name = graphene.String(required=True, description="Its name in the gazetteer.")
    country = graphene.String(required=True, description="ISO 3166-1 alpha-2 code.")
    region_code = graphene.String(
        required=True, description="GeoNames' first-level division code (tells places of one name apart)."
    )
    time_zone = graphene.String(required=True, description="IANA time zone, e.g. America/Santiago.")
    population = graphene.Int(required=True, description="Inhabitants, as the gazetteer counts them.")
    center = graphene.Field(GeoPoint, required=True, description="The gazetteer's point for it.")
    radius_km = graphene.Float(
        required=True, description="The area it would get when opened without radiusKm (km, from its population)."
    )
    city = graphene.Field(City, description="The open city made from it; null while it is not open.")

    resolve_region_code = key_resolver("admin1")

    @staticmethod
    def resolve_center(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, float]:
        return {"lat": root["lat"], "lon": root["lon"]}

    @staticmethod
    async def resolve_city(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        city = await open_cities.DIRECTORY.get(root.get("open_slug"))
        return city.to_dict() if city else None


class CityQueries(graphene.ObjectType):
    cities = graphene.List(graphene.NonNull(City), required=True, description="The network's open cities, by slug.")
    gazetteer_places = graphene.List(
        graphene.NonNull(GazetteerPlace),
        required=True,
        text=graphene.String(
            required=True, description="The start of a name, in any language the gazetteer knows (accents ignored)."
        ),
        country=graphene.String(description="Only places in this country (ISO 3166-1 alpha-2)."),
        first=graphene.Int(default_value=10, description="How many, 1 to 50; the most populous first."),
        description="Search the gazetteer for a place to open as a city (signed-in members).",
    )

    @staticmethod
    async def resolve_cities(root: None, info: graphene.ResolveInfo) -> list[dict[str, Any]]:
        known = await open_cities.DIRECTORY.all()
        return [known[slug].to_dict() for slug in sorted(known)]

    @staticmethod
    async def resolve_gazetteer_places(
        root: None, info: graphene.ResolveInfo, text: str, country: str | None = None, first: int = 10
    ) -> list[dict[str, Any]]:
        require_viewer(info)
        if not 1 <= first <= 50:
            raise bad_input(info, "first", t("first must be between 1 and 50."))
        if not text.strip() or len(text) > 100:
            raise bad_input(info, "text", t("text must be 1 to 100 characters."))
        found = await context_of(info).members.search_gazetteer(text=text, country=country, first=first)
        if found["errors"]:
            error = found["errors"][0]
            raise bad_input(info, error["field"][0] if error["field"] else "text", error["message"])
        return found["places"]


class CityNameInput(graphene.InputObjectType):
    """A city's display name in one language."""

    language = graphene.String(required=True, description="Language tag, e.g. es.")
    name = graphene.String(required=True, description="1 to 100 characters.")


class CityOpenInput(graphene.InputObjectType):
    """A gazetteer place to open as a city (or an open city to change)."""

    geonames_id = graphene.Int(required=True, description="The place's GeoNames id, as gazetteerPlaces gives it.")
    languages = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="1 to 10 language tags spoken there, most spoken first; the first is the default for new text.",
    )
    names = graphene.List(
        graphene.NonNull(CityNameInput),
        description="The city's display name per language; a language without one shows the gazetteer's name.",
    )
    slug = graphene.String(
        description=(
            "Its key (lower-case letters and digits joined by hyphens); by default made from its name. "
            "Taken only when the city is first opened: an open city keeps its slug."
        )
    )
    radius_km = graphene.Float(
        description="Its area in km around its centre, 2 to 100; by default from its population."
    )


class CityOpenPayload(graphene.ObjectType):
    """The city cityOpen opened or changed."""

    city = graphene.Field(City, description="The open city; null when userErrors is not empty.")
    user_errors = user_errors_field()


class CityOpen(InputMutation, input=CityOpenInput, about="The place and how the city speaks.", output=CityOpenPayload):
    """Open a city for the whole network (network admins only): usable by every service within
    seconds. Opening an open city again changes its languages, names and area."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        names = input.get("names") or []
        fields = {
            "geonames_id": input["geonames_id"],
            "languages": input["languages"],
            "names": {n["language"]: n["name"] for n in names},
            "slug": input.get("slug"),
            "radius_km": input.get("radius_km"),
        }
        result = (
            await context_of(info)
            .members.using(headers=info.context.once(info))
            .open_city(admin_id=viewer, fields=fields)
        )
        if result["errors"]:
            return {"city": None, "user_errors": user_errors(result["errors"], ("input",))}
        open_cities.DIRECTORY.changed()  # this gateway reads it back at once, before its feed hears it
        return {"city": result["city"], "user_errors": []}


class NetworkAdminGrantInput(graphene.InputObjectType):
    """Who becomes a network admin."""

    member_id = graphene.ID(required=True, description="The member's ID.")


class NetworkAdminGrantPayload(graphene.ObjectType):
    """Whether the role was granted."""

    granted = graphene.Boolean(required=True, description="True when the member is a network admin now.")
    user_errors = user_errors_field()


class NetworkAdminGrant(
    InputMutation, input=NetworkAdminGrantInput, about="The member.", output=NetworkAdminGrantPayload
):
    """Make another member a network admin (network admins only; ops name the first one with
    `python -m members.admins grant EMAIL`). Granting it twice is harmless."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        member_id = local_id(input["member_id"], "Member")
        if member_id is None:
            return {"granted": False, "user_errors": not_found("memberId", "member")}
        result = await context_of(info).members.grant_network_admin(granter_id=viewer, member_id=member_id)
        return {"granted": not result["errors"], "user_errors": user_errors(result["errors"], ("input",))}


class CityMutations(graphene.ObjectType):
    city_open = CityOpen.Field()
    network_admin_grant = NetworkAdminGrant.Field()
