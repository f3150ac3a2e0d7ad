"""Listings and trusted contacts in the schema: give, lend, swap, sell, want; and the directory."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import graphene

from parentnet_kit import cities as city_catalogue
from parentnet_kit import contracts

from . import ids
from . import members as members_schema
from .common import (
    NODE_LOADERS,
    NODE_TYPES,
    City,
    GeoPoint,
    GeoPointInput,
    Node,
    PageInfo,
    UserError,
    connection,
    parse_time,
    require_viewer,
    resolve_city,
    user_errors,
)
from .context import Context
from .members import Cell, enum_value, local_id
from .outings import CategoryCount, Money, MoneyInput, search_filter

ListingKind = graphene.Enum("ListingKind", [(name.upper(), name) for name in contracts.LISTING_KINDS])
ListingCategory = graphene.Enum("ListingCategory", [(name.upper(), name) for name in contracts.LISTING_CATEGORIES])
ListingCondition = graphene.Enum("ListingCondition", [(name.upper(), name) for name in contracts.LISTING_CONDITIONS])
ListingStatus = graphene.Enum(
    "ListingStatus",
    [
        ("ACTIVE", "active"),
        ("RESERVED", "reserved"),
        ("COMPLETED", "completed"),
        ("WITHDRAWN", "withdrawn"),
        ("EXPIRED", "expired"),
    ],
)
ReservationStatus = graphene.Enum("ReservationStatus", [("REQUESTED", "requested"), ("ACCEPTED", "accepted")])
ContactKind = graphene.Enum("ContactKind", [(name.upper(), name) for name in contracts.CONTACT_KINDS])


class MonthsRange(graphene.ObjectType):
    min_months = graphene.Int()
    max_months = graphene.Int()


class Listing(graphene.ObjectType):
    """Something given, lent, swapped or sold, or a wanted request. Its place is a ~1 km area;
    the exact pickup address is only for the owner and the member whose reservation was accepted."""

    class Meta:
        interfaces = (Node,)

    kind = graphene.Field(ListingKind, required=True)
    category = graphene.Field(ListingCategory, required=True)
    title = graphene.String(required=True)
    description = graphene.String(required=True)
    language = graphene.String(required=True)
    city = graphene.Field(City, required=True)
    size = graphene.String(description="Clothes and shoes, e.g. 86 or 24.")
    age_range = graphene.Field(MonthsRange, description="Children's ages it suits, in months.")
    condition = graphene.Field(ListingCondition)
    price = graphene.Field(Money, description="For SELL; null otherwise.")
    is_free = graphene.Boolean(required=True)
    photos = graphene.List(graphene.NonNull(graphene.String), required=True)
    pickup_area = graphene.Field(
        Cell, required=True, description="Where, to about 1 km: a fixed area, the same every time."
    )
    pickup_address = graphene.String(description="The owner's and the accepted reserver's only; null for anyone else.")
    pickup_location = graphene.Field(GeoPoint, description="As pickupAddress.")
    match_radius_km = graphene.Float(description="For WANTED: how far offers are matched.")
    owner = graphene.Field(lambda: members_schema.Member)
    status = graphene.Field(ListingStatus, required=True)
    reservation_status = graphene.Field(ReservationStatus)
    viewer_is_owner = graphene.Boolean(required=True)
    expires_at = graphene.DateTime(required=True, description="Renew with listingRenew; expired listings leave search.")
    created_at = graphene.DateTime(required=True)
    distance_km = graphene.Float(description="To the pickup area's centre, from the point searched around.")

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("Listing", root["id"])

    resolve_city = staticmethod(resolve_city)

    @staticmethod
    def resolve_age_range(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        if root.get("age_min_months") is None and root.get("age_max_months") is None:
            return None
        return {"min_months": root.get("age_min_months"), "max_months": root.get("age_max_months")}

    @staticmethod
    def resolve_is_free(root: dict[str, Any], info: graphene.ResolveInfo) -> bool:
        return not root.get("price")

    @staticmethod
    def resolve_photos(root: dict[str, Any], info: graphene.ResolveInfo) -> list[str]:
        return root.get("photos") or []

    @staticmethod
    async def resolve_owner(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return members_schema.as_member(await info.context.loaders.member.load(root["owner_id"]))

    @staticmethod
    def resolve_viewer_is_owner(root: dict[str, Any], info: graphene.ResolveInfo) -> bool:
        return info.context.viewer_id is not None and root["owner_id"] == info.context.viewer_id

    @staticmethod
    def resolve_distance_km(root: dict[str, Any], info: graphene.ResolveInfo) -> float | None:
        value = root.get("distance_km")
        return None if value is None else round(value, 1)

    @staticmethod
    def resolve_expires_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime | None:
        return parse_time(root.get("expires_at"))

    @staticmethod
    def resolve_created_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime | None:
        return parse_time(root.get("created_at"))


def as_listing(view: dict[str, Any] | None, **extra: Any) -> dict[str, Any] | None:
    return None if view is None else {**view, **extra, "__typename": "Listing"}


async def load_listing(info: graphene.ResolveInfo, listing_id: str) -> dict[str, Any] | None:
    ctx: Context = info.context
    view = await ctx.loaders.listing.load(listing_id)
    if view is None or view["owner_id"] in await ctx.blocked_by():
        return None
    return as_listing(view)


class Contact(graphene.ObjectType):
    """A trusted contact (paediatrician, nursery, childminder...) recommended by members."""

    class Meta:
        interfaces = (Node,)

    kind = graphene.Field(ContactKind, required=True)
    name = graphene.String(required=True)
    description = graphene.String(required=True)
    phone = graphene.String()
    email = graphene.String()
    website = graphene.String()
    address = graphene.String()
    location = graphene.Field(GeoPoint)
    city = graphene.Field(City, required=True)
    languages = graphene.List(graphene.NonNull(graphene.String), required=True)
    recommendations = graphene.Int(required=True, description="Members who recommend it (one each).")
    group = graphene.Field(lambda: members_schema.Group, description="Set when only that group's members see it.")

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("Contact", root["id"])

    resolve_city = staticmethod(resolve_city)

    @staticmethod
    async def resolve_group(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        if not root.get("group_id"):
            return None
        return members_schema.as_group(await info.context.loaders.group.load(root["group_id"]))


def as_contact(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if view is None else {**view, "__typename": "Contact"}


async def load_contact(info: graphene.ResolveInfo, contact_id: str) -> dict[str, Any] | None:
    ctx: Context = info.context
    view = (await ctx.rpc.call("listings", "get_contacts", [contact_id]))[0]
    if view is None or (view.get("group_id") and await ctx.group_role(view["group_id"]) is None):
        return None
    return as_contact(view)


NODE_TYPES.update(Listing=Listing, Contact=Contact)
NODE_LOADERS.update(Listing=load_listing, Contact=load_contact)


class ListingEdge(graphene.ObjectType):
    cursor = graphene.String(required=True)
    node = graphene.Field(Listing, required=True)


class ListingConnection(graphene.ObjectType):
    edges = graphene.List(graphene.NonNull(ListingEdge), required=True)
    nodes = graphene.List(graphene.NonNull(Listing), required=True)
    page_info = graphene.Field(PageInfo, required=True)
    total_count = graphene.Int(required=True)
    user_errors = graphene.List(graphene.NonNull(UserError), required=True)
    facets = graphene.List(
        graphene.NonNull(CategoryCount), required=True, description="Listings per category (nearby only; else empty)."
    )


class ListingFilter(graphene.InputObjectType):
    text = graphene.String(description="Words in the title or description.")
    categories = graphene.List(graphene.NonNull(ListingCategory))
    kinds = graphene.List(graphene.NonNull(ListingKind))
    language = graphene.String()
    child_ages = graphene.List(graphene.NonNull(graphene.Int), description="Ages in months; every child must fit.")
    free_only = graphene.Boolean(description="Given, lent or swapped: no price.")


class ContactEdge(graphene.ObjectType):
    cursor = graphene.String(required=True)
    node = graphene.Field(Contact, required=True)


class ContactConnection(graphene.ObjectType):
    edges = graphene.List(graphene.NonNull(ContactEdge), required=True)
    nodes = graphene.List(graphene.NonNull(Contact), required=True)
    page_info = graphene.Field(PageInfo, required=True)
    total_count = graphene.Int(required=True)
    user_errors = graphene.List(graphene.NonNull(UserError), required=True)


def _connection(
    edges: list[dict[str, Any]], has_next: bool, after: str | None, total: int, errors: list, facets: list | None = None
) -> dict[str, Any]:
    return connection(edges, has_next, after, total, user_errors=errors, facets=facets or [])


class ListingQueries(graphene.ObjectType):
    nearby_listings = graphene.Field(
        ListingConnection,
        near=graphene.Argument(GeoPointInput, required=True),
        radius_km=graphene.Argument(graphene.Float, required=True, description="More than 0, at most 100."),
        kinds=graphene.Argument(graphene.List(graphene.NonNull(ListingKind))),
        category=graphene.Argument(ListingCategory),
        filter=graphene.Argument(ListingFilter),
        first=graphene.Argument(graphene.Int, default_value=20, description="1 to 100."),
        after=graphene.Argument(graphene.String),
        description="Available listings around a point, nearest pickup area first.",
    )
    my_listings = graphene.Field(
        ListingConnection,
        first=graphene.Argument(graphene.Int, default_value=20),
        after=graphene.Argument(graphene.String),
        description="Your listings, newest first, whatever their status. Signed in only.",
    )
    contacts = graphene.Field(
        ContactConnection,
        city=graphene.Argument(graphene.String, required=True, description="A city slug."),
        kind=graphene.Argument(ContactKind),
        language=graphene.Argument(graphene.String, description="Only contacts speaking it."),
        first=graphene.Argument(graphene.Int, default_value=20),
        after=graphene.Argument(graphene.String),
        description="Trusted contacts of a city (and of your groups), most recommended first.",
    )

    @staticmethod
    async def resolve_nearby_listings(
        root: None,
        info: graphene.ResolveInfo,
        near: Any,
        radius_km: float,
        kinds: list[Any] | None = None,
        category: Any = None,
        filter: dict[str, Any] | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> dict[str, Any]:
        ctx: Context = info.context
        page = await ctx.rpc.call(
            "search",
            "nearby_listings",
            near={"lat": near.lat, "lon": near.lon},
            radius_km=radius_km,
            first=first,
            after=after,
            viewer_id=ctx.viewer_id,
            kinds=[enum_value(k) for k in kinds or []] or None,
            category=enum_value(category),
            filters=search_filter(filter),
        )
        edges = [
            {"cursor": e["cursor"], "node": as_listing(e["node"], distance_km=e["distance_km"])} for e in page["edges"]
        ]
        errors = user_errors(page["errors"])
        return _connection(edges, page["has_next_page"], after, page["total"], errors, page.get("facets"))

    @staticmethod
    async def resolve_my_listings(
        root: None, info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        viewer = require_viewer(info)
        start = ids.decode_cursor(after) if after else None
        page = await info.context.rpc.call("listings", "listings_of", viewer, first, start)
        edges = [{"cursor": ids.encode_cursor(v["id"]), "node": as_listing(v)} for v in page["listings"]]
        return _connection(edges, page["has_next_page"], after, page["total"], [])

    @staticmethod
    async def resolve_contacts(
        root: None,
        info: graphene.ResolveInfo,
        city: str,
        kind: Any = None,
        language: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> dict[str, Any]:
        ctx: Context = info.context
        if city not in city_catalogue.CITIES:
            errors = [{"field": ["city"], "message": f"unknown city {city!r}", "code": "UNKNOWN_CITY"}]
            return _connection([], False, after, 0, errors)
        offset = int(ids.decode_cursor(after) or 0) if after else 0
        groups = list((await ctx.viewer_context())["groups"])
        page = await ctx.rpc.call("listings", "list_contacts", city, enum_value(kind), language, groups, first, offset)
        edges = [
            {"cursor": ids.encode_cursor(str(offset + i + 1)), "node": as_contact(c)}
            for i, c in enumerate(page["contacts"])
        ]
        return _connection(edges, page["has_next_page"], after, page["total"], [])


class MonthsRangeInput(graphene.InputObjectType):
    min_months = graphene.Int()
    max_months = graphene.Int()


class ListingCreateInput(graphene.InputObjectType):
    kind = graphene.Field(ListingKind, required=True)
    category = graphene.Field(ListingCategory, required=True)
    title = graphene.String(required=True, description="1 to 140 characters.")
    description = graphene.String()
    language = graphene.String()
    city = graphene.String(required=True)
    size = graphene.String(description="Required to offer clothes or shoes.")
    age_range = graphene.Field(MonthsRangeInput)
    condition = graphene.Field(ListingCondition, description="Offers of things; GOOD when absent.")
    price = graphene.Field(MoneyInput, description="Required for SELL, refused otherwise.")
    photos = graphene.List(graphene.NonNull(graphene.String), description="Up to 8 https:// URLs.")
    pickup_address = graphene.String(description="Private: shown only to you and the reserver you accept.")
    pickup_location = graphene.Field(GeoPointInput, required=True, description="Private; others see a ~1 km area.")
    match_radius_km = graphene.Float(description="For WANTED: match offers this close (default 5, at most 50).")


class ListingPayload(graphene.ObjectType):
    listing = graphene.Field(Listing)
    user_errors = graphene.List(graphene.NonNull(UserError), required=True)


class ListingCreate(graphene.Mutation):
    """Post an offer or a wanted request. It is matched with the other side nearby at once, and
    both owners are told (inbox and notificationReceived)."""

    class Arguments:
        input = ListingCreateInput(required=True)

    Output = ListingPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        owner = require_viewer(info)
        fields: dict[str, Any] = {k: enum_value(v) for k, v in input.items() if v is not None}
        if "pickup_location" in fields:
            fields["pickup_location"] = {"lat": input["pickup_location"].lat, "lon": input["pickup_location"].lon}
        if "price" in fields:
            fields["price"] = {"amount": input["price"]["amount"], "currency": input["price"].get("currency")}
        if "age_range" in fields:
            age = fields.pop("age_range")
            fields["age_min_months"], fields["age_max_months"] = age.get("min_months"), age.get("max_months")
        result = await ctx.rpc.call(
            "listings",
            "create_listing",
            fields,
            owner,
            await ctx.apart(),
            await ctx.protected(),
            headers=ctx.once(info),
        )
        return {"listing": as_listing(result["listing"]), "user_errors": user_errors(result["errors"], ("input",))}


class ListingRefInput(graphene.InputObjectType):
    listing_id = graphene.ID(required=True)


def _listing_mutation(method: str, doc: str, *extra: Any) -> type:
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        viewer = require_viewer(info)
        listing_id = local_id(input["listing_id"], "Listing")
        if listing_id is None or await load_listing(info, listing_id) is None:
            return {
                "listing": None,
                "user_errors": [{"field": ["input", "listingId"], "message": "No such listing.", "code": "NOT_FOUND"}],
            }
        args: list[Any] = [listing_id, viewer, *extra]
        if method == "reserve_listing":
            args.append(await ctx.apart())
        result = await ctx.rpc.call("listings", method, *args)
        return {"listing": as_listing(result["listing"]), "user_errors": user_errors(result["errors"], ("input",))}

    arguments = type("Arguments", (), {"input": ListingRefInput(required=True)})
    return type(
        method.title().replace("_", ""),
        (graphene.Mutation,),
        {"__doc__": doc, "Arguments": arguments, "Output": ListingPayload, "mutate": staticmethod(mutate)},
    )


ListingRenew = _listing_mutation("renew_listing", "Owner: 30 more days (an expired listing comes back).")
ListingReserve = _listing_mutation(
    "reserve_listing",
    "Ask for an offer. The first to ask wins; others get ALREADY_RESERVED. The owner then accepts or declines.",
)
ListingReservationAccept = _listing_mutation(
    "decide_reservation", "Owner: accept the reservation; the reserver now sees the pickup address.", True
)
ListingReservationDecline = _listing_mutation(
    "decide_reservation", "Owner: decline the reservation; the listing is available again.", False
)
ListingComplete = _listing_mutation("complete_listing", "Owner: it was given, lent, swapped or sold; it leaves search.")
ListingWithdraw = _listing_mutation("withdraw_listing", "Owner: take it down; it leaves search.")


class ContactCreateInput(graphene.InputObjectType):
    kind = graphene.Field(ContactKind, required=True)
    name = graphene.String(required=True)
    city = graphene.String(required=True)
    description = graphene.String()
    phone = graphene.String()
    email = graphene.String()
    website = graphene.String()
    address = graphene.String()
    location = graphene.Field(GeoPointInput)
    languages = graphene.List(graphene.NonNull(graphene.String))
    group_id = graphene.ID(description="Only this group's members see it (you must be one).")


class ContactPayload(graphene.ObjectType):
    contact = graphene.Field(Contact)
    user_errors = graphene.List(graphene.NonNull(UserError), required=True)


class ContactCreate(graphene.Mutation):
    """Add a trusted contact; you are its first recommendation."""

    class Arguments:
        input = ContactCreateInput(required=True)

    Output = ContactPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        viewer = require_viewer(info)
        fields: dict[str, Any] = {k: enum_value(v) for k, v in input.items() if v is not None}
        if "location" in fields:
            fields["location"] = {"lat": input["location"].lat, "lon": input["location"].lon}
        if "group_id" in fields:
            group_id = local_id(fields["group_id"], "Group")
            if group_id is None or await ctx.group_role(group_id) is None:
                message = "Choose a group you are a member of."
                return {
                    "contact": None,
                    "user_errors": [{"field": ["input", "groupId"], "message": message, "code": "NOT_MEMBER"}],
                }
            fields["group_id"] = group_id
        result = await ctx.rpc.call("listings", "add_contact", fields, viewer, headers=ctx.once(info))
        return {"contact": as_contact(result["contact"]), "user_errors": user_errors(result["errors"], ("input",))}


class ContactRecommendInput(graphene.InputObjectType):
    contact_id = graphene.ID(required=True)


class ContactRecommend(graphene.Mutation):
    """Recommend a contact (once per member)."""

    class Arguments:
        input = ContactRecommendInput(required=True)

    Output = ContactPayload

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        contact_id = local_id(input["contact_id"], "Contact")
        if contact_id is None or await load_contact(info, contact_id) is None:
            return {
                "contact": None,
                "user_errors": [{"field": ["input", "contactId"], "message": "No such contact.", "code": "NOT_FOUND"}],
            }
        result = await info.context.rpc.call("listings", "recommend_contact", contact_id, viewer)
        return {"contact": as_contact(result["contact"]), "user_errors": user_errors(result["errors"], ("input",))}


class ListingMutations(graphene.ObjectType):
    listing_create = ListingCreate.Field()
    listing_renew = ListingRenew.Field()
    listing_reserve = ListingReserve.Field()
    listing_reservation_accept = ListingReservationAccept.Field()
    listing_reservation_decline = ListingReservationDecline.Field()
    listing_complete = ListingComplete.Field()
    listing_withdraw = ListingWithdraw.Field()
    contact_create = ContactCreate.Field()
    contact_recommend = ContactRecommend.Field()
