"""Outings in the schema: the type, what it shows (attendance, places, attendees) and nearby search."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import graphene

from parentnet_kit.contracts import OUTING_CATEGORIES

from .. import cursors, ids
from ..context import Context
from ..errors import Forbidden
from .base import (
    NODE_LOADERS,
    NODE_TYPES,
    City,
    GeoPoint,
    GeoPointInput,
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
    group_of,
    key_resolver,
    local_time,
    member_of,
    pictures_field,
    pictures_resolver,
    resolve_city,
    search_after,
    search_filter,
    search_page,
    typed,
    user_errors_field,
    visible_outing,
)

_CATEGORY_DOCS = {
    "zoo": "A zoo or a city farm.",
    "swimming_pool": "A swimming pool or a lido.",
    "museum": "A museum visit.",
    "exhibition": "An exhibition or a show.",
    "cafe": "A kid-friendly café.",
    "park": "A park, a playground, a picnic.",
    "playgroup": "A playgroup, indoors or out.",
    "barter_party": "A barter party: swap children's things.",
    "clothing_sale": "A children's clothing sale.",
    "workshop": "A workshop for children or parents.",
    "debate": "A talk or a discussion among parents.",
    "support_group": "A support group for parents.",
    "school_run": "A walk or a ride to school together.",
    "other": "Anything else.",
}
OutingCategory = enum(
    "OutingCategory",
    "What kind of outing it is.",
    [(name.upper(), name, _CATEGORY_DOCS[name]) for name in OUTING_CATEGORIES],
)
OutingState = enum(
    "OutingState",
    "Where an outing is in its life.",
    [
        ("PUBLISHED", "published", "Proposed and open: it shows in search and families can join."),
        ("CANCELLED", "cancelled", "Cancelled by its organizer or a group admin; everyone coming was told."),
    ],
)


class Outing(graphene.ObjectType):
    """An outing a parent proposes to other families, at a public place."""

    class Meta:
        interfaces = (Node,)

    title = graphene.String(required=True, description="1 to 140 characters, in its own language.")
    description = graphene.String(required=True, description="Details from the organizer; may be empty.")
    language = graphene.String(required=True, description="Language tag of title and description.")
    category = graphene.Field(OutingCategory, required=True, description="What kind of outing it is.")
    starts_at = graphene.DateTime(required=True, description="Start, with the city's UTC offset.")
    ends_at = graphene.DateTime(required=True, description="End, with the city's UTC offset.")
    time_zone = graphene.String(required=True, description="The city's IANA time zone, e.g. Europe/Paris.")
    venue_name = graphene.String(required=True, description="The public place where families meet.")
    location = graphene.Field(GeoPoint, required=True, description="The public meeting place.")
    city = graphene.Field(City, required=True, description="The city it takes place in.")
    state = graphene.Field(OutingState, required=True, description="Published or cancelled.")
    status = graphene.String(
        required=True,
        description="published or cancelled, in lower case.",
        deprecation_reason="Use state, an enum of the same values in upper case. Deprecated 2026-11-30.",
    )
    distance_km = graphene.Float(description="Distance from the point searched around, in km; null elsewhere.")
    organizer = graphene.Field(
        "gateway.schema.members.Member",
        description="The parent who proposed it; null if unknown or not visible to you.",
    )
    capacity = graphene.Int(description="Places, in families; null when there is no limit.")
    age_range = graphene.Field(lambda: AgeRange, description="Children's ages it suits; null when any.")
    with_children = graphene.Boolean(required=True, description="False for parents-only outings.")
    cost = graphene.Field(lambda: Money, description="Per family; null when free.")
    is_free = graphene.Boolean(required=True, description="True when it costs nothing.")
    group = graphene.Field("gateway.schema.groups.Group", description="The group it belongs to, if any.")
    series_id = graphene.ID(description="Shared by every occurrence of a recurring outing.")
    occurrence = graphene.Int(description="1 for the first occurrence of a series.")
    recurrence = graphene.Field(lambda: Recurrence, description="How it repeats; null for a one-off.")
    attendance = graphene.Field(lambda: Attendance, required=True, description="Who is coming, counted.")
    viewer_place = graphene.Field(lambda: Place, description="Your place or waitlist spot; null if you are not coming.")
    attendees = graphene.Field(
        lambda: AttendeeConnection,
        first=first_argument(),
        after=after_argument(),
        description=(
            "Who is coming and waiting, in order. For the organizer and those coming (FORBIDDEN otherwise). "
            "Whoever blocked you is neither listed nor in totalCount; positions are places in the real queue."
        ),
    )
    pictures = pictures_field("the outing")
    resolve_pictures = pictures_resolver("Outing")

    resolve_id = global_id_resolver("Outing")

    resolve_state = key_resolver("status")

    @staticmethod
    def resolve_starts_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime:
        return local_time(root["starts_at"], root["time_zone"])

    @staticmethod
    def resolve_ends_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime:
        return local_time(root["ends_at"], root["time_zone"])

    resolve_city = staticmethod(resolve_city)

    @staticmethod
    def resolve_distance_km(root: dict[str, Any], info: graphene.ResolveInfo) -> float | None:
        value = root.get("distance_km")
        return None if value is None else round(value, 3)

    @staticmethod
    async def resolve_organizer(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        organizer_id = root.get("organizer_id")
        if not organizer_id:
            return None
        return await member_of(info, organizer_id)

    @staticmethod
    def resolve_age_range(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        if root.get("age_min") is None and root.get("age_max") is None:
            return None
        return {"min_years": root.get("age_min"), "max_years": root.get("age_max")}

    @staticmethod
    def resolve_with_children(root: dict[str, Any], info: graphene.ResolveInfo) -> bool:
        return root.get("with_children", True)

    @staticmethod
    def resolve_is_free(root: dict[str, Any], info: graphene.ResolveInfo) -> bool:
        return not root.get("cost")

    @staticmethod
    async def resolve_group(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        if not root.get("group_id"):
            return None
        return await group_of(info, root["group_id"])

    @staticmethod
    def resolve_series_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str | None:
        return ids.to_global_id("Series", root["series_id"]) if root.get("series_id") else None

    @staticmethod
    def resolve_attendance(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any]:
        return root.get("attendance") or {
            "families": 0,
            "adults": 0,
            "children": 0,
            "waitlist": 0,
            "places_left": root.get("capacity"),
        }

    @staticmethod
    async def resolve_viewer_place(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        ctx: Context = info.context
        if ctx.viewer_id is None:
            return None
        return await ctx.loaders.place.load(root["id"])

    @staticmethod
    async def resolve_attendees(
        root: dict[str, Any], info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        ctx: Context = info.context
        first = check_first(info, first)
        shape = {"outing": root["id"]}
        start = cursors.decode(info, after, shape, cursors.is_count)
        page = await ctx.events.attendees(outing_id=root["id"], viewer_id=ctx.viewer_id, first=first, after=start)
        if page is None:
            raise Forbidden("Only the organizer and the families coming see who comes.")
        cursor = cursors.encoder(info, shape)
        # One batch for the page (awaiting each load in turn sent one get_members per attendee:
        # 50 calls of ~340 ms at volume, found by following a request id through the logs).
        members = await asyncio.gather(*(ctx.loaders.member.load(p["member_id"]) for p in page["places"]))
        edges = [
            {
                "cursor": cursor(p["ticket"]),
                "node": typed("Member", member),
                **{k: p[k] for k in ("status", "position", "adults", "children")},
            }
            for p, member in zip(page["places"], members, strict=True)
        ]
        shown = [e for e in edges if e["node"] is not None]
        # A member events still listed and members no longer shows (a block committed between
        # the two reads) leaves the count too, so that it never says more than the list.
        return connection(shown, page["has_next_page"], after, page["total"] - (len(edges) - len(shown)))


class AgeRange(graphene.ObjectType):
    """Children's ages, in whole years, both ends included."""

    min_years = graphene.Int(description="Youngest age it suits; null when no lower limit.")
    max_years = graphene.Int(description="Oldest age it suits; null when no upper limit.")


class Money(graphene.ObjectType):
    """An amount of money in a currency."""

    amount = graphene.String(required=True, description="A decimal, e.g. 4.50; never a float.")
    currency = graphene.String(required=True, description="ISO 4217, e.g. EUR.")


RecurrenceFrequency = enum(
    "RecurrenceFrequency",
    "How often a series repeats.",
    [
        ("WEEKLY", "weekly", "Every week, on the same weekday."),
        ("FORTNIGHTLY", "fortnightly", "Every other week."),
        ("MONTHLY", "monthly", "Every month, on the same day of the month."),
    ],
)
PlaceStatus = enum(
    "PlaceStatus",
    "A family's place in an outing.",
    [
        ("CONFIRMED", "confirmed", "A place: they are coming."),
        ("WAITLISTED", "waitlisted", "On the waitlist: they get a place when one frees up, in order."),
    ],
)
OutingEditScope = enum(
    "OutingEditScope",
    "Which occurrences of a series a change or a cancellation applies to.",
    [
        ("OCCURRENCE", "occurrence", "This occurrence only."),
        ("SERIES", "series", "Every upcoming occurrence not edited on its own."),
    ],
)


class Recurrence(graphene.ObjectType):
    """How a series repeats."""

    frequency = graphene.Field(RecurrenceFrequency, required=True, description="How often.")
    count = graphene.Int(required=True, description="How many occurrences the series has.")


class Attendance(graphene.ObjectType):
    """Derived from the places taken, never a stored counter."""

    families = graphene.Int(required=True, description="Families with a confirmed place.")
    adults = graphene.Int(required=True, description="Adults in the confirmed families.")
    children = graphene.Int(required=True, description="Children in the confirmed families.")
    waitlist = graphene.Int(required=True, description="Families waiting for a place.")
    places_left = graphene.Int(description="Null when there is no limit.")


class Place(graphene.ObjectType):
    """A family's place in an outing, or its spot on the waitlist."""

    status = graphene.Field(PlaceStatus, required=True, description="A place, or the waitlist.")
    position = graphene.Int(required=True, description="1-based, among the confirmed or on the waitlist.")
    adults = graphene.Int(required=True, description="Adults coming with this family.")
    children = graphene.Int(required=True, description="Children coming with this family.")


AttendeeEdge = edge_type(
    "AttendeeEdge",
    "gateway.schema.members.Member",
    "families coming to an outing (the parent who joined)",
    status=graphene.Field(PlaceStatus, required=True, description="A place, or the waitlist."),
    position=graphene.Int(required=True, description="1-based, among the confirmed or on the waitlist."),
    adults=graphene.Int(required=True, description="Adults coming with this family."),
    children=graphene.Int(required=True, description="Children coming with this family."),
)
AttendeeConnection = connection_type(
    "AttendeeConnection", AttendeeEdge, "gateway.schema.members.Member", "families coming to an outing"
)


async def load_outing(info: graphene.ResolveInfo, outing_id: str) -> dict[str, Any] | None:
    ctx: Context = info.context
    return as_outing(await visible_outing(ctx, await ctx.loaders.outing.load(outing_id)))


NODE_TYPES["Outing"] = Outing
NODE_LOADERS["Outing"] = load_outing


def as_outing(view: dict[str, Any] | None, **extra: Any) -> dict[str, Any] | None:
    return None if view is None else {**view, **extra, "__typename": "Outing"}


OutingEdge = edge_type("OutingEdge", Outing, "outings")


class CategoryCount(graphene.ObjectType):
    """How many results a category has, for filter chips."""

    category = graphene.String(required=True, description="A category value, e.g. zoo (as the enum, in lower case).")
    count = graphene.Int(required=True, description="Results in that category.")


OutingConnection = connection_type(
    "OutingConnection",
    OutingEdge,
    Outing,
    "outings",
    user_errors=deprecated_user_errors(),
    facets=graphene.List(
        graphene.NonNull(CategoryCount),
        required=True,
        description="Outings per category for this search, before any category filter: for the filter chips.",
    ),
)

OutingSort = enum(
    "OutingSort",
    "The order of nearby outings.",
    [
        ("DISTANCE", "distance", "Nearest first."),
        ("START_TIME", "start", "Soonest first."),
        ("RELEVANCE", "relevance", "Best match of filter.text first, then nearest."),
    ],
)


class OutingFilter(graphene.InputObjectType):
    """Narrow a search of outings; every field given must match."""

    text = graphene.String(
        description="Words in the title, description or venue, in any language; up to 200 characters."
    )
    categories = graphene.List(graphene.NonNull(OutingCategory), description="Any of these categories.")
    language = graphene.String(description="Language tag of the outing's text.")
    child_ages = graphene.List(
        graphene.NonNull(graphene.Int),
        description='Ages in years, 0 to 18, up to 8; every child must fit ("good for my 2- and 5-year-old").',
    )
    starts_after = graphene.DateTime(
        description="At or after this time; without an offset, read in the time zone of the city nearest `near`."
    )
    starts_before = graphene.DateTime(
        description="Starting before this time; without an offset, read in the time zone of the city nearest `near`."
    )
    free_only = graphene.Boolean(description="Only outings that cost nothing.")
    min_places_left = graphene.Int(description="Outings with at least this many places left (or no limit).")


class OutingQueries(graphene.ObjectType):
    # Nullable, so that when search is down the rest of the response still resolves.
    nearby_outings = graphene.Field(
        OutingConnection,
        near=graphene.Argument(GeoPointInput, required=True, description="The point to search around."),
        radius_km=graphene.Argument(graphene.Float, required=True, description="More than 0, at most 100."),
        first=first_argument(),
        after=after_argument(),
        filter=graphene.Argument(OutingFilter, description="Narrow the search; all outings when absent."),
        sort=graphene.Argument(
            OutingSort,
            default_value="distance",
            description="Nearest or soonest first, or best text match first (then nearest).",
        ),
        description=(
            "Upcoming outings around a point, nearest first, with counts per category. A bad argument is a "
            "top-level BAD_USER_INPUT error naming it in extensions.field."
        ),
    )

    @staticmethod
    async def resolve_nearby_outings(
        root: None,
        info: graphene.ResolveInfo,
        near: dict[str, float],
        radius_km: float,
        first: int = 20,
        after: str | None = None,
        filter: dict[str, Any] | None = None,
        sort: Any = "distance",
    ) -> dict[str, Any]:
        ctx: Context = info.context
        first = check_first(info, first)
        point, radius = check_point(info, near), check_radius(info, radius_km)
        shape = {"near": point, "radius_km": radius, "filter": filter, "sort": enum_value(sort)}
        page = await ctx.search.nearby_outings(
            near=point,
            radius_km=radius,
            first=first,
            after=search_after(info, after, shape),
            viewer_id=ctx.viewer_id,
            viewer_groups=list((await ctx.viewer_context())["groups"]),
            filters=await search_filter(filter, near),
            sort=enum_value(sort),
            apart_ids=await ctx.apart(),  # a block at once, before paging (search's copy lags it)
        )
        argument_errors(info, page["errors"])
        return search_page(info, shape, page, after, as_outing)


class OutingPayload(graphene.ObjectType):
    """The outing after the change."""

    outing = graphene.Field(Outing, description="The outing as it is now; null when nothing was found.")
    place = graphene.Field(Place, description="Your place after outingJoin.")
    user_errors = user_errors_field()
