"""Listings in the schema: give, lend, swap, sell, want; nearby search, your listings, reserving."""

from __future__ import annotations

from typing import Any

import graphene

from parentnet_kit import contracts
from parentnet_kit.i18n import t

from .. import cursors
from ..context import Context, context_of
from .base import (
    NODE_LOADERS,
    NODE_TYPES,
    City,
    GeoPoint,
    GeoPointInput,
    InputMutation,
    Node,
    after_argument,
    argument_errors,
    check_first,
    check_point,
    check_radius,
    connection,
    connection_type,
    deprecated_user_errors,
    edge_type,
    enum,
    enum_value,
    first_argument,
    global_id_resolver,
    input_mutation,
    local_id,
    member_resolver,
    payload,
    pictures_field,
    pictures_resolver,
    require_viewer,
    resolve_city,
    search_after,
    search_filter,
    search_page,
    time_resolver,
    user_errors_field,
)

_KIND_DOCS = {
    "give": "Given away, free.",
    "lend": "Lent, to be given back.",
    "swap": "Swapped for something else.",
    "sell": "Sold, at a price.",
    "wanted": "A request: someone is looking for it.",
}
_CATEGORY_DOCS = {
    "pram_stroller": "Prams, pushchairs and strollers.",
    "car_seat": "Car seats.",
    "clothes": "Children's clothes (give a size).",
    "shoes": "Children's shoes (give a size).",
    "toys": "Toys and games.",
    "books": "Books.",
    "furniture": "Cots, high chairs, changing tables...",
    "maternity": "Maternity clothes and things.",
    "babysitting": "Babysitting, offered or wanted.",
    "tutoring": "Tutoring and help with homework.",
    "other": "Anything else.",
}
_CONDITION_DOCS = {
    "new": "Never used.",
    "like_new": "Used, but as good as new.",
    "good": "Used, in good condition.",
    "fair": "Worn, but works.",
}
ListingKind = enum(
    "ListingKind",
    "What the owner does with it (or, for WANTED, looks for).",
    [(name.upper(), name, _KIND_DOCS[name]) for name in contracts.LISTING_KINDS],
)
ListingCategory = enum(
    "ListingCategory",
    "What sort of thing it is.",
    [(name.upper(), name, _CATEGORY_DOCS[name]) for name in contracts.LISTING_CATEGORIES],
)
ListingCondition = enum(
    "ListingCondition",
    "How worn a thing is.",
    [(name.upper(), name, _CONDITION_DOCS[name]) for name in contracts.LISTING_CONDITIONS],
)
ListingStatus = enum(
    "ListingStatus",
    "Where a listing is in its life.",
    [
        ("ACTIVE", "active", "Available: in search, open to reservations."),
        ("RESERVED", "reserved", "Somebody asked for it; the owner accepts or declines."),
        ("COMPLETED", "completed", "Given, lent, swapped or sold; out of search."),
        ("WITHDRAWN", "withdrawn", "Taken down by its owner; out of search."),
        ("EXPIRED", "expired", "Not renewed in time; out of search until renewed."),
    ],
)
ReservationStatus = enum(
    "ReservationStatus",
    "Where a reservation is.",
    [
        ("REQUESTED", "requested", "Asked for; the owner has not decided."),
        ("ACCEPTED", "accepted", "Accepted: the reserver sees the pickup address."),
    ],
)


class MonthsRange(graphene.ObjectType):
    """Children's ages in months, both ends included."""

    min_months = graphene.Int(description="Youngest age it suits; null when no lower limit.")
    max_months = graphene.Int(description="Oldest age it suits; null when no upper limit.")


class Listing(graphene.ObjectType):
    """Something given, lent, swapped or sold, or a wanted request. Its place is a ~1 km area;
    the exact pickup address is only for the owner and the member whose reservation was accepted."""

    class Meta:
        interfaces = (Node,)

    kind = graphene.Field(ListingKind, required=True, description="Give, lend, swap, sell, or wanted.")
    category = graphene.Field(ListingCategory, required=True, description="What sort of thing it is.")
    title = graphene.String(required=True, description="1 to 140 characters.")
    description = graphene.String(required=True, description="Details from the owner; may be empty.")
    language = graphene.String(required=True, description="Language tag of title and description.")
    city = graphene.Field(City, required=True, description="The city it is in.")
    size = graphene.String(description="Clothes and shoes, e.g. 86 or 24.")
    age_range = graphene.Field(MonthsRange, description="Children's ages it suits, in months.")
    condition = graphene.Field(ListingCondition, description="How worn it is; null for WANTED and services.")
    price = graphene.Field("gateway.schema.outings.Money", description="For SELL; null otherwise.")
    is_free = graphene.Boolean(required=True, description="True when it has no price.")
    photos = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="https:// URLs, up to 8.",
        deprecation_reason="Use pictures: files uploaded with pictureAdd, stripped of their metadata (GPS "
        "positions included) and served in sizes; these links point anywhere, unchecked. Deprecated 2026-11-30.",
    )
    pictures = pictures_field("the listing (uploaded with pictureAdd; photos are links given by its owner)")
    resolve_pictures = pictures_resolver("Listing")
    pickup_area = graphene.Field(
        "gateway.schema.members.Cell",
        required=True,
        description="Where, to about 1 km: a fixed area, the same every time.",
    )
    pickup_address = graphene.String(description="The owner's and the accepted reserver's only; null for anyone else.")
    pickup_location = graphene.Field(GeoPoint, description="As pickupAddress.")
    match_radius_km = graphene.Float(description="For WANTED: how far offers are matched.")
    owner = graphene.Field("gateway.schema.members.Member", description="Who posted it; null if not visible to you.")
    status = graphene.Field(ListingStatus, required=True, description="Where it is in its life.")
    reservation_status = graphene.Field(ReservationStatus, description="Null when nobody reserved it.")
    viewer_is_owner = graphene.Boolean(required=True, description="True when it is yours.")
    expires_at = graphene.DateTime(required=True, description="Renew with listingRenew; expired listings leave search.")
    created_at = graphene.DateTime(required=True, description="When it was posted.")
    distance_km = graphene.Float(description="To the pickup area's centre, from the point searched around.")

    resolve_id = global_id_resolver("Listing")

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

    resolve_owner = member_resolver("owner_id")

    @staticmethod
    def resolve_viewer_is_owner(root: dict[str, Any], info: graphene.ResolveInfo) -> bool:
        return info.context.viewer_id is not None and root["owner_id"] == info.context.viewer_id

    @staticmethod
    def resolve_distance_km(root: dict[str, Any], info: graphene.ResolveInfo) -> float | None:
        value = root.get("distance_km")
        return None if value is None else round(value, 1)

    resolve_expires_at = time_resolver("expires_at")

    resolve_created_at = time_resolver("created_at")


def as_listing(view: dict[str, Any] | None, **extra: Any) -> dict[str, Any] | None:
    return None if view is None else {**view, **extra, "__typename": "Listing"}


async def load_listing(info: graphene.ResolveInfo, listing_id: str) -> dict[str, Any] | None:
    ctx: Context = info.context
    view = await ctx.loaders.listing.load(listing_id)
    if view is None or view["owner_id"] in await ctx.blocked_by():
        return None
    if view.get("hidden") and view["owner_id"] != ctx.viewer_id:  # hidden by a moderator
        return None
    return as_listing(view)


NODE_TYPES.update(Listing=Listing)
NODE_LOADERS.update(Listing=load_listing)


ListingEdge = edge_type("ListingEdge", Listing, "listings")
ListingConnection = connection_type(
    "ListingConnection",
    ListingEdge,
    Listing,
    "listings",
    user_errors=deprecated_user_errors(),
    facets=graphene.List(
        graphene.NonNull("gateway.schema.outings.CategoryCount"),
        required=True,
        description="Listings per category (nearby only; else empty).",
    ),
)


class ListingFilter(graphene.InputObjectType):
    """Narrow a search of listings; every field given must match."""

    text = graphene.String(description="Words in the title or description; up to 200 characters.")
    categories = graphene.List(graphene.NonNull(ListingCategory), description="Any of these categories.")
    kinds = graphene.List(graphene.NonNull(ListingKind), description="Any of these kinds.")
    language = graphene.String(description="Language tag of the listing's text.")
    child_ages = graphene.List(
        graphene.NonNull(graphene.Int), description="Ages in months, 0 to 216, up to 8; every child must fit."
    )
    free_only = graphene.Boolean(description="Given, lent or swapped: no price.")


def _connection(
    edges: list[dict[str, Any]],
    has_next: bool,
    after: str | None,
    total: int,
    facets: list | None = None,
    has_previous: bool | None = None,
) -> dict[str, Any]:
    return connection(edges, has_next, after, total, has_previous, user_errors=[], facets=facets or [])


class ListingQueries(graphene.ObjectType):
    nearby_listings = graphene.Field(
        ListingConnection,
        near=graphene.Argument(GeoPointInput, required=True, description="The point to search around."),
        radius_km=graphene.Argument(graphene.Float, required=True, description="More than 0, at most 100."),
        kinds=graphene.Argument(graphene.List(graphene.NonNull(ListingKind)), description="Any of these kinds."),
        category=graphene.Argument(ListingCategory, description="Only this category."),
        filter=graphene.Argument(ListingFilter, description="Narrow the search; all listings when absent."),
        first=first_argument(),
        after=after_argument(),
        description=(
            "Available listings around a point, nearest pickup area first. A bad argument is a top-level "
            "BAD_USER_INPUT error naming it in extensions.field."
        ),
    )

    my_listings = graphene.Field(
        ListingConnection,
        first=first_argument(),
        after=after_argument(),
        description="Your listings, newest first, whatever their status. Signed in only.",
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
        first = check_first(info, first)
        point, radius = check_point(info, near), check_radius(info, radius_km)
        kind_values = [enum_value(k) for k in kinds or []] or None
        shape = {
            "near": point,
            "radius_km": radius,
            "kinds": kind_values,
            "category": enum_value(category),
            "filter": filter,
        }
        page = await ctx.search.nearby_listings(
            near=point,
            radius_km=radius,
            first=first,
            after=search_after(info, after, shape),
            viewer_id=ctx.viewer_id,
            kinds=kind_values,
            category=enum_value(category),
            filters=await search_filter(filter),
            apart_ids=await ctx.apart(),  # a block at once, before paging (search's copy lags it)
        )
        argument_errors(info, page["errors"])
        return search_page(info, shape, page, after, as_listing)

    @staticmethod
    async def resolve_my_listings(
        root: None, info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        viewer = require_viewer(info)
        first = check_first(info, first)
        start = cursors.decode(info, after, {}, cursors.is_key)
        page = await context_of(info).listings.listings_of(owner_id=viewer, first=first, after=start)
        cursor = cursors.encoder(info, {})
        edges = [{"cursor": cursor(v["id"]), "node": as_listing(v)} for v in page["listings"]]
        return _connection(edges, page["has_next_page"], after, page["total"])


class MonthsRangeInput(graphene.InputObjectType):
    """Children's ages in months; leave an end out for no limit."""

    min_months = graphene.Int(description="Youngest, 0 to 216.")
    max_months = graphene.Int(description="Oldest, 0 to 216, at least minMonths.")


class ListingCreateInput(graphene.InputObjectType):
    """A new offer or wanted request."""

    kind = graphene.Field(ListingKind, required=True, description="Give, lend, swap, sell, or wanted.")
    category = graphene.Field(ListingCategory, required=True, description="What sort of thing it is.")
    title = graphene.String(required=True, description="1 to 140 characters.")
    description = graphene.String(description="Up to 5,000 characters.")
    language = graphene.String(description="Language tag of title and description; defaults to the city's first.")
    city = graphene.String(required=True, description="A city slug, as in `cities`.")
    size = graphene.String(description="Required to offer clothes or shoes.")
    age_range = graphene.Field(MonthsRangeInput, description="Children's ages it suits, in months.")
    condition = graphene.Field(ListingCondition, description="Offers of things; GOOD when absent.")
    price = graphene.Field(
        "gateway.schema.outing_changes.MoneyInput", description="Required for SELL, refused otherwise."
    )
    photos = graphene.List(graphene.NonNull(graphene.String), description="Up to 8 https:// URLs.")
    pickup_address = graphene.String(description="Private: shown only to you and the reserver you accept.")
    pickup_location = graphene.Field(GeoPointInput, required=True, description="Private; others see a ~1 km area.")
    match_radius_km = graphene.Float(description="For WANTED: match offers this close (default 5, at most 50).")


class ListingPayload(graphene.ObjectType):
    """The listing after the mutation."""

    listing = graphene.Field(Listing, description="The listing as it is now; null when nothing was found or made.")
    user_errors = user_errors_field()


class ListingCreate(InputMutation, input=ListingCreateInput, about="The offer or request.", output=ListingPayload):
    """Post an offer or a wanted request. It is matched with the other side nearby at once, and
    both owners are told (inbox and notificationReceived)."""

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
        result = await ctx.listings.using(headers=ctx.once(info)).create_listing(
            fields=fields, owner_id=owner, apart=await ctx.apart(), protected=await ctx.protected()
        )
        return payload(result, listing="Listing")


class ListingRefInput(graphene.InputObjectType):
    """Which listing."""

    listing_id = graphene.ID(required=True, description="The listing's ID.")


def _listing_mutation(method: str, doc: str, *extra: Any) -> type[InputMutation]:
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        viewer = require_viewer(info)
        listing_id = local_id(input["listing_id"], "Listing")
        if listing_id is None or await load_listing(info, listing_id) is None:
            return {
                "listing": None,
                "user_errors": [
                    {"field": ["input", "listingId"], "message": t("No such listing."), "code": "NOT_FOUND"}
                ],
            }
        if method == "reserve_listing":
            result = await ctx.listings.reserve_listing(
                listing_id=listing_id, member_id=viewer, apart=await ctx.apart()
            )
        elif method == "decide_reservation":
            result = await ctx.listings.decide_reservation(listing_id=listing_id, owner_id=viewer, accept=extra[0])
        else:
            owners_call = {
                "renew_listing": ctx.listings.renew_listing,
                "complete_listing": ctx.listings.complete_listing,
                "withdraw_listing": ctx.listings.withdraw_listing,
            }[method]
            result = await owners_call(listing_id=listing_id, owner_id=viewer)
        return payload(result, listing="Listing")

    name = method.title().replace("_", "")
    return input_mutation(name, doc, ListingRefInput, "Which listing.", ListingPayload, mutate)


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


class ListingMutations(graphene.ObjectType):
    listing_create = ListingCreate.Field()
    listing_renew = ListingRenew.Field()
    listing_reserve = ListingReserve.Field()
    listing_reservation_accept = ListingReservationAccept.Field()
    listing_reservation_decline = ListingReservationDecline.Field()
    listing_complete = ListingComplete.Field()
    listing_withdraw = ListingWithdraw.Field()
