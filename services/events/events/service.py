"""The events service's entrypoints: thin, validating, calling one dependency."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from nameko.timer import timer

from parentnet_kit import picture_rpc
from parentnet_kit.city_copy import CityCopy
from parentnet_kit.city_feed import CityFeed
from parentnet_kit.event_feed import EventFeed
from parentnet_kit.fields import field_error
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
    pictures = picture_rpc.Pictures("EVENTS_DB")
    picture_kinds = ("outing",)

    def picture_refusal(self, kind: str, subject_id: str, actor_id: str, actor_is_admin: bool) -> str | None:
        """An outing's pictures are its organizer's, or an admin's of its group (the gateway says so)."""
        outing = self.outings.store.get(subject_id)
        if outing is None:
            return "NOT_FOUND"
        return None if actor_id == outing.get("organizer_id") or actor_is_admin else "NOT_YOURS"

    @rpc
    def ping(self) -> str:
        return "pong"

    @rpc
    def create_outing(
        self, fields: dict[str, Any], organizer_id: str | None = None, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Propose an outing. Returns ``{"outing": ..., "errors": []}``; nothing is stored on errors.
        ``idempotency_key`` defaults to the request's id, as for every other creation."""
        clean, errors = domain.validate_new_outing(fields or {}, datetime.now(UTC))
        if (until := self.moderation.suspended_until(organizer_id)) is not None:
            message = f"Your account is suspended until {until.isoformat(timespec='minutes')}."
            return {"outing": None, "errors": [field_error((), message, "SUSPENDED")]}
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
        """Change an outing (``scope`` "series": and its later occurrences). ``{outing, errors}``."""
        return self.outings.update(outing_id, actor_id, fields or {}, scope, actor_is_group_admin)

    @rpc
    def cancel_outing(
        self, outing_id: str, actor_id: str, scope: str = "occurrence", actor_is_group_admin: bool = False
    ) -> dict[str, Any]:
        return self.outings.cancel(outing_id, actor_id, scope, actor_is_group_admin)

    @rpc
    def join_outing(self, outing_id: str, member_id: str, adults: int = 1, children: int = 0) -> dict[str, Any]:
        """Take a place, or a waitlist spot when it is full: ``{place, outing, errors}``."""
        return self.outings.join(outing_id, member_id, adults, children)

    @rpc
    def leave_outing(self, outing_id: str, member_id: str) -> dict[str, Any]:
        return self.outings.leave(outing_id, member_id)

    @rpc
    def attendees(
        self, outing_id: str, viewer_id: str | None, first: int = 20, after: int | None = None
    ) -> dict[str, Any] | None:
        """Who comes, for the organizer and the families coming only (None for anyone else)."""
        return self.outings.attendees(outing_id, viewer_id, max(1, min(int(first), 100)), after)

    @rpc
    def places_of(self, member_id: str, outing_ids: list[str]) -> list[dict[str, Any] | None]:
        return self.outings.places_of(member_id, outing_ids)

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
        paging: outings of ``hidden_organizers`` (who blocked the member), and private groups' ones
        outside ``viewer_groups`` (when given)."""
        wanted = [s for s in (states or my_outings.STATES[:3]) if s in my_outings.STATES]
        visible = my_outings.may_see(hidden_organizers, viewer_groups)
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
        visible = my_outings.may_see(hidden_organizers, viewer_groups)
        first = max(1, min(int(first), 100))
        return self.outings.group_outings(list(group_ids or [])[:100], period, first, after, *window, visible)

    @rpc
    def calendar_feed_rotate(self, member_id: str, group_id: str | None = None) -> dict[str, Any]:
        """A new secret token for the member's calendar feed (of ``group_id``: the caller checked
        membership); the previous token stops working. ``{token, replaced}``; only a hash is stored."""
        return self.outings.feeds.rotate(member_id, group_id)

    @rpc
    def calendar_feed_revoke(self, member_id: str, group_id: str | None = None) -> bool:
        """The feed's token stops working (False when there was none)."""
        return self.outings.feeds.revoke(member_id, group_id)

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
        """The member's notifications about outings, newest first."""
        return self.outings.inbox.page(member_id, max(1, min(int(first), 100)), before_at, before_id)

    @rpc
    def mark_read(self, member_id: str, notification_ids: list[str]) -> int:
        return self.outings.inbox.mark_read(member_id, notification_ids)

    @rpc
    def get_outing(self, outing_id: str) -> dict[str, Any] | None:
        try:
            return self.outings.get(outing_id)
        except NotFound:
            return None

    @rpc
    def get_outings(self, outing_ids: list[str]) -> list[dict[str, Any] | None]:
        """Batch lookup for the gateway's DataLoader; answers in the order asked."""
        return self.outings.get_many(outing_ids)

    @rpc
    def export_outings(self, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """A page of outings in id order, for the search backfill."""
        return self.outings.export_page(after, max(1, min(size, EXPORT_PAGE_MAX)))

    # -- co-op childcare (the gateway checks group membership and admin rights) ------------
    @rpc
    def coop_offer(
        self, host_id: str, group_id: str, fields: dict[str, Any], protected: bool = False
    ) -> dict[str, Any]:
        """Offer a shift: ``{shift, errors}``. ``protected``: the host is in protected mode (city-level area)."""
        shift_id = once_id(self.request_id, "shift", host_id)
        return self.outings.coop.offer(host_id, group_id, fields or {}, shift_id, bool(protected))

    @rpc
    def coop_place_host(self, host_id: str) -> int:
        """After a host turned protected mode on: their open shifts' areas move to city level."""
        return self.outings.coop.place_host(host_id)

    @rpc
    def coop_shifts(self, group_id: str, first: int = 50) -> list[dict[str, Any]]:
        return self.outings.coop.group_shifts(group_id, max(1, min(int(first), 100)))

    @rpc
    def coop_shift(self, shift_id: str) -> dict[str, Any] | None:
        shift = self.outings.coop.shifts.find_one({"_id": shift_id})
        return None if shift is None else self.outings.coop.view(shift)

    @rpc
    def coop_book(self, shift_id: str, member_id: str, children: int) -> dict[str, Any]:
        """Book places: ``{booking, errors}`` (``FULL``, ``BELOW_FLOOR``, ``CLOSED``, ``OWN_SHIFT``)."""
        return self.outings.coop.book(
            shift_id, member_id, children, once_id(self.request_id, "booking", member_id, shift_id)
        )

    @rpc
    def coop_cancel(self, booking_id: str, member_id: str) -> dict[str, Any]:
        return self.outings.coop.cancel(booking_id, member_id)

    @rpc
    def coop_balance(self, group_id: str, member_id: str) -> dict[str, int]:
        """A member's balance and the group's floor, in child-minutes."""
        coop = self.outings.coop
        return {"balance": coop.balance(group_id, member_id), "floor": coop.floor(group_id)}

    @rpc
    def coop_balances(self, group_id: str) -> dict[str, int]:
        """Every account of the group (with ``escrow``): for admins. They sum to zero."""
        return self.outings.coop.balances(group_id)

    @rpc
    def coop_set_floor(self, group_id: str, floor_minutes: int) -> None:
        self.outings.coop.set_floor(group_id, int(floor_minutes))

    # -- school runs and activity trips ------------------------------------------------------
    @rpc
    def trip_create(self, creator_id: str, group_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        return self.outings.trips.create(
            creator_id, group_id, fields or {}, once_id(self.request_id, "trip", creator_id)
        )

    @rpc
    def trip_get(self, trip_id: str) -> dict[str, Any] | None:
        return self.outings.trips.get(trip_id)

    @rpc
    def group_trips(self, group_id: str) -> list[dict[str, Any]]:
        return self.outings.trips.of_group(group_id)

    @rpc
    def trip_join(self, trip_id: str, member_id: str, children: list[str]) -> dict[str, Any]:
        return self.outings.trips.join(trip_id, member_id, children)

    @rpc
    def trip_riders(self, trip_id: str) -> list[dict[str, Any]]:
        return self.outings.trips.riders(trip_id)

    @rpc
    def trip_rota(self, trip_id: str) -> list[dict[str, Any]] | None:
        return self.outings.trips.rota_of(trip_id)

    @rpc
    def trip_volunteer(self, trip_id: str, member_id: str, date: str) -> dict[str, Any]:
        return self.outings.trips.volunteer(trip_id, member_id, date)

    @rpc
    def trip_swap_propose(self, trip_id: str, member_id: str, my_date: str, their_date: str) -> dict[str, Any]:
        swap_id = once_id(self.request_id, "swap", member_id)
        return self.outings.trips.propose_swap(trip_id, member_id, my_date, their_date, swap_id)

    @rpc
    def trip_swap_accept(self, swap_id: str, member_id: str) -> dict[str, Any]:
        return self.outings.trips.accept_swap(swap_id, member_id)

    @timer(interval=5)
    def settle(self) -> None:
        """Pay hosts for finished shifts; finish what a crash interrupted."""
        self.outings.coop.settle_finished()
        self.outings.trips.finish_accepted()

    @timer(interval=SWEEP_SECONDS)
    def sweep_outbox(self) -> None:
        self.outings.relay_pending()
