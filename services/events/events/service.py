"""The events service's entrypoints: thin, validating, calling one dependency.

Who may do what is decided here, on the identity the request carries (``self.identity``, a
token the gateway signed: ``parentnet_kit.identity``) and on the owner's data: group roles,
group visibility and blocks are asked of the members service (``MemberFacts``), never taken
from the caller. Arguments a previous gateway still sends (``actor_is_group_admin``,
``hidden_organizers``, ``viewer_groups``, ``protected``) are accepted for one release and not
believed."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from nameko.rpc import RpcProxy
from nameko.timer import timer

from parentnet_kit import picture_rpc
from parentnet_kit.city_copy import CityCopy
from parentnet_kit.city_feed import CityFeed
from parentnet_kit.event_feed import EventFeed
from parentnet_kit.expiry import SWEEP_SECONDS as DUE_SWEEP_SECONDS
from parentnet_kit.fields import field_error
from parentnet_kit.i18n import t
from parentnet_kit.identity import BACKFILL, Forbidden
from parentnet_kit.member_facts import MemberFacts
from parentnet_kit.nameko_identity import Identity
from parentnet_kit.nameko_observe import Observed
from parentnet_kit.nameko_rpc import RequestId, once_id, rpc

from . import domain, moderation_copy, my_outings
from .dependencies import NotFound, Outings

SWEEP_SECONDS = float(os.environ.get("OUTBOX_SWEEP_SECONDS", "2"))
EXPORT_PAGE_MAX = 1_000


class EventsService(picture_rpc.PictureEntrypoints):
    name = "events"
    # Request ids, a log line and metrics per RPC, /metrics /alive /ready (METRICS_PORT).
    observed = Observed()

    outings = Outings()
    # This service's copy of the open cities (``parentnet_kit.cities`` reads it), fed by members.
    cities: CityCopy = CityFeed("EVENTS_DB", "events.cities")
    request_id = RequestId()
    # Moderation's decisions: hidden outings, suspended members (queue events.moderation).
    moderation = EventFeed("events.moderation", moderation_copy.copy)
    # Who the request is for, verified (``Viewer.acting_as`` refuses anyone else).
    identity = Identity()
    # The owner of group roles, group visibility, blocks and protected mode.
    members = RpcProxy("members")
    pictures = picture_rpc.Pictures("EVENTS_DB")
    picture_kinds = ("outing",)

    def picture_refusal(self, kind: str, subject_id: str, actor_id: str, actor_is_admin: bool) -> str | None:
        """An outing's pictures are its organizer's, or an admin's of its group (asked of members;
        ``actor_is_admin`` is always False, see ``picture_rpc``)."""
        outing = self.outings.store.get(subject_id)
        if outing is None:
            return "NOT_FOUND"
        if actor_id == outing.get("organizer_id"):
            return None
        group_id = outing.get("group_id")
        return None if group_id and MemberFacts(self.members).is_admin(group_id, actor_id) else "NOT_YOURS"

    def _suspended(self, member_id: str | None) -> list[dict[str, Any]]:
        """``[SUSPENDED error]`` while moderation has the member suspended (the end of it in the
        message, a date param the gateway writes in the reader's language); ``[]`` otherwise."""
        until = self.moderation.suspended_until(member_id)
        if until is None:
            return []
        return [field_error((), t("Your account is suspended until {until}.", until=until), "SUSPENDED")]

    @rpc
    def ping(self) -> str:
        return "pong"

    @rpc
    def create_outing(
        self, fields: dict[str, Any], organizer_id: str | None = None, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Propose an outing. Returns ``{"outing": ..., "errors": []}``; nothing is stored on errors.
        ``idempotency_key`` defaults to the request's id, as for every other creation. In a group
        (``fields.group_id``): only a member of it may, and the outing takes the group's visibility
        (``NOT_MEMBER`` on ``group_id`` otherwise). Raises ``Forbidden`` for another member's identity."""
        organizer_id = self.identity.acting_as(organizer_id)
        if suspended := self._suspended(organizer_id):
            return {"outing": None, "errors": suspended}
        fields = dict(fields or {})
        fields.pop("group_visibility", None)  # the group's, from its owner (below)
        if fields.get("group_id"):
            facts = MemberFacts(self.members)
            visibility = facts.group_visibility(fields["group_id"])
            if visibility is None or facts.role(fields["group_id"], organizer_id) is None:
                message = t("Choose a group you are a member of.")
                return {"outing": None, "errors": [field_error(("group_id",), message, "NOT_MEMBER")]}
            fields["group_visibility"] = visibility
        clean, errors = domain.validate_new_outing(fields, datetime.now(UTC))
        if errors:
            return {"outing": None, "errors": [e.to_dict() for e in errors]}
        return {"outing": self.outings.create(clean, organizer_id, idempotency_key or self.request_id), "errors": []}

    @rpc
    def update_outing(
        self,
        outing_id: str,
        actor_id: str,
        fields: dict[str, Any],
        scope: str = "occurrence",
        actor_is_group_admin: bool = False,
    ) -> dict[str, Any]:
        """Change an outing (``scope`` "series": and its later occurrences). ``{outing, errors}``;
        ``FORBIDDEN`` unless the actor organizes it or admins its group (asked of members).
        ``actor_is_group_admin``: ignored (a previous gateway sends it). Raises ``Forbidden`` when
        the request's identity is not ``actor_id``."""
        actor_id = self.identity.acting_as(actor_id)
        return self.outings.update(outing_id, actor_id, fields or {}, scope, MemberFacts(self.members).is_admin)

    @rpc
    def cancel_outing(
        self, outing_id: str, actor_id: str, scope: str = "occurrence", actor_is_group_admin: bool = False
    ) -> dict[str, Any]:
        """Cancel an outing (or its series from now on): as ``update_outing``."""
        actor_id = self.identity.acting_as(actor_id)
        return self.outings.cancel(outing_id, actor_id, scope, MemberFacts(self.members).is_admin)

    @rpc
    def join_outing(self, outing_id: str, member_id: str, adults: int = 1, children: int = 0) -> dict[str, Any]:
        """Take a place, or a waitlist spot when it is full: ``{place, outing, errors}``. A
        suspended member is refused (``SUSPENDED``); an outing its organizer's block or its
        private group hides from the member is ``NOT_FOUND``."""
        member_id = self.identity.acting_as(member_id)
        if suspended := self._suspended(member_id):
            return {"place": None, "outing": None, "errors": suspended}
        if not self._may_see(outing_id, member_id):
            return {
                "place": None,
                "outing": None,
                "errors": [field_error(("outing_id",), t("No such outing."), "NOT_FOUND")],
            }
        return self.outings.join(outing_id, member_id, adults, children)

    def _may_see(self, outing_id: str, member_id: str) -> bool:
        """Whether the outing shows to the member: not blocked by its organizer, and a private
        group's only to its members (True for an unknown outing: that answer is the store's)."""
        view = self.outings.store.get(outing_id)
        if view is None:
            return True
        facts = MemberFacts(self.members)
        if view["organizer_id"] in facts.blocked_by(member_id):
            return False
        return view.get("group_visibility") != "private" or facts.role(view.get("group_id"), member_id) is not None

    @rpc
    def leave_outing(self, outing_id: str, member_id: str) -> dict[str, Any]:
        return self.outings.leave(outing_id, self.identity.acting_as(member_id))

    @rpc
    def attendees(
        self, outing_id: str, viewer_id: str | None, first: int = 20, after: int | None = None
    ) -> dict[str, Any] | None:
        """Who comes, for the organizer and the families coming only (None for anyone else):
        ``{places: [place], has_next_page, total}``, ``after`` a place's ``ticket``. Whoever
        blocked the viewer is left out before the page is cut, so ``total`` and the pages agree
        with the list (issue 19: the blocker reads as someone who never joined). The viewer is
        the request's verified one (``viewer_id`` only from a previous gateway)."""
        viewer_id = self.identity.viewer_or(viewer_id)
        hidden = set(self._facts().blocked_by(viewer_id)) if viewer_id else set()
        return self.outings.attendees(outing_id, viewer_id, max(1, min(int(first), 100)), after, hidden)

    @rpc
    def places_of(self, member_id: str, outing_ids: list[str]) -> list[dict[str, Any] | None]:
        """The member's place in each outing (None where not coming), in order: where she is
        going, for herself only. ``member_id`` "" (an anonymous page) has no place anywhere.
        Raises ``Forbidden`` when the request's identity is not ``member_id``."""
        if not member_id:
            return [None for _ in outing_ids or []]
        return self.outings.places_of(self.identity.acting_as(member_id), outing_ids)

    @rpc
    def member_outings(
        self,
        member_id: str,
        states: list[str] | None = None,
        first: int = 20,
        after: int | None = None,
        hidden_organizers: list[str] | None = None,
        viewer_groups: list[str] | None = None,
    ) -> dict[str, Any]:
        """The member's outings in ``states`` (organizing, going, waitlisted, past; default the
        first three), upcoming soonest first then past most recent first:
        ``{items: [{outing, state, place, position}], has_next_page, total}``. ``place`` is
        ``{status, position, ...}`` (position 1-based, within its status) or None for the
        organizer; ``after`` is an item's ``position``. Unknown states are ignored. Left out, before
        paging: outings of organizers who blocked the viewer, and private groups' ones outside the
        viewer's groups (both asked of members; ``hidden_organizers``/``viewer_groups`` are a
        previous gateway's, believed only without an identity token while none is required).
        For the member herself only: raises ``Forbidden`` when the request's identity is not
        ``member_id``."""
        member_id = self.identity.acting_as(member_id)
        wanted = [s for s in (states or my_outings.STATES[:3]) if s in my_outings.STATES]
        visible = my_outings.may_see(*self._viewer_filter(hidden_organizers, viewer_groups))
        return self.outings.member_outings(member_id, wanted, max(1, min(int(first), 100)), after, visible)

    @rpc
    def group_outings(
        self,
        group_ids: list[str],
        period: str = "upcoming",
        first: int = 20,
        after: int | None = None,
        starts_from: str | None = None,
        starts_before: str | None = None,
        hidden_organizers: list[str] | None = None,
        viewer_groups: list[str] | None = None,
    ) -> dict[str, Any]:
        """The outings of these groups (the caller checked the viewer may see them): ``period``
        "upcoming" (not over; cancelled ones included) soonest first, or "past" most recent
        first; ``starts_from``/``starts_before``: ISO 8601 with offset, half-open window;
        ``hidden_organizers``/``viewer_groups`` as for ``member_outings``.
        ``{items: [{outing, position}], has_next_page, total}``."""
        window = [datetime.fromisoformat(t) if t else None for t in (starts_from, starts_before)]
        period = period if period in my_outings.PERIODS else my_outings.UPCOMING
        visible = my_outings.may_see(*self._viewer_filter(hidden_organizers, viewer_groups))
        first = max(1, min(int(first), 100))
        return self.outings.group_outings(list(group_ids or [])[:100], period, first, after, *window, visible)

    def _viewer_filter(
        self, hidden_organizers: list[str] | None, viewer_groups: list[str] | None
    ) -> tuple[list[str] | None, list[str] | None]:
        """(organizers to hide, groups whose private outings show) for the request's viewer: asked
        of members for a verified viewer; nobody's for a refused or missing token where one is
        required; the caller's word otherwise (a previous gateway, for one release)."""
        viewer = self.identity
        if viewer.id is not None:
            facts = MemberFacts(self.members)
            return facts.blocked_by(viewer.id), facts.groups(viewer.id)
        if viewer.presented or viewer.required:
            return [], []
        return hidden_organizers, viewer_groups

    def _member_of(self, group_id: str | None, member_id: str) -> None:
        """Raises ``Forbidden`` unless ``member_id`` is an active member of ``group_id`` (when given)."""
        if group_id and self._facts().role(group_id, member_id) is None:
            raise Forbidden("only the group's members can do that")

    def _sees_group(self, group_id: str | None) -> bool:
        """Whether the request's verified viewer is an active member of ``group_id``: a group's
        school runs, riders (children's first names) and co-op shifts are its members' only, on
        the bus as through the API. Without a token, only while none is required (a previous
        gateway, which checked it) is the answer as before."""
        viewer = self.identity
        if viewer.id is None:
            return viewer.problem is None and not (viewer.presented or viewer.required)
        return bool(group_id) and self._facts().role(group_id, viewer.id) is not None

    def _facts(self) -> MemberFacts:
        """This worker's questions to members, each asked once (a new one per request)."""
        facts = getattr(self, "_member_facts", None)
        if facts is None or facts.members is not self.members:
            facts = self._member_facts = MemberFacts(self.members)
        return facts

    def _apart_from_viewer(self, member_id: str) -> bool:
        """Whether the verified viewer blocked ``member_id`` or was blocked by them: a host's
        shifts are not shown or booked across a block (issue 5's promise: nothing of a blocker
        shows to the blocked member, anywhere)."""
        viewer = self.identity.id
        return viewer is not None and member_id in self._facts().apart(viewer)

    def _admin_of(self, group_id: str) -> None:
        """Raises ``Forbidden`` unless the request's verified viewer admins ``group_id``; without
        a token (a previous gateway, while none is required) the caller checked it."""
        viewer = self.identity
        if viewer.id is None and not (viewer.presented or viewer.required):
            return
        if viewer.id is None or not self._facts().is_admin(group_id, viewer.id):
            raise Forbidden("only the group's admins can do that")

    @rpc
    def calendar_feed_rotate(self, member_id: str, group_id: str | None = None) -> dict[str, Any]:
        """A new secret token for the member's calendar feed (of ``group_id``: the caller checked
        membership); the previous token stops working. ``{token, replaced}``; only a hash is stored.
        Raises ``Forbidden`` for another member's identity or a group the member is not in."""
        member_id = self.identity.acting_as(member_id)
        self._member_of(group_id, member_id)
        return self.outings.feeds.rotate(member_id, group_id)

    @rpc
    def calendar_feed_revoke(self, member_id: str, group_id: str | None = None) -> bool:
        """The feed's token stops working (False when there was none)."""
        return self.outings.feeds.revoke(self.identity.acting_as(member_id), group_id)

    @rpc
    def calendar_feed_resolve(self, token: str) -> dict[str, Any] | None:
        """``{member_id, group_id}`` for a working token, None for an unknown, rotated or revoked one."""
        return self.outings.feeds.resolve(token)

    @rpc
    def series(self, series_id: str) -> list[dict[str, Any]]:
        return self.outings.series(series_id)

    @rpc
    def inbox(
        self, member_id: str, first: int = 20, before_at: str | None = None, before_id: str = ""
    ) -> dict[str, Any]:
        """The member's notifications about outings, newest first (the member's own only: raises
        ``Forbidden`` for another member's identity)."""
        member_id = self.identity.acting_as(member_id)
        return self.outings.inbox.page(member_id, max(1, min(int(first), 100)), before_at, before_id)

    @rpc
    def mark_read(self, member_id: str, notification_ids: list[str]) -> int:
        return self.outings.inbox.mark_read(self.identity.acting_as(member_id), notification_ids)

    @rpc
    def get_outing(self, outing_id: str) -> dict[str, Any] | None:
        """The outing's public view, or None: unknown, or not for the request's viewer
        (``_shown_to_viewer``)."""
        try:
            view = self.outings.get(outing_id)
        except NotFound:
            return None
        return self._shown_to_viewer([view])[0]

    @rpc
    def get_outings(self, outing_ids: list[str]) -> list[dict[str, Any] | None]:
        """Batch lookup for the gateway's DataLoader; answers in the order asked, None for an
        unknown outing or one not for the request's viewer (``_shown_to_viewer``)."""
        return self._shown_to_viewer(self.outings.get_many(outing_ids))

    def _shown_to_viewer(self, views: list[dict[str, Any] | None]) -> list[dict[str, Any] | None]:
        """Each view, or None where the request's viewer may not see it, by the gateway's rule
        (``visible_outing``), so a read by id off the bus tells no more than the API does:
        - a verified member: not an outing whose organizer blocked them, not one a moderator hid
          (unless theirs), a private group's only for its active members (members asked once);
        - no token: what anybody sees (nothing hidden, nothing of a private group) — the
          gateway's signed-out reads, and anyone else on the bus without one;
        - no token while none is required: every view, as before (a previous gateway, which
          filters itself). A token that does not verify: ``Forbidden``."""
        viewer = self.identity
        if viewer.problem is not None:
            raise Forbidden(f"the identity token was refused: {viewer.problem}")
        if not any(views) or (viewer.id is None and not viewer.presented and not viewer.required):
            return views
        if viewer.id is None:
            may_see = my_outings.may_see([], [])
        else:
            facts = self._facts()
            may_see = my_outings.may_see(facts.blocked_by(viewer.id), facts.groups(viewer.id))
        return [
            view
            if view is not None
            and may_see(view)
            and (not view.get("hidden") or (viewer.id is not None and view.get("organizer_id") == viewer.id))
            else None
            for view in views
        ]

    @rpc
    def export_outings(self, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """A page of outings in id order, for the search backfill.
        Raises ``Forbidden`` unless the search backfill's operator token came
        (``parentnet_kit.identity.BACKFILL``; docs/operations.md)."""
        self.identity.operating(BACKFILL)
        return self.outings.export_page(after, max(1, min(size, EXPORT_PAGE_MAX)))

    @rpc
    def export_activities(self, kind: str, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """A page of co-op shifts (``kind`` "coop_shift") or school runs ("trip") in id order,
        for the search backfill's ``activities`` index: each as its last event carried it
        (``Coop.export_page``, ``Trips.export_page``). Raises ``Forbidden`` unless the
        search backfill's operator token came, ``ValueError`` for another ``kind``."""
        self.identity.operating(BACKFILL)
        size = max(1, min(size, EXPORT_PAGE_MAX))
        if kind == "coop_shift":
            return self.outings.coop.export_page(after, size)
        if kind == "trip":
            return self.outings.trips.export_page(after, size)
        raise ValueError("kind must be coop_shift or trip")

    # -- co-op childcare: membership and admin rights asked of members (the gateway too) -----
    @rpc
    def coop_offer(
        self, host_id: str, group_id: str, fields: dict[str, Any], protected: bool = False
    ) -> dict[str, Any]:
        """Offer a shift: ``{shift, errors}``; the host must be a member of the group. Placed at
        city level when the host is in protected mode (asked of members; ``protected`` from a
        previous gateway only ever adds to it)."""
        host_id = self.identity.acting_as(host_id)
        if suspended := self._suspended(host_id):
            return {"shift": None, "errors": suspended}
        self._member_of(group_id, host_id)
        protected = bool(protected) or MemberFacts(self.members).protected(host_id)
        shift_id = once_id(self.request_id, "shift", host_id)
        return self.outings.coop.offer(host_id, group_id, fields or {}, shift_id, protected)

    @rpc
    def coop_place_host(self, host_id: str) -> int:
        """After a host turned protected mode on: their open shifts' areas move to city level.
        Raises ``Forbidden`` when the request's identity is not ``host_id``."""
        return self.outings.coop.place_host(self.identity.acting_as(host_id))

    @rpc
    def coop_shifts(self, group_id: str, first: int = 50) -> list[dict[str, Any]]:
        """The group's coming shifts; ``[]`` unless the viewer is in the group (``_sees_group``)."""
        if not self._sees_group(group_id):
            return []
        shifts = self.outings.coop.group_shifts(group_id, max(1, min(int(first), 100)))
        return [shift for shift in shifts if not self._apart_from_viewer(shift["host_id"])]

    @rpc
    def coop_shift(self, shift_id: str) -> dict[str, Any] | None:
        """The shift, or None (unknown, or the viewer is not in its group: ``_sees_group``)."""
        shift = self.outings.coop.shifts.find_one({"_id": shift_id})
        if shift is None or not self._sees_group(shift["group_id"]) or self._apart_from_viewer(shift["host_id"]):
            return None
        return self.outings.coop.view(shift)

    @rpc
    def coop_book(self, shift_id: str, member_id: str, children: int) -> dict[str, Any]:
        """Book places: ``{booking, errors}`` (``FULL``, ``BELOW_FLOOR``, ``CLOSED``, ``OWN_SHIFT``,
        ``SUSPENDED``). Raises ``Forbidden`` unless the member is in the shift's group."""
        member_id = self.identity.acting_as(member_id)
        if suspended := self._suspended(member_id):
            return {"booking": None, "errors": suspended}
        shift = self.outings.coop.shifts.find_one({"_id": shift_id}, {"group_id": 1, "host_id": 1})
        if shift is not None:
            self._member_of(shift["group_id"], member_id)
            if self._apart_from_viewer(shift["host_id"]):  # as if there were no such shift
                return {"booking": None, "errors": [field_error(("shift_id",), t("No such shift."), "NOT_FOUND")]}
        return self.outings.coop.book(
            shift_id, member_id, children, once_id(self.request_id, "booking", member_id, shift_id)
        )

    @rpc
    def coop_cancel(self, booking_id: str, member_id: str) -> dict[str, Any]:
        """Cancel one's own booking before the shift (``NOT_FOUND`` for anyone else's)."""
        return self.outings.coop.cancel(booking_id, self.identity.acting_as(member_id))

    @rpc
    def coop_balance(self, group_id: str, member_id: str) -> dict[str, int]:
        """A member's balance and the group's floor, in child-minutes: the member's own (raises
        ``Forbidden`` for another member's identity)."""
        member_id = self.identity.acting_as(member_id)
        coop = self.outings.coop
        return {"balance": coop.balance(group_id, member_id), "floor": coop.floor(group_id)}

    @rpc
    def coop_balances(self, group_id: str) -> dict[str, int]:
        """Every account of the group (with ``escrow``): they sum to zero. Raises ``Forbidden``
        unless the request's verified viewer admins the group (``_admin_of``)."""
        self._admin_of(group_id)
        return self.outings.coop.balances(group_id)

    @rpc
    def coop_set_floor(self, group_id: str, floor_minutes: int) -> None:
        """Set how far below zero a balance may go; the request's viewer must admin the group."""
        self._admin_of(group_id)
        self.outings.coop.set_floor(group_id, int(floor_minutes))

    # -- school runs and activity trips ------------------------------------------------------
    @rpc
    def trip_create(self, creator_id: str, group_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A school run of the group: ``{trip, errors}`` (``SUSPENDED`` ...); the creator must be
        a member of it (``Forbidden`` otherwise)."""
        creator_id = self.identity.acting_as(creator_id)
        if suspended := self._suspended(creator_id):
            return {"trip": None, "errors": suspended}
        self._member_of(group_id, creator_id)
        return self.outings.trips.create(
            creator_id, group_id, fields or {}, once_id(self.request_id, "trip", creator_id)
        )

    @rpc
    def trip_get(self, trip_id: str) -> dict[str, Any] | None:
        """The trip, or None (unknown, the viewer is not in its group, or its organizer and the
        viewer are kept apart by a block: ``_sees_trip``)."""
        trip = self.outings.trips.get(trip_id)
        return trip if trip is not None and self._sees_trip(trip) else None

    def _sees_trip(self, trip: dict[str, Any]) -> bool:
        """Whether the trip shows to the request's viewer: in its group (``_sees_group``), and not
        started by someone the viewer blocked or was blocked by. A school run says where and when
        a parent's children walk: nothing of a blocker shows to the blocked member (issue 5), as
        with co-op shifts."""
        return self._sees_group(trip["group_id"]) and not self._apart_from_viewer(trip["created_by"])

    @rpc
    def group_trips(self, group_id: str) -> list[dict[str, Any]]:
        """The group's trips but those ``_sees_trip`` hides; ``[]`` unless the viewer is in the
        group (``_sees_group``)."""
        if not self._sees_group(group_id):
            return []
        trips = self.outings.trips.of_group(group_id)
        return [trip for trip in trips if not self._apart_from_viewer(trip["created_by"])]

    @rpc
    def trip_join(self, trip_id: str, member_id: str, children: list[str]) -> dict[str, Any]:
        """Ride with the children named: ``{errors}`` (``FULL``, ``INVALID``, ``SUSPENDED``). Raises
        ``Forbidden`` unless the member is in the trip's group."""
        member_id = self.identity.acting_as(member_id)
        if suspended := self._suspended(member_id):
            return {"errors": suspended}
        if hidden := self._in_trips_group(trip_id, member_id):
            return {"errors": hidden}
        return self.outings.trips.join(trip_id, member_id, children)

    def _in_trips_group(self, trip_id: str, member_id: str) -> list[dict[str, Any]]:
        """Raises ``Forbidden`` unless the member is in the trip's group; ``[NOT_FOUND]`` for a
        trip whose organizer and the member are kept apart by a block (as if there were no such
        trip, as ``trip_get`` answers); ``[]`` otherwise (an unknown trip passes: its
        ``NOT_FOUND`` is the store's)."""
        trip = self.outings.trips.get(trip_id)
        if trip is None:
            return []
        self._member_of(trip["group_id"], member_id)
        if self._apart_from_viewer(trip["created_by"]):
            return [field_error(("trip_id",), t("No such trip."), "NOT_FOUND")]
        return []

    @rpc
    def trip_riders(self, trip_id: str) -> list[dict[str, Any]]:
        """Who rides, with their children's first names, but the families kept apart from the
        viewer by a block (their children's names and times are theirs); ``[]`` unless the trip
        shows to the viewer (``_sees_trip``)."""
        trip = self.outings.trips.get(trip_id)
        if trip is None or not self._sees_trip(trip):
            return []
        riders = self.outings.trips.riders(trip_id)
        return [rider for rider in riders if not self._apart_from_viewer(rider["member_id"])]

    @rpc
    def trip_rota(self, trip_id: str) -> list[dict[str, Any]] | None:
        """The coming days and who drives, but the days someone kept apart from the viewer by a
        block drives (when a blocker walks the children is theirs: the day is left out, and
        taking it answers ``TAKEN``); None unless the trip shows to the viewer (``_sees_trip``)."""
        trip = self.outings.trips.get(trip_id)
        if trip is None or not self._sees_trip(trip):
            return None
        days = self.outings.trips.rota_of(trip_id) or []
        return [day for day in days if not (day["driver_id"] and self._apart_from_viewer(day["driver_id"]))]

    @rpc
    def trip_volunteer(self, trip_id: str, member_id: str, date: str) -> dict[str, Any]:
        """Drive or walk on ``date``: ``{errors}`` (``TAKEN``, ``INVALID``, ``SUSPENDED``). Raises
        ``Forbidden`` unless the member is in the trip's group."""
        member_id = self.identity.acting_as(member_id)
        if suspended := self._suspended(member_id):
            return {"errors": suspended}
        if hidden := self._in_trips_group(trip_id, member_id):
            return {"errors": hidden}
        return self.outings.trips.volunteer(trip_id, member_id, date)

    @rpc
    def trip_swap_propose(self, trip_id: str, member_id: str, my_date: str, their_date: str) -> dict[str, Any]:
        """Offer one's day for another parent's: ``{swap, errors}`` (``NOT_YOURS``, ``INVALID``;
        ``NOT_FOUND`` for a trip ``_in_trips_group`` hides). A day driven by someone kept apart
        from the member by a block answers as a day nobody takes (``INVALID``): no proposal
        reaches across a block, and the answer does not say who drives it."""
        member_id = self.identity.acting_as(member_id)
        if hidden := self._in_trips_group(trip_id, member_id):
            return {"swap": None, "errors": hidden}
        swap_id = once_id(self.request_id, "swap", member_id)
        return self.outings.trips.propose_swap(
            trip_id, member_id, my_date, their_date, swap_id, apart=self._apart_from_viewer
        )

    @rpc
    def trip_swap_accept(self, swap_id: str, member_id: str) -> dict[str, Any]:
        """Accept a swap proposed to the member: ``{swap, errors}``. One proposed by someone kept
        apart from them by a block since, or on a trip whose organizer is, is ``NOT_FOUND``;
        riders kept apart from either of the two are not told of the change (``Trips.accept_swap``)."""
        member_id = self.identity.acting_as(member_id)
        return self.outings.trips.accept_swap(swap_id, member_id, apart=self._apart_from_viewer)

    @timer(interval=5)
    def settle(self) -> None:
        """Pay hosts for finished shifts; finish what a crash interrupted."""
        self.outings.coop.settle_finished()
        self.outings.trips.finish_accepted()

    @timer(interval=DUE_SWEEP_SECONDS)
    def expire_inbox(self) -> None:
        """Notifications past their retention go, with their index entries and counts
        (``parentnet_kit.inbox.Inbox.expire``; asks the store nothing on a day with none due)."""
        self.outings.inbox.expire()

    @timer(interval=SWEEP_SECONDS)
    def sweep_outbox(self) -> None:
        self.outings.relay_pending()
