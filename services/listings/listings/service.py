"""The listings service's entrypoints: things given, lent, swapped, sold and wanted, matched
nearby; and the directory of trusted contacts.

The gateway authenticates callers and sends who the request is for as a signed identity token
(``parentnet_kit.identity``): a method acting for a member refuses any other (``Forbidden``).
Blocks, protected mode and group membership are asked of their owner, the members service
(``MemberFacts``); ``apart``, ``protected`` and ``viewer_groups`` from a previous gateway are
accepted for one release and only ever add to what members says (more apart, more protected).
"""

from __future__ import annotations

import os
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

from . import moderation_copy
from .dependencies import Listings
from .store import ListingStore

SWEEP_SECONDS = float(os.environ.get("OUTBOX_SWEEP_SECONDS", "2"))
EXPIRY_SECONDS = float(os.environ.get("EXPIRY_SWEEP_SECONDS", "30"))
PAGE_MAX = 100


def _first(first: Any) -> int:
    return max(1, min(int(first or 20), PAGE_MAX))


class ListingsService(picture_rpc.PictureEntrypoints):
    name = "listings"
    # Request ids, a log line and metrics per RPC, /metrics /alive /ready (METRICS_PORT).
    observed = Observed()

    store: ListingStore = Listings()
    # This service's copy of the open cities (``parentnet_kit.cities`` reads it), fed by members.
    cities: CityCopy = CityFeed("LISTINGS_DB", "listings.cities")
    request_id = RequestId()
    # Moderation's decisions: hidden listings, suspended members (queue listings.moderation).
    moderation = EventFeed("listings.moderation", moderation_copy.copy)
    # Who the request is for, verified (``Viewer.acting_as`` refuses anyone else).
    identity = Identity()
    # The owner of blocks, protected mode and group membership.
    members = RpcProxy("members")
    pictures = picture_rpc.Pictures("LISTINGS_DB")
    picture_kinds = ("listing",)

    def picture_refusal(self, kind: str, subject_id: str, actor_id: str, actor_is_admin: bool) -> str | None:
        """A listing's pictures are its owner's."""
        listing = self.store.listings.get(subject_id)
        if listing is None:
            return "NOT_FOUND"
        return None if actor_id == listing.get("owner_id") else "NOT_YOURS"

    @rpc
    def ping(self) -> str:
        return "pong"

    def suspension(self, member_id: str) -> list[dict[str, Any]]:
        """``[SUSPENDED error]`` while a moderator's suspension of ``member_id`` lasts (kept from
        moderation's events, ``moderation_copy``), else []: a suspended member posts no listing
        or contact, proposes to take none and renews none."""
        until = self.moderation.suspended_until(member_id)
        if until is None:
            return []
        return [field_error((), t("Your account is suspended until {until}.", until=until), "SUSPENDED")]

    @rpc
    def create_listing(
        self, fields: dict[str, Any], owner_id: str, apart: list[str] | None = None, protected: bool = False
    ) -> dict[str, Any]:
        """Post an offer or a wanted request and match it: ``{listing, errors}``. Never matched with
        members the owner blocked or was blocked by; placed and matched at city level when the
        owner is in protected mode (both asked of members). Raises ``Forbidden`` for another
        member's identity."""
        owner_id = self.identity.acting_as(owner_id)
        if errors := self.suspension(owner_id):
            return {"listing": None, "errors": errors}
        facts = MemberFacts(self.members)
        apart = sorted(set(apart or []) | set(facts.apart(owner_id)))
        protected = bool(protected) or facts.protected(owner_id)
        listing_id = once_id(self.request_id, "listing", owner_id)
        return self.store.create(fields or {}, owner_id, apart, listing_id, protected)

    @rpc
    def get_listings(self, listing_ids: list[str], viewer_id: str | None = None) -> list[dict[str, Any] | None]:
        """Views in the order asked; the exact pickup address only for the owner and the accepted
        reserver. The viewer is the request's verified member whatever ``viewer_id`` says (a
        previous gateway's argument, believed only without a token while none is required): a
        caller without a genuine token sees what an anonymous visitor sees."""
        return self.store.get_many(listing_ids, self.identity.viewer_or(viewer_id))

    @rpc
    def listings_of(self, owner_id: str, first: int = 20, after: str | None = None) -> dict[str, Any]:
        """The owner's own listings, pickup addresses included: ``{listings, has_next_page, total}``.
        Raises ``Forbidden`` when the request's identity is not ``owner_id``."""
        return self.store.of_owner(self.identity.acting_as(owner_id), _first(first), after)

    @rpc
    def renew_listing(self, listing_id: str, owner_id: str) -> dict[str, Any]:
        """30 more days: ``{listing, errors}``; ``FORBIDDEN`` for anyone but the owner, then
        ``SUSPENDED`` while the owner is suspended (renewing posts it again)."""
        owner_id = self.identity.acting_as(owner_id)
        current = self.store.listings.get(listing_id) if isinstance(listing_id, str) else None
        if current is not None and current.get("owner_id") == owner_id and (errors := self.suspension(owner_id)):
            return {"listing": None, "errors": errors}
        return self.store.renew(listing_id, owner_id)

    @rpc
    def reserve_listing(self, listing_id: str, member_id: str, apart: list[str] | None = None) -> dict[str, Any]:
        """Ask for a listing: ``{listing, errors}``; one whose owner blocked the member or was
        blocked by them is ``NOT_FOUND`` (blocks asked of members); ``SUSPENDED`` while the member
        is suspended (asking to take a listing, or offering for a wanted request, is proposing)."""
        member_id = self.identity.acting_as(member_id)
        if errors := self.suspension(member_id):
            return {"listing": None, "errors": errors}
        apart = sorted(set(apart or []) | set(MemberFacts(self.members).apart(member_id)))
        return self.store.reserve(listing_id, member_id, apart)

    @rpc
    def decide_reservation(self, listing_id: str, owner_id: str, accept: bool) -> dict[str, Any]:
        return self.store.decide_reservation(listing_id, self.identity.acting_as(owner_id), bool(accept))

    @rpc
    def complete_listing(self, listing_id: str, owner_id: str) -> dict[str, Any]:
        return self.store.close(listing_id, self.identity.acting_as(owner_id), "completed")

    @rpc
    def withdraw_listing(self, listing_id: str, owner_id: str) -> dict[str, Any]:
        return self.store.close(listing_id, self.identity.acting_as(owner_id), "withdrawn")

    @rpc
    def place_owner(self, owner_id: str, protected: bool) -> int:
        """After a member's protected mode changed: their open listings move to city level (on) or
        back to their pickup cells (off). Idempotent; returns how many listings moved. With an
        identity token, whether the owner is protected now is asked of members (``protected`` is
        a previous gateway's word, believed without a token while none is required)."""
        owner_id = self.identity.acting_as(owner_id)
        if self.identity.id is not None:
            protected = MemberFacts(self.members).protected(owner_id)
        return self.store.place_owner(owner_id, bool(protected))

    @rpc
    def export_listings(self, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """A page of listings in id order, for the search backfill.
        Raises ``Forbidden`` unless the search backfill's operator token came
        (``parentnet_kit.identity.BACKFILL``; docs/operations.md)."""
        self.identity.operating(BACKFILL)
        return self.store.export_page(after, max(1, min(int(size), 1_000)))

    @rpc
    def add_contact(self, fields: dict[str, Any], member_id: str) -> dict[str, Any]:
        """Add a trusted contact to the directory, recommended by whoever adds it: ``{contact, errors}``;
        a group's contact only by a member of the group (``NOT_MEMBER`` on ``group_id``)."""
        member_id = self.identity.acting_as(member_id)
        group_id = (fields or {}).get("group_id")
        if group_id and MemberFacts(self.members).role(group_id, member_id) is None:
            message = "Choose a group you are a member of."
            return {"contact": None, "errors": [field_error(("group_id",), message, "NOT_MEMBER")]}
        if errors := self.suspension(member_id):
            return {"contact": None, "errors": errors}
        return self.store.add_contact(fields or {}, member_id, once_id(self.request_id, "contact", member_id))

    @rpc
    def recommend_contact(self, contact_id: str, member_id: str) -> dict[str, Any]:
        return self.store.recommend(contact_id, self.identity.acting_as(member_id))

    @rpc
    def export_contacts(self, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """A page of trusted contacts in id order, for the search backfill.
        Raises ``Forbidden`` unless the search backfill's operator token came
        (``parentnet_kit.identity.BACKFILL``; docs/operations.md)."""
        self.identity.operating(BACKFILL)
        return self.store.export_contacts(after, max(1, min(int(size), 1_000)))

    @rpc
    def get_contacts(self, contact_ids: list[str]) -> list[dict[str, Any] | None]:
        """Contacts by id, in the order asked; None for an unknown one or one the request's viewer
        may not see, by the API's rule (the gateway's ``load_contact``): a group's contact only for
        that group's active members (asked of members), one a moderator hid only for who added it.
        No token: what a signed-out visitor sees; no token while none is required: every contact,
        as before (a previous gateway, which filters itself). Raises ``Forbidden`` for a token
        that does not verify."""
        viewer = self.identity
        if viewer.problem is not None:
            raise Forbidden(f"the identity token was refused: {viewer.problem}")
        views = self.store.get_contacts(contact_ids)
        if not any(views) or (viewer.id is None and not viewer.presented and not viewer.required):
            return views
        groups = set(MemberFacts(self.members).groups(viewer.id)) if viewer.id is not None else set()

        def shown(view: dict[str, Any]) -> bool:
            if view.get("group_id") and view["group_id"] not in groups:
                return False
            return not view.get("hidden") or (viewer.id is not None and view.get("added_by") == viewer.id)

        return [view if view is not None and shown(view) else None for view in views]

    @rpc
    def list_contacts(
        self,
        city: str,
        kind: str | None = None,
        language: str | None = None,
        viewer_groups: list[str] | None = None,
        first: int = 20,
        offset: int = 0,
    ) -> dict[str, Any]:
        """A city's contacts (and those of the viewer's groups: asked of members for a verified
        viewer; ``viewer_groups`` is a previous gateway's, believed only without a token while
        none is required), most recommended first."""
        viewer = self.identity
        if viewer.id is not None:
            groups = MemberFacts(self.members).groups(viewer.id)
        elif viewer.presented or viewer.required:
            groups = []
        else:
            groups = list(viewer_groups or [])
        return self.store.list_contacts(city, kind, language, groups, _first(first), max(0, int(offset)))

    @rpc
    def inbox(
        self, member_id: str, first: int = 20, before_at: str | None = None, before_id: str = ""
    ) -> dict[str, Any]:
        """The member's listing notices (matches, reservations), newest first. Raises
        ``Forbidden`` when the request's identity is not ``member_id``."""
        return self.store.inbox.page(self.identity.acting_as(member_id), _first(first), before_at, before_id)

    @rpc
    def mark_read(self, member_id: str, notification_ids: list[str]) -> int:
        """Mark the member's notices read; how many were unread. Raises ``Forbidden`` when the
        request's identity is not ``member_id``."""
        return self.store.inbox.mark_read(self.identity.acting_as(member_id), notification_ids)

    @timer(interval=SWEEP_SECONDS)
    def sweep(self) -> None:
        self.store.relay_pending()
        self.store.sweep_unmatched()

    @timer(interval=SWEEP_SECONDS)
    def adopt(self) -> None:
        """Once per database, matching's buckets for the listings active before them (minutes at
        100,000 listings: a timer of its own, so the outbox sweep never waits for it); a
        remembered flag afterwards."""
        self.store.adopt_buckets()

    @timer(interval=DUE_SWEEP_SECONDS)
    def expire_inbox(self) -> None:
        """Notifications past their retention go, with their index entries and counts
        (``parentnet_kit.inbox.Inbox.expire``; asks the store nothing on a day with none due)."""
        self.store.inbox.expire()

    @timer(interval=EXPIRY_SECONDS)
    def expire(self) -> None:
        self.store.expire_due()
