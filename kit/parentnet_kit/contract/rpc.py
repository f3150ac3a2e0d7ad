"""Each service's RPC methods as a typed client: one class per service, its methods named as the
service's ``@rpc`` methods, with keyword-only, typed parameters and the service's return types.

A client delegates to an ``RpcTransport`` (the gateway's ``rpc.RpcClient``: its deadlines,
request-id headers and error mapping), sending arguments by name; an optional argument left at
its default is not sent, so a service one version older, without that parameter, still answers.
Call options (an idempotency header, a longer deadline) come with ``using``:

    await EventsClient(rpc).using(headers=once).create_outing(fields=fields, organizer_id=viewer)

Raises what the transport raises (the gateway's ``ServiceUnavailable``, ``OutcomeUnknown``,
``RemoteError``). ``tests/contract`` checks every class against its service's ``@rpc`` methods
(names, parameter names, which are required, defaults) and against ``snapshot.json``.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Protocol, Self, TypedDict


class RpcTransport(Protocol):
    """What a client sends its calls through: ``service.method(**kwargs)``, with per-call
    ``timeout`` (seconds) and AMQP ``headers``; returns the decoded result."""

    async def call(
        self,
        service: str,
        method: str,
        *args: Any,
        timeout: float | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any: ...


class SeenBy(TypedDict):
    """Who is looking, for a service that pages outings as ``visible_outing`` would show them:
    pass as ``**seen`` to ``member_outings`` and ``group_outings``."""

    hidden_organizers: list[str]  # members who blocked the viewer
    viewer_groups: list[str]  # the viewer's groups (ids)


class FeedToken(TypedDict):
    """A calendar feed's new secret token; ``replaced``: an earlier token stopped working."""

    token: str
    replaced: bool


class FeedOwner(TypedDict):
    """Whose feed a token opens: a member's, or with ``group_id`` one of their groups'."""

    member_id: str
    group_id: str | None


# Names a client keeps for its call options: no ``@rpc`` method may take a parameter so named.
CALL_OPTIONS = ("timeout", "headers")


_DEFAULTS: dict[tuple[type, str], dict[str, Any]] = {}


def _defaults(cls: type, method: str) -> dict[str, Any]:
    """The defaults of ``cls.method``'s parameters, by name (read once per method)."""
    found = _DEFAULTS.get((cls, method))
    if found is None:
        signature = inspect.signature(getattr(cls, method))
        found = {n: p.default for n, p in signature.parameters.items() if p.default is not inspect.Parameter.empty}
        _DEFAULTS[(cls, method)] = found
    return found


class ServiceClient:
    """Base of the clients: the transport, the service's name and this client's call options."""

    service: ClassVar[str]

    def __init__(
        self, transport: RpcTransport, *, headers: dict[str, str] | None = None, timeout: float | None = None
    ) -> None:
        self.transport = transport
        self.headers = headers
        self.timeout = timeout

    def using(self, *, headers: dict[str, str] | None = None, timeout: float | None = None) -> Self:
        """The same client whose calls carry ``headers`` (e.g. the idempotency key of one
        mutation) and ``timeout`` seconds as their deadline (None: the transport's)."""
        return type(self)(self.transport, headers=headers, timeout=timeout)

    async def _call(self, method: str, **arguments: Any) -> Any:
        defaults = _defaults(type(self), method)
        sent = {n: v for n, v in arguments.items() if n not in defaults or v != defaults[n]}
        options: dict[str, Any] = {}
        if self.headers is not None:
            options["headers"] = self.headers
        if self.timeout is not None:
            options["timeout"] = self.timeout
        return await self.transport.call(self.service, method, **options, **sent)

    async def ping(self) -> str:
        """``"pong"`` from one instance of the service: it serves."""
        return await self._call("ping")


class PicturesApi(ServiceClient):
    """The picture methods of every service that owns subjects with pictures (``picture_rpc``)."""

    async def picture_add(
        self, *, kind: str, subject_id: str, actor_id: str, variants: list[dict[str, Any]], actor_is_admin: bool = False
    ) -> dict[str, Any]:
        """Add a picture made by ``pictures.process`` (``variants`` as ``picture_store.to_wire`` gives them) to a
        subject. ``{"picture": view | None, "errors": [...]}``: ``NOT_FOUND``, ``NOT_YOURS``, …
        ``actor_is_admin``: deprecated, ignored (the service decides roles from members' data)."""
        return await self._call(
            "picture_add",
            kind=kind,
            subject_id=subject_id,
            actor_id=actor_id,
            variants=variants,
            actor_is_admin=actor_is_admin,
        )

    async def picture_remove(
        self, *, kind: str, subject_id: str, picture_id: str, actor_id: str, actor_is_admin: bool = False
    ) -> dict[str, Any]:
        """Take a picture off its subject: ``{"removed": bool, "errors": [...]}`` (``NOT_FOUND`` for a subject or
        picture that is not there, ``NOT_YOURS``). ``actor_is_admin``: deprecated, ignored."""
        return await self._call(
            "picture_remove",
            kind=kind,
            subject_id=subject_id,
            picture_id=picture_id,
            actor_id=actor_id,
            actor_is_admin=actor_is_admin,
        )

    async def pictures_of(self, *, kind: str, subject_ids: list[str]) -> list[list[dict[str, Any]]]:
        """Each subject's pictures (``picture_store.view``), oldest first, in the order asked. Whether the asker may
        see the subject is the caller's to check first."""
        return await self._call("pictures_of", kind=kind, subject_ids=subject_ids)

    async def picture_file(self, *, kind: str, subject_id: str, picture_id: str, variant: str) -> dict[str, Any] | None:
        """One variant's bytes, ``{"content_type", "sha256", "data": base64}``, by its size (``large``, ...) or
        digest, while the picture is on the subject; None otherwise."""
        return await self._call(
            "picture_file", kind=kind, subject_id=subject_id, picture_id=picture_id, variant=variant
        )


class InboxApi(ServiceClient):
    """A member's notifications kept by a service (events, listings)."""

    async def inbox(
        self, *, member_id: str, first: int = 20, before_at: str | None = None, before_id: str = ""
    ) -> dict[str, Any]:
        """The member's notifications, newest first, strictly before (``before_at`` ISO 8601,
        ``before_id``), the last item of the previous page: ``{items, has_next_page, unread, total}``."""
        return await self._call("inbox", member_id=member_id, first=first, before_at=before_at, before_id=before_id)

    async def mark_read(self, *, member_id: str, notification_ids: list[str]) -> int:
        """Mark the member's notifications read; how many were unread."""
        return await self._call("mark_read", member_id=member_id, notification_ids=notification_ids)


class EventsClient(PicturesApi, InboxApi):
    """The ``events`` service: Outings, attendance, calendar feeds, the babysitting coop and school-run trips."""

    service = "events"

    async def create_outing(
        self, *, fields: dict[str, Any], organizer_id: str | None = None, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Propose an outing. Returns ``{"outing": ..., "errors": []}``; nothing is stored on errors.
        ``idempotency_key`` defaults to the request's id, as for every other creation."""
        return await self._call(
            "create_outing", fields=fields, organizer_id=organizer_id, idempotency_key=idempotency_key
        )

    async def update_outing(
        self,
        *,
        outing_id: str,
        actor_id: str,
        fields: dict[str, Any],
        scope: str = "occurrence",
        actor_is_group_admin: bool = False,
    ) -> dict[str, Any]:
        """Change an outing (``scope`` "series": and its later occurrences). ``{outing, errors}``.
        ``actor_is_group_admin``: deprecated, ignored (events asks members who admins the group)."""
        return await self._call(
            "update_outing",
            outing_id=outing_id,
            actor_id=actor_id,
            fields=fields,
            scope=scope,
            actor_is_group_admin=actor_is_group_admin,
        )

    async def cancel_outing(
        self, *, outing_id: str, actor_id: str, scope: str = "occurrence", actor_is_group_admin: bool = False
    ) -> dict[str, Any]:
        """Cancel an outing (``scope`` "series": and its later occurrences): ``{outing, errors}``.
        ``actor_is_group_admin``: deprecated, ignored."""
        return await self._call(
            "cancel_outing",
            outing_id=outing_id,
            actor_id=actor_id,
            scope=scope,
            actor_is_group_admin=actor_is_group_admin,
        )

    async def join_outing(
        self, *, outing_id: str, member_id: str, adults: int = 1, children: int = 0
    ) -> dict[str, Any]:
        """Take a place, or a waitlist spot when it is full: ``{place, outing, errors}``."""
        return await self._call(
            "join_outing", outing_id=outing_id, member_id=member_id, adults=adults, children=children
        )

    async def leave_outing(self, *, outing_id: str, member_id: str) -> dict[str, Any]:
        """Give up a place or a waitlist spot (the first waiting family moves up): ``{outing, errors}``."""
        return await self._call("leave_outing", outing_id=outing_id, member_id=member_id)

    async def attendees(
        self, *, outing_id: str, viewer_id: str | None, first: int = 20, after: int | None = None
    ) -> dict[str, Any] | None:
        """Who comes, for the organizer and the families coming only (None for anyone else)."""
        return await self._call("attendees", outing_id=outing_id, viewer_id=viewer_id, first=first, after=after)

    async def places_of(self, *, member_id: str, outing_ids: list[str]) -> list[dict[str, Any] | None]:
        """The member's place in each outing, in the order asked (None where they have none)."""
        return await self._call("places_of", member_id=member_id, outing_ids=outing_ids)

    async def member_outings(
        self,
        *,
        member_id: str,
        states: list[str] | None = None,
        first: int = 20,
        after: int | None = None,
        hidden_organizers: list[str] | None = None,
        viewer_groups: list[str] | None = None,
    ) -> dict[str, Any]:
        """The member's outings in ``states`` (organizing, going, waitlisted, past; default the first three),
        upcoming soonest first then past most recent first: ``{items: [{outing, state, place, position}], …"""
        return await self._call(
            "member_outings",
            member_id=member_id,
            states=states,
            first=first,
            after=after,
            hidden_organizers=hidden_organizers,
            viewer_groups=viewer_groups,
        )

    async def group_outings(
        self,
        *,
        group_ids: list[str],
        period: str = "upcoming",
        first: int = 20,
        after: int | None = None,
        starts_from: str | None = None,
        starts_before: str | None = None,
        hidden_organizers: list[str] | None = None,
        viewer_groups: list[str] | None = None,
    ) -> dict[str, Any]:
        """The outings of these groups (the caller checked the viewer may see them): ``period`` "upcoming" (not
        over; cancelled ones included) soonest first, or "past" most recent first; …"""
        return await self._call(
            "group_outings",
            group_ids=group_ids,
            period=period,
            first=first,
            after=after,
            starts_from=starts_from,
            starts_before=starts_before,
            hidden_organizers=hidden_organizers,
            viewer_groups=viewer_groups,
        )

    async def calendar_feed_rotate(self, *, member_id: str, group_id: str | None = None) -> FeedToken:
        """A new secret token for the member's calendar feed (of ``group_id``: the caller checked membership); the
        previous token stops working. ``{token, replaced}``; only a hash is stored."""
        return await self._call("calendar_feed_rotate", member_id=member_id, group_id=group_id)

    async def calendar_feed_revoke(self, *, member_id: str, group_id: str | None = None) -> bool:
        """The feed's token stops working (False when there was none)."""
        return await self._call("calendar_feed_revoke", member_id=member_id, group_id=group_id)

    async def calendar_feed_resolve(self, *, token: str) -> FeedOwner | None:
        """``{member_id, group_id}`` for a working token, None for an unknown, rotated or revoked one."""
        return await self._call("calendar_feed_resolve", token=token)

    async def series(self, *, series_id: str) -> list[dict[str, Any]]:
        """Every occurrence of a series, by start: public views of outings."""
        return await self._call("series", series_id=series_id)

    async def get_outing(self, *, outing_id: str) -> dict[str, Any] | None:
        """One outing's public view, or None."""
        return await self._call("get_outing", outing_id=outing_id)

    async def get_outings(self, *, outing_ids: list[str]) -> list[dict[str, Any] | None]:
        """Batch lookup for the gateway's DataLoader; answers in the order asked."""
        return await self._call("get_outings", outing_ids=outing_ids)

    async def export_outings(self, *, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """A page of outings in id order, for the search backfill."""
        return await self._call("export_outings", after=after, size=size)

    async def export_activities(self, *, kind: str, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """Co-op shifts ("coop_shift") or school runs ("trip") in id order, for the search
        backfill's ``activities`` index (the backfill's operator token only)."""
        return await self._call("export_activities", kind=kind, after=after, size=size)

    async def coop_offer(
        self, *, host_id: str, group_id: str, fields: dict[str, Any], protected: bool = False
    ) -> dict[str, Any]:
        """Offer a shift: ``{shift, errors}``. ``protected``: the host is in protected mode (city-level area)."""
        return await self._call("coop_offer", host_id=host_id, group_id=group_id, fields=fields, protected=protected)

    async def coop_place_host(self, *, host_id: str) -> int:
        """After a host turned protected mode on: their open shifts' areas move to city level."""
        return await self._call("coop_place_host", host_id=host_id)

    async def coop_shifts(self, *, group_id: str, first: int = 50) -> list[dict[str, Any]]:
        """A group's open babysitting-coop shifts, soonest first, at most ``first``."""
        return await self._call("coop_shifts", group_id=group_id, first=first)

    async def coop_shift(self, *, shift_id: str) -> dict[str, Any] | None:
        """One coop shift, or None."""
        return await self._call("coop_shift", shift_id=shift_id)

    async def coop_book(self, *, shift_id: str, member_id: str, children: int) -> dict[str, Any]:
        """Book places: ``{booking, errors}`` (``FULL``, ``BELOW_FLOOR``, ``CLOSED``, ``OWN_SHIFT``)."""
        return await self._call("coop_book", shift_id=shift_id, member_id=member_id, children=children)

    async def coop_cancel(self, *, booking_id: str, member_id: str) -> dict[str, Any]:
        """Cancel a coop booking (the member's own): ``{booking, errors}``."""
        return await self._call("coop_cancel", booking_id=booking_id, member_id=member_id)

    async def coop_balance(self, *, group_id: str, member_id: str) -> dict[str, int]:
        """A member's balance and the group's floor, in child-minutes."""
        return await self._call("coop_balance", group_id=group_id, member_id=member_id)

    async def coop_balances(self, *, group_id: str) -> dict[str, int]:
        """Every account of the group (with ``escrow``): for admins. They sum to zero."""
        return await self._call("coop_balances", group_id=group_id)

    async def coop_set_floor(self, *, group_id: str, floor_minutes: int) -> None:
        """Set how far below zero (minutes) a group's coop balances may go."""
        return await self._call("coop_set_floor", group_id=group_id, floor_minutes=floor_minutes)

    async def trip_create(self, *, creator_id: str, group_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Set up a school-run trip in a group: ``{trip, errors}``."""
        return await self._call("trip_create", creator_id=creator_id, group_id=group_id, fields=fields)

    async def trip_get(self, *, trip_id: str) -> dict[str, Any] | None:
        """One trip, or None."""
        return await self._call("trip_get", trip_id=trip_id)

    async def group_trips(self, *, group_id: str) -> list[dict[str, Any]]:
        """A group's trips."""
        return await self._call("group_trips", group_id=group_id)

    async def trip_join(self, *, trip_id: str, member_id: str, children: list[str]) -> dict[str, Any]:
        """Put the member's children on a trip: ``{trip, errors}``."""
        return await self._call("trip_join", trip_id=trip_id, member_id=member_id, children=children)

    async def trip_riders(self, *, trip_id: str) -> list[dict[str, Any]]:
        """Who rides a trip: ``[{member_id, children}]``."""
        return await self._call("trip_riders", trip_id=trip_id)

    async def trip_rota(self, *, trip_id: str) -> list[dict[str, Any]] | None:
        """A trip's rota of drivers by date, or None for no such trip."""
        return await self._call("trip_rota", trip_id=trip_id)

    async def trip_volunteer(self, *, trip_id: str, member_id: str, date: str) -> dict[str, Any]:
        """Drive a trip on ``date`` (ISO date): ``{trip, errors}``."""
        return await self._call("trip_volunteer", trip_id=trip_id, member_id=member_id, date=date)

    async def trip_swap_propose(self, *, trip_id: str, member_id: str, my_date: str, their_date: str) -> dict[str, Any]:
        """Offer to swap the member's driving date for another's: ``{swap, errors}``."""
        return await self._call(
            "trip_swap_propose", trip_id=trip_id, member_id=member_id, my_date=my_date, their_date=their_date
        )

    async def trip_swap_accept(self, *, swap_id: str, member_id: str) -> dict[str, Any]:
        """Accept a proposed swap (the other driver): ``{swap, errors}``."""
        return await self._call("trip_swap_accept", swap_id=swap_id, member_id=member_id)


class ListingsClient(PicturesApi, InboxApi):
    """The ``listings`` service: Listings (give, lend, swap, sell, wanted) and recommended contacts."""

    service = "listings"

    async def create_listing(
        self, *, fields: dict[str, Any], owner_id: str, apart: list[str] | None = None, protected: bool = False
    ) -> dict[str, Any]:
        """Post an offer or a wanted request and match it: ``{listing, errors}``. ``protected``: the owner is in
        protected mode (placed and matched at city level)."""
        return await self._call("create_listing", fields=fields, owner_id=owner_id, apart=apart, protected=protected)

    async def get_listings(
        self, *, listing_ids: list[str], viewer_id: str | None = None
    ) -> list[dict[str, Any] | None]:
        """Views in the order asked; the exact pickup address only for the owner and the accepted reserver."""
        return await self._call("get_listings", listing_ids=listing_ids, viewer_id=viewer_id)

    async def listings_of(self, *, owner_id: str, first: int = 20, after: str | None = None) -> dict[str, Any]:
        """The owner's listings, newest first: ``{items, total, end_cursor}``."""
        return await self._call("listings_of", owner_id=owner_id, first=first, after=after)

    async def renew_listing(self, *, listing_id: str, owner_id: str) -> dict[str, Any]:
        """Extend an open listing's life: ``{listing, errors}``."""
        return await self._call("renew_listing", listing_id=listing_id, owner_id=owner_id)

    async def reserve_listing(
        self, *, listing_id: str, member_id: str, apart: list[str] | None = None
    ) -> dict[str, Any]:
        """Ask to take a listing: ``{listing, errors}``."""
        return await self._call("reserve_listing", listing_id=listing_id, member_id=member_id, apart=apart)

    async def decide_reservation(self, *, listing_id: str, owner_id: str, accept: bool) -> dict[str, Any]:
        """The owner accepts or declines the pending reservation: ``{listing, errors}``."""
        return await self._call("decide_reservation", listing_id=listing_id, owner_id=owner_id, accept=accept)

    async def complete_listing(self, *, listing_id: str, owner_id: str) -> dict[str, Any]:
        """The owner marks a listing handed over: ``{listing, errors}``."""
        return await self._call("complete_listing", listing_id=listing_id, owner_id=owner_id)

    async def withdraw_listing(self, *, listing_id: str, owner_id: str) -> dict[str, Any]:
        """The owner takes a listing down: ``{listing, errors}``."""
        return await self._call("withdraw_listing", listing_id=listing_id, owner_id=owner_id)

    async def place_owner(self, *, owner_id: str, protected: bool) -> int:
        """After a member's protected mode changed: their open listings move to city level (on) or back to their
        pickup cells (off). Idempotent; returns how many listings moved."""
        return await self._call("place_owner", owner_id=owner_id, protected=protected)

    async def export_listings(self, *, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """Every listing's public view after ``after`` (an id), ``size`` at most: search's backfill."""
        return await self._call("export_listings", after=after, size=size)

    async def add_contact(self, *, fields: dict[str, Any], member_id: str) -> dict[str, Any]:
        """Add a trusted contact to the directory, recommended by whoever adds it: ``{contact, errors}``."""
        return await self._call("add_contact", fields=fields, member_id=member_id)

    async def recommend_contact(self, *, contact_id: str, member_id: str) -> dict[str, Any]:
        """The member recommends a contact: ``{contact, errors}``."""
        return await self._call("recommend_contact", contact_id=contact_id, member_id=member_id)

    async def export_contacts(self, *, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """A page of trusted contacts in id order, for the search backfill."""
        return await self._call("export_contacts", after=after, size=size)

    async def get_contacts(self, *, contact_ids: list[str]) -> list[dict[str, Any] | None]:
        """Contacts by id, in the order asked (None where unknown)."""
        return await self._call("get_contacts", contact_ids=contact_ids)

    async def list_contacts(
        self,
        *,
        city: str,
        kind: str | None = None,
        language: str | None = None,
        viewer_groups: list[str] | None = None,
        first: int = 20,
        offset: int = 0,
    ) -> dict[str, Any]:
        """A city's contacts (and those of the viewer's groups), most recommended first."""
        return await self._call(
            "list_contacts",
            city=city,
            kind=kind,
            language=language,
            viewer_groups=viewer_groups,
            first=first,
            offset=offset,
        )


class MembersClient(PicturesApi):
    """The ``members`` service: Accounts, sessions, profiles, blocks, groups and cities."""

    service = "members"

    async def register(self, *, fields: dict[str, Any], client: str = "unknown") -> dict[str, Any]:
        """Create an account and sign in: ``{member, access_token, refresh_token, errors}``."""
        return await self._call("register", fields=fields, client=client)

    async def login(self, *, email: str, password: str, client: str = "unknown") -> dict[str, Any]:
        """Sign in with email and password: tokens and the member, or ``errors``."""
        return await self._call("login", email=email, password=password, client=client)

    async def refresh(self, *, refresh_token: str) -> dict[str, Any]:
        """A new access token for a refresh token (rotated): tokens, or ``errors``."""
        return await self._call("refresh", refresh_token=refresh_token)

    async def logout(self, *, member_id: str, session_id: str, everywhere: bool = False) -> int:
        """Revoke the session (or all the member's sessions); returns how many."""
        return await self._call("logout", member_id=member_id, session_id=session_id, everywhere=everywhere)

    async def session_active(self, *, session_id: str) -> bool:
        """Whether a session (its id from the token) is still signed in."""
        return await self._call("session_active", session_id=session_id)

    async def member_id_by_email(self, *, email: str) -> str | None:
        """The member id registered with ``email`` (normalised by the service), or None. For ops'
        commands (``moderation.roles``); never exposed through the gateway."""
        return await self._call("member_id_by_email", email=email)

    async def viewer(self, *, member_id: str) -> dict[str, Any] | None:
        """The member's own view (private fields included), or None."""
        return await self._call("viewer", member_id=member_id)

    async def update_profile(self, *, member_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Change the member's profile: ``{member, errors}``."""
        return await self._call("update_profile", member_id=member_id, fields=fields)

    async def get_members(self, *, member_ids: list[str], viewer_id: str | None = None) -> list[dict[str, Any] | None]:
        """Batch lookup in the order asked; None for unknown members and for those who blocked the viewer."""
        return await self._call("get_members", member_ids=member_ids, viewer_id=viewer_id)

    async def parents_nearby(
        self, *, viewer_id: str, filters: dict[str, Any] | None = None, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        """Parents near the viewer, matching ``filters``: a page ``{items, total, end_cursor}``."""
        return await self._call("parents_nearby", viewer_id=viewer_id, filters=filters, first=first, after=after)

    async def block(self, *, blocker_id: str, member_id: str) -> dict[str, Any]:
        """``blocker_id`` blocks ``member_id``: ``{blocked, errors}``."""
        return await self._call("block", blocker_id=blocker_id, member_id=member_id)

    async def unblock(self, *, blocker_id: str, member_id: str) -> dict[str, Any]:
        """Lift a block: ``{blocked, errors}``."""
        return await self._call("unblock", blocker_id=blocker_id, member_id=member_id)

    async def blocked_by(self, *, member_id: str) -> list[str]:
        """Who blocked this member: what they must not see anywhere."""
        return await self._call("blocked_by", member_id=member_id)

    async def block_relations(self, *, member_id: str) -> dict[str, list[str]]:
        """``{blocked: [whom this member blocked], blocked_by: [who blocked them]}``: keep them apart."""
        return await self._call("block_relations", member_id=member_id)

    async def export_blocks(self, *, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """A page of block pairs in id order (as their events carry them), for the search backfill."""
        return await self._call("export_blocks", after=after, size=size)

    async def export_memberships(self, *, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """A page of memberships in id order (as their events carry them), for the search backfill."""
        return await self._call("export_memberships", after=after, size=size)

    async def export_groups(self, *, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """A page of public groups in id order, for the search backfill."""
        return await self._call("export_groups", after=after, size=size)

    async def create_group(self, *, creator_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Create a group, its creator its admin: ``{group, errors}``."""
        return await self._call("create_group", creator_id=creator_id, fields=fields)

    async def join_group(self, *, member_id: str, group_id: str) -> dict[str, Any]:
        """Join an open group or ask to join a closed one: ``{group, errors}``."""
        return await self._call("join_group", member_id=member_id, group_id=group_id)

    async def leave_group(self, *, member_id: str, group_id: str) -> dict[str, Any]:
        """Leave a group: ``{group, errors}``."""
        return await self._call("leave_group", member_id=member_id, group_id=group_id)

    async def decide_request(self, *, admin_id: str, group_id: str, member_id: str, approve: bool) -> dict[str, Any]:
        """A group admin approves or refuses a request to join: ``{group, errors}``."""
        return await self._call(
            "decide_request", admin_id=admin_id, group_id=group_id, member_id=member_id, approve=approve
        )

    async def set_role(self, *, admin_id: str, group_id: str, member_id: str, role: str) -> dict[str, Any]:
        """A group admin sets a member's role: ``{group, errors}``."""
        return await self._call("set_role", admin_id=admin_id, group_id=group_id, member_id=member_id, role=role)

    async def get_groups(self, *, group_ids: list[str], viewer_id: str | None = None) -> list[dict[str, Any] | None]:
        """Groups by id as the viewer may see them, in the order asked (None where unknown or hidden)."""
        return await self._call("get_groups", group_ids=group_ids, viewer_id=viewer_id)

    async def list_groups(
        self, *, city: str | None = None, viewer_id: str | None = None, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        """Groups of a city the viewer may see: a page ``{items, total, end_cursor}``."""
        return await self._call("list_groups", city=city, viewer_id=viewer_id, first=first, after=after)

    async def group_members(
        self,
        *,
        group_id: str,
        viewer_id: str | None = None,
        pending: bool = False,
        first: int = 20,
        after: str | None = None,
    ) -> dict[str, Any] | None:
        """A group's members (``pending``: its requests) as the viewer may see them, or None."""
        return await self._call(
            "group_members", group_id=group_id, viewer_id=viewer_id, pending=pending, first=first, after=after
        )

    async def viewer_context(self, *, member_id: str) -> dict[str, Any]:
        """``{blocked_by: [ids], blocked: [ids], groups: {group id: role}}``: one call per request for the gateway."""
        return await self._call("viewer_context", member_id=member_id)

    async def member_groups(self, *, member_id: str) -> list[dict[str, Any]]:
        """The member's groups with their role."""
        return await self._call("member_groups", member_id=member_id)

    async def open_cities(self) -> list[dict[str, Any]]:
        """Every open city: ``[{slug, name, names, country, time_zone, languages, lat, lon, radius_km, currency,
        geonames_id, version}]`` by slug."""
        return await self._call("open_cities")

    async def search_gazetteer(self, *, text: str, country: str | None = None, first: int = 10) -> dict[str, Any]:
        """Gazetteer places named ``text...``: ``{places, errors}`` (see ``CityDirectory``)."""
        return await self._call("search_gazetteer", text=text, country=country, first=first)

    async def open_city(self, *, admin_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Open (or change) a city as a network admin: ``{city, errors}``; ``FORBIDDEN`` otherwise."""
        return await self._call("open_city", admin_id=admin_id, fields=fields)

    async def is_network_admin(self, *, member_id: str) -> bool:
        """Whether the member is a network admin."""
        return await self._call("is_network_admin", member_id=member_id)

    async def grant_network_admin(self, *, granter_id: str, member_id: str) -> dict[str, Any]:
        """``{errors}``; only a network admin may grant the role."""
        return await self._call("grant_network_admin", granter_id=granter_id, member_id=member_id)


class SearchClient(ServiceClient):
    """The ``search`` service: Geo and text search over what the other services publish."""

    service = "search"

    # Every read takes ``apart_ids``: members the caller knows are kept apart from the viewer by a
    # block (the gateway's fresh ``Context.apart()``), left out by search together with its own
    # ``blocks`` copy inside the query, so pages, totals, facets and clusters agree. Only hides more.

    async def nearby_outings(
        self,
        *,
        near: dict[str, float],
        radius_km: float,
        first: int = 20,
        after: str | None = None,
        viewer_id: str | None = None,
        viewer_groups: list[str] | None = None,
        filters: dict[str, Any] | None = None,
        sort: str = "distance",
        apart_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """A page of upcoming outings near a point with counts per category; ``errors`` names any bad argument."""
        return await self._call(
            "nearby_outings",
            near=near,
            radius_km=radius_km,
            first=first,
            after=after,
            viewer_id=viewer_id,
            viewer_groups=viewer_groups,
            filters=filters,
            sort=sort,
            apart_ids=apart_ids,
        )

    async def nearby_listings(
        self,
        *,
        near: dict[str, float],
        radius_km: float,
        first: int = 20,
        after: str | None = None,
        viewer_id: str | None = None,
        kinds: list[str] | None = None,
        category: str | None = None,
        filters: dict[str, Any] | None = None,
        apart_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """Available listings near a point, nearest pickup area first, with counts per category."""
        return await self._call(
            "nearby_listings",
            near=near,
            radius_km=radius_km,
            first=first,
            after=after,
            viewer_id=viewer_id,
            kinds=kinds,
            category=category,
            filters=filters,
            apart_ids=apart_ids,
        )

    async def nearby_activities(
        self,
        *,
        near: dict[str, float],
        radius_km: float,
        viewer_groups: list[str] | None = None,
        first: int = 20,
        apart_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """Co-op shifts still to come and school runs of the viewer's groups, nearest first; none
        hosted or organized by a member kept apart from the viewer."""
        return await self._call(
            "nearby_activities",
            near=near,
            radius_km=radius_km,
            viewer_groups=viewer_groups,
            first=first,
            apart_ids=apart_ids,
        )

    async def map_clusters(
        self,
        *,
        bounds: dict[str, float],
        zoom: int,
        kinds: list[str] | None = None,
        viewer_id: str | None = None,
        viewer_groups: list[str] | None = None,
        apart_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """Grid clusters of outings and listings in the map's bounds: ``{clusters: [{kind, cell, count, centre}]}``."""
        return await self._call(
            "map_clusters",
            bounds=bounds,
            zoom=zoom,
            kinds=kinds,
            viewer_id=viewer_id,
            viewer_groups=viewer_groups,
            apart_ids=apart_ids,
        )

    async def suggest(
        self,
        *,
        text: str,
        near: dict[str, float] | None = None,
        limit: int = 8,
        viewer_id: str | None = None,
        viewer_groups: list[str] | None = None,
        apart_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """As-you-type suggestions across outings, listings, contacts, public groups and places."""
        return await self._call(
            "suggest",
            text=text,
            near=near,
            limit=limit,
            viewer_id=viewer_id,
            viewer_groups=viewer_groups,
            apart_ids=apart_ids,
        )

    async def discussions(
        self,
        *,
        text: str,
        viewer_id: str | None = None,
        viewer_groups: list[str] | None = None,
        group_id: str | None = None,
        city: str | None = None,
        kinds: list[str] | None = None,
        first: int = 20,
        after: str | None = None,
        question_city: str | None = None,
        apart_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """Threads, replies and questions matching ``text``, best match first then newest:
        ``{errors, total, has_next_page, edges [{cursor, score, node}]}``; a private group's items
        for its members (``viewer_groups``) only, questions of ``question_city`` only (none
        without), nothing hidden, nothing across a block."""
        return await self._call(
            "discussions",
            text=text,
            viewer_id=viewer_id,
            viewer_groups=viewer_groups,
            group_id=group_id,
            city=city,
            kinds=kinds,
            first=first,
            after=after,
            question_city=question_city,
            apart_ids=apart_ids,
        )


class ModerationClient(InboxApi):
    """The ``moderation`` service: Reports, the moderators' queues, their actions, the audit log and roles.

    ``network_admin`` is the gateway's word that the caller is a network admin (members says who);
    group roles are the service's own copy of members' events, never the caller's."""

    service = "moderation"

    async def report(
        self, *, reporter_id: str, fields: dict[str, Any], snapshot: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """File a report on ``fields`` ``{subject_type, subject_id, reason, note}``; ``snapshot``
        ``{title, text, author_id, group_id, city}`` is the subject as the reporter sees it (None: not there
        or not theirs to see). ``{report, errors}`` (``NOT_FOUND``, ``FORBIDDEN``, ``RATE_LIMITED``, ...)."""
        return await self._call("report", reporter_id=reporter_id, fields=fields, snapshot=snapshot)

    async def queue(
        self,
        *,
        member_id: str,
        group_id: str | None = None,
        first: int = 20,
        after: int | None = None,
        network_admin: bool = False,
    ) -> dict[str, Any]:
        """Open reports newest first, after the report whose ``position`` is ``after``: a group's, or without
        ``group_id`` the network's. ``{reports, has_next_page, total, allowed}`` (nothing, total 0, for anyone
        who may not read it)."""
        return await self._call(
            "queue", member_id=member_id, group_id=group_id, first=first, after=after, network_admin=network_admin
        )

    async def audit_log(
        self,
        *,
        member_id: str,
        group_id: str | None = None,
        first: int = 20,
        after: int | None = None,
        network_admin: bool = False,
    ) -> dict[str, Any]:
        """Moderation actions newest first (every one for network moderators, a group's for its admins):
        ``{actions, has_next_page, total, allowed}``; each item has the ``position`` a next page starts after."""
        return await self._call(
            "audit_log",
            member_id=member_id,
            group_id=group_id,
            first=first,
            after=after,
            network_admin=network_admin,
        )

    async def act(self, *, actor_id: str, fields: dict[str, Any], network_admin: bool = False) -> dict[str, Any]:
        """Act as a moderator: ``fields`` ``{action, reason, until, report_id | subject_id | member_id}``.
        ``{action, errors}`` (``FORBIDDEN``, ``NOT_FOUND``, field errors); one action per request id."""
        return await self._call("act", actor_id=actor_id, fields=fields, network_admin=network_admin)

    async def member_status(self, *, member_ids: list[str]) -> list[dict[str, Any]]:
        """Each member's ``{member_id, suspended_until (ISO 8601 UTC or None), held, warnings}``, in the order
        asked."""
        return await self._call("member_status", member_ids=member_ids)

    async def is_network_moderator(self, *, member_id: str, network_admin: bool = False) -> bool:
        """Whether the member works the network's queue (a network moderator, or an admin)."""
        return await self._call("is_network_moderator", member_id=member_id, network_admin=network_admin)

    async def grant_moderator(self, *, granter_id: str, member_id: str, network_admin: bool = False) -> dict[str, Any]:
        """A network admin makes ``member_id`` a network moderator: ``{granted, errors}`` (``FORBIDDEN`` for
        anyone else)."""
        return await self._call(
            "grant_moderator", granter_id=granter_id, member_id=member_id, network_admin=network_admin
        )


CLIENTS: dict[str, type[ServiceClient]] = {
    "events": EventsClient,
    "listings": ListingsClient,
    "members": MembersClient,
    "moderation": ModerationClient,
    "search": SearchClient,
}


# -- conversations (issue 19) ----------------------------------------------------------------


class ConversationsClient(InboxApi):
    """The ``conversations`` service: group discussions (threads, replies, announcements, the
    suggestion box), questions asked nearby and their answers, and messages between two members.

    Who may see what is the service's to decide from its own copies (groups, memberships,
    blocks): a view the viewer may not see comes back as None. ``city`` and ``cell`` are the
    viewer's city slug and coarse cell ``{id, lat, lon}`` (WGS 84 degrees), as members places
    them; pages' ``after``/``before`` are the ``position`` of the last item of the previous page
    (for questions ``[created_at ISO 8601, id]``)."""

    service = "conversations"

    async def export_discussions(
        self, *, subject_type: str, after: str | None = None, size: int = 500
    ) -> list[dict[str, Any]]:
        """A page of threads, replies or questions (``subject_type``) in id order as their last
        event carried them, for the search backfill; never messages."""
        return await self._call("export_discussions", subject_type=subject_type, after=after, size=size)

    async def create_thread(self, *, group_id: str, author_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Start a thread in a group: ``fields`` ``{title, body, kind: discussion | announcement | suggestion}``.
        ``{thread, errors}`` (``NOT_FOUND``, ``FORBIDDEN``, ``RATE_LIMITED``, ``SUSPENDED``, field errors)."""
        return await self._call("create_thread", group_id=group_id, author_id=author_id, fields=fields)

    async def get_threads(self, *, thread_ids: list[str], viewer_id: str | None = None) -> list[dict[str, Any] | None]:
        """Threads by id as the viewer may see them, in the order asked (None where unknown or hidden)."""
        return await self._call("get_threads", thread_ids=thread_ids, viewer_id=viewer_id)

    async def group_threads(
        self, *, group_id: str, viewer_id: str | None, first: int = 20, after: int | None = None
    ) -> dict[str, Any] | None:
        """A group's threads, pinned first then newest first: ``{items, positions, has_next_page, total}``, or
        None when the viewer may not read the group."""
        return await self._call("group_threads", group_id=group_id, viewer_id=viewer_id, first=first, after=after)

    async def moderate_thread(
        self, *, thread_id: str, actor_id: str, pinned: bool | None = None, locked: bool | None = None
    ) -> dict[str, Any]:
        """A group admin pins or locks a thread (None: unchanged): ``{thread, errors}``."""
        return await self._call("moderate_thread", thread_id=thread_id, actor_id=actor_id, pinned=pinned, locked=locked)

    async def support_thread(self, *, thread_id: str, member_id: str) -> dict[str, Any]:
        """A member supports a suggestion (once): ``{thread, errors}``."""
        return await self._call("support_thread", thread_id=thread_id, member_id=member_id)

    async def answer_suggestion(self, *, thread_id: str, admin_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A group admin answers a suggestion, ``fields`` ``{text}``: ``{thread, errors}``."""
        return await self._call("answer_suggestion", thread_id=thread_id, admin_id=admin_id, fields=fields)

    async def reply(self, *, thread_id: str, author_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Reply to a thread, ``fields`` ``{text}``: ``{reply, errors}`` (``CLOSED`` when locked)."""
        return await self._call("reply", thread_id=thread_id, author_id=author_id, fields=fields)

    async def replies(
        self, *, thread_id: str, viewer_id: str | None, first: int = 20, after: int | None = None
    ) -> dict[str, Any] | None:
        """A thread's replies oldest first: ``{items, has_next_page, total}``, or None (may not read)."""
        return await self._call("replies", thread_id=thread_id, viewer_id=viewer_id, first=first, after=after)

    async def get_replies(self, *, reply_ids: list[str], viewer_id: str | None = None) -> list[dict[str, Any] | None]:
        """Replies by id as the viewer may see them, in the order asked (None where unknown or hidden)."""
        return await self._call("get_replies", reply_ids=reply_ids, viewer_id=viewer_id)

    async def ask(self, *, asker_id: str, fields: dict[str, Any], city: str, cell: dict[str, Any]) -> dict[str, Any]:
        """Ask the parents nearby: ``fields`` ``{text, scope: city | nearby, radius_km (1 to 5)}``, placed by the
        asker's ``cell``. ``{question, errors}``."""
        return await self._call("ask", asker_id=asker_id, fields=fields, city=city, cell=cell)

    async def get_questions(
        self,
        *,
        question_ids: list[str],
        viewer_id: str | None,
        city: str | None = None,
        cell: dict[str, Any] | None = None,
    ) -> list[dict[str, Any] | None]:
        """Questions by id as a viewer in ``city`` at ``cell`` may see them, in the order asked (None where
        unknown, out of reach or hidden)."""
        return await self._call("get_questions", question_ids=question_ids, viewer_id=viewer_id, city=city, cell=cell)

    async def questions_nearby(
        self,
        *,
        viewer_id: str,
        city: str,
        cell: dict[str, Any] | None,
        first: int = 20,
        after: list[str] | None = None,
    ) -> dict[str, Any]:
        """Questions that reach the viewer (their city's, and those asked within reach of their cell), newest
        first: ``{items, has_next_page, total}`` (``after``: ``[created_at, id]`` of the last one seen)."""
        return await self._call("questions_nearby", viewer_id=viewer_id, city=city, cell=cell, first=first, after=after)

    async def answer(
        self,
        *,
        question_id: str,
        author_id: str,
        fields: dict[str, Any],
        city: str | None,
        cell: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Answer a question, ``fields`` ``{text, points_to: {type, id}, contact: {...}}``: ``{answer, errors}``."""
        return await self._call(
            "answer", question_id=question_id, author_id=author_id, fields=fields, city=city, cell=cell
        )

    async def answers(
        self,
        *,
        question_id: str,
        viewer_id: str | None,
        city: str | None,
        cell: dict[str, Any] | None,
        first: int = 20,
        after: int | None = None,
    ) -> dict[str, Any] | None:
        """A question's answers oldest first: ``{items, has_next_page, total}``, or None (may not see it)."""
        return await self._call(
            "answers", question_id=question_id, viewer_id=viewer_id, city=city, cell=cell, first=first, after=after
        )

    async def get_answers(
        self,
        *,
        answer_ids: list[str],
        viewer_id: str | None,
        city: str | None = None,
        cell: dict[str, Any] | None = None,
    ) -> list[dict[str, Any] | None]:
        """Answers by id as the viewer may see them, in the order asked (None where unknown or hidden)."""
        return await self._call("get_answers", answer_ids=answer_ids, viewer_id=viewer_id, city=city, cell=cell)

    async def mark_helpful(self, *, answer_id: str, asker_id: str, helpful: bool = True) -> dict[str, Any]:
        """The asker marks an answer to their question helpful (or not): ``{answer, errors}``."""
        return await self._call("mark_helpful", answer_id=answer_id, asker_id=asker_id, helpful=helpful)

    async def contact_card(self, *, answer_id: str, member_id: str) -> dict[str, Any]:
        """The contact an answer recommends, for its asker or author to add to the directory: ``{contact: fields
        | None, points_to, errors}`` (``NOT_FOUND`` on ``answer_id`` for anyone else)."""
        return await self._call("contact_card", answer_id=answer_id, member_id=member_id)

    async def link_contact(self, *, answer_id: str, member_id: str, contact_id: str) -> dict[str, Any]:
        """Point an answer at the directory's contact once listings added it (once): ``{answer, errors}``."""
        return await self._call("link_contact", answer_id=answer_id, member_id=member_id, contact_id=contact_id)

    async def send_message(
        self, *, sender_id: str, fields: dict[str, Any], recipient_protected: bool = False
    ) -> dict[str, Any]:
        """Send a message, ``fields`` ``{text, recipient_id, about: {type, id}}`` or ``{text, conversation_id}``;
        ``recipient_protected``: the recipient is in protected mode (members says). ``{message, conversation,
        errors}`` (``FORBIDDEN``, ``RATE_LIMITED``, ``SUSPENDED``, field errors)."""
        return await self._call(
            "send_message", sender_id=sender_id, fields=fields, recipient_protected=recipient_protected
        )

    async def get_conversations(self, *, conversation_ids: list[str], viewer_id: str) -> list[dict[str, Any] | None]:
        """The viewer's conversations by id, in the order asked (None where not theirs)."""
        return await self._call("get_conversations", conversation_ids=conversation_ids, viewer_id=viewer_id)

    async def conversations_of(
        self, *, viewer_id: str, requests: bool = False, first: int = 20, after: int | None = None
    ) -> dict[str, Any]:
        """The viewer's conversations (``requests``: the message requests sent to them), newest first:
        ``{items, positions, has_next_page, total, unread}``."""
        return await self._call("conversations_of", viewer_id=viewer_id, requests=requests, first=first, after=after)

    async def messages(
        self, *, conversation_id: str, viewer_id: str, first: int = 20, before: int | None = None
    ) -> dict[str, Any] | None:
        """A conversation's messages newest first, before the message at position ``before``:
        ``{items, has_next_page}``, or None (not the viewer's)."""
        return await self._call(
            "messages", conversation_id=conversation_id, viewer_id=viewer_id, first=first, before=before
        )

    async def get_messages(self, *, message_ids: list[str], viewer_id: str) -> list[dict[str, Any] | None]:
        """Messages by id as the viewer sees them, in the order asked (None where not theirs)."""
        return await self._call("get_messages", message_ids=message_ids, viewer_id=viewer_id)

    async def decide_request(self, *, conversation_id: str, member_id: str, accept: bool) -> dict[str, Any]:
        """The recipient accepts or declines a message request: ``{conversation, errors}``."""
        return await self._call("decide_request", conversation_id=conversation_id, member_id=member_id, accept=accept)

    async def set_participant(self, *, conversation_id: str, member_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change the member's place in a conversation, ``changes`` any of ``{muted, left, receipts, read}``
        (booleans): ``{conversation, errors}``."""
        return await self._call(
            "set_participant", conversation_id=conversation_id, member_id=member_id, changes=changes
        )

    async def snapshot(self, *, subject_type: str, subject_id: str, reporter_id: str) -> dict[str, Any] | None:
        """Reported content for moderation: ``{subject_type, subject_id, text, author_id, group_id, city,
        created_at}``, or None (unknown; a message the reporter is not one of the two members of)."""
        return await self._call("snapshot", subject_type=subject_type, subject_id=subject_id, reporter_id=reporter_id)


CLIENTS["conversations"] = ConversationsClient
