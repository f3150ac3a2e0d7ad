"""The members service's entrypoints: accounts, profiles, parents near me, groups, blocks.

The gateway authenticates the caller (it verifies the access token) and tells each service who
the viewer is in an identity token it signs (``parentnet_kit.identity``). A method that acts or
reads as a member takes that member as ``self.identity.acting_as(<the argument>)``: a request
whose token names someone else, or is forged, expired or for another service, or that carries
none while ``INTERNAL_IDENTITY_REQUIRED`` is on, is refused with ``Forbidden`` (a remote error,
as events and listings refuse it) before anything is read. An optional viewer left out (None)
is an anonymous read and is not checked. What a member blocked, who blocked her and her groups
(``viewer_context``, ``block_relations``, ``blocked_by``, ``member_groups``) go only with a
genuine token naming her: the gateway's for members, or one relayed by the service she called
while it serves her request (``Viewer.reading_about``); a token naming another member gets
``viewer_context``'s public part (``protected``) and is refused the others. ``is_network_admin``,
the search backfill's exports and the ops' ``member_id_by_email`` answer their operator tools' tokens only (README "Who
a request is for"). Every method returns plain data with ``errors`` for the user to fix.
"""

from __future__ import annotations

import os
from typing import Any

from nameko.timer import timer

from parentnet_kit import picture_rpc
from parentnet_kit.event_feed import EventFeed
from parentnet_kit.expiry import SWEEP_SECONDS as DUE_SWEEP_SECONDS
from parentnet_kit.fields import field_error
from parentnet_kit.i18n import t
from parentnet_kit.identity import BACKFILL, MODERATION_ROLES, OTHER, Forbidden
from parentnet_kit.nameko_identity import Identity
from parentnet_kit.nameko_observe import Observed
from parentnet_kit.nameko_rpc import RequestId, once_id, rpc

from . import moderation_copy
from .city_directory import CityDirectory
from .dependencies import Members, OpenCities
from .store import MemberStore

SWEEP_SECONDS = float(os.environ.get("OUTBOX_SWEEP_SECONDS", "2"))
PAGE_MAX = 100


def _first(first: Any) -> int:
    return max(1, min(int(first or 20), PAGE_MAX))


class MembersService(picture_rpc.PictureEntrypoints):
    name = "members"
    # Request ids, a log line and metrics per RPC, /metrics /alive /ready (METRICS_PORT).
    observed = Observed()

    store: MemberStore = Members()
    directory: CityDirectory = OpenCities()
    request_id = RequestId()
    # Who a request is for: the gateway's signed identity token (parentnet_kit.identity).
    identity = Identity()
    pictures = picture_rpc.Pictures("MEMBERS_DB")
    picture_kinds = ("member", "group")
    # Moderation's suspensions (queue members.moderation): a suspended member proposes no group.
    moderation = EventFeed("members.moderation", moderation_copy.copy)

    def suspension(self, member_id: str) -> list[dict[str, Any]]:
        """``[SUSPENDED error]`` while a moderator's suspension of ``member_id`` lasts, else []."""
        until = self.moderation.suspended_until(member_id)
        if until is None:
            return []
        return [field_error((), t("Your account is suspended until {until}.", until=until), "SUSPENDED")]

    def picture_refusal(self, kind: str, subject_id: str, actor_id: str, actor_is_admin: bool) -> str | None:
        """A member's picture is their own; a group's are its admins'."""
        if kind == "member":
            if self.store.members.get(subject_id) is None:
                return "NOT_FOUND"
            return None if subject_id == actor_id else "NOT_YOURS"
        if self.store.groups.get(subject_id) is None:
            return "NOT_FOUND"
        membership = self.store.membership(subject_id, actor_id)
        admin = membership is not None and membership["status"] == "active" and membership["role"] == "admin"
        return None if admin else "NOT_YOURS"

    def _viewer(self, viewer_id: str | None) -> str | None:
        """An optional viewer: None (an anonymous read) as it is, else as ``acting_as`` allows it."""
        return None if viewer_id is None else self.identity.acting_as(viewer_id)

    @rpc
    def ping(self) -> str:
        return "pong"

    # accounts
    @rpc
    def register(self, fields: dict[str, Any], client: str = "unknown") -> dict[str, Any]:
        """Create an account and sign in: ``{member, access_token, refresh_token, errors}``."""
        email = str((fields or {}).get("email", "")).strip().lower()
        return self.store.register(fields or {}, client, once_id(self.request_id, "member", email))

    @rpc
    def login(self, email: str, password: str, client: str = "unknown") -> dict[str, Any]:
        return self.store.login(email, password, client)

    @rpc
    def refresh(self, refresh_token: str) -> dict[str, Any]:
        return self.store.refresh(refresh_token)

    @rpc
    def logout(self, member_id: str, session_id: str, everywhere: bool = False) -> int:
        """Revoke the session (or all the member's sessions); returns how many. Raises
        ``Forbidden`` when the request's identity is not ``member_id``."""
        return self.store.logout(self.identity.acting_as(member_id), session_id, everywhere)

    @rpc
    def session_active(self, session_id: str) -> bool:
        return self.store.session_active(session_id)

    @rpc
    def member_id_by_email(self, email: str) -> str | None:
        """For ops' commands (``moderation.roles``): the member id registered with ``email``, or
        None. Never exposed through the gateway. Raises ``Forbidden`` unless that command's
        operator token came (``parentnet_kit.identity.MODERATION_ROLES``): an email would name
        its member to anyone on the bus."""
        self.identity.operating(MODERATION_ROLES)
        from .domain import normalise_email

        holder = self.store.emails.find_one({"_id": normalise_email(email)}, {"member_id": 1})
        return holder["member_id"] if holder else None

    # profiles
    @rpc
    def viewer(self, member_id: str) -> dict[str, Any] | None:
        """The member's own view (private fields included), or None. Raises ``Forbidden`` when the
        request's identity is not ``member_id``."""
        return self.store.viewer(self.identity.acting_as(member_id))

    @rpc
    def update_profile(self, member_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """``{member, errors}``. Raises ``Forbidden`` when the request's identity is not ``member_id``."""
        return self.store.update_profile(self.identity.acting_as(member_id), fields or {})

    @rpc
    def get_members(self, member_ids: list[str], viewer_id: str | None = None) -> list[dict[str, Any] | None]:
        """Batch lookup in the order asked; None for unknown members and for those who blocked the
        viewer (blocks read at each call). Other members' profiles may be up to ``store.PUBLIC_TTL``
        (30 s) old when another process changed them; the viewer's own is read each time. Raises
        ``Forbidden`` when a ``viewer_id`` is given and the request's identity is not that member
        (None: an anonymous read, unchecked)."""
        return self.store.get_members(member_ids, self._viewer(viewer_id))

    @rpc
    def parents_nearby(
        self, viewer_id: str, filters: dict[str, Any] | None = None, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        """A page of parents near the viewer. Raises ``Forbidden`` when the request's identity is
        not ``viewer_id``."""
        return self.store.parents_nearby(self.identity.acting_as(viewer_id), filters or {}, _first(first), after)

    # blocks
    @rpc
    def block(self, blocker_id: str, member_id: str) -> dict[str, Any]:
        """``{blocked, errors}``. Raises ``Forbidden`` when the request's identity is not ``blocker_id``."""
        return self.store.set_block(self.identity.acting_as(blocker_id), member_id, True)

    @rpc
    def unblock(self, blocker_id: str, member_id: str) -> dict[str, Any]:
        """As ``block``."""
        return self.store.set_block(self.identity.acting_as(blocker_id), member_id, False)

    @rpc
    def blocked_by(self, member_id: str) -> list[str]:
        """Who blocked this member: what they must not see anywhere. Raises ``Forbidden`` unless
        a genuine token names ``member_id`` (``_herself``)."""
        return self.store.blocked_by(self._herself(member_id))

    @rpc
    def block_relations(self, member_id: str) -> dict[str, list[str]]:
        """``{blocked: [whom this member blocked], blocked_by: [who blocked them]}``: keep them
        apart. Raises ``Forbidden`` unless a genuine token names ``member_id`` (``_herself``)."""
        return self.store.block_relations(self._herself(member_id))

    def _herself(self, member_id: Any) -> Any:
        """``member_id`` when the request is hers: a genuine token naming her, for members or
        relayed by the service she called (or no token while none is required: a previous
        gateway's). Whom she blocked, who blocked her and her groups are hers alone: raises
        ``Forbidden`` for another member's token, none while one is required, or a bad one."""
        if self.identity.reading_about(member_id) == OTHER:
            raise Forbidden("the identity token names another member than the one asked about")
        return member_id

    @rpc
    def export_blocks(self, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """A page of block pairs in id order (as their events carry them), for the search backfill.
        Raises ``Forbidden`` unless the search backfill's operator token came (who blocked whom
        is nobody else's to read; ``parentnet_kit.identity.OPERATOR_BACKFILL``)."""
        self.identity.operating(BACKFILL)
        return self.store.export_blocks(after, max(1, min(int(size), 1_000)))

    @rpc
    def export_memberships(self, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """A page of memberships in id order (``{id, version, group_id, member_id, role, status}``,
        as ``group_membership_changed`` carries them), for the search backfill. Raises
        ``Forbidden`` unless the search backfill's operator token came."""
        self.identity.operating(BACKFILL)
        return self.store.export_memberships(after, max(1, min(int(size), 1_000)))

    @rpc
    def export_groups(self, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """A page of public groups in id order, for the search backfill.
        Raises ``Forbidden`` unless the search backfill's operator token came
        (``parentnet_kit.identity.BACKFILL``; docs/operations.md)."""
        self.identity.operating(BACKFILL)
        return self.store.export_groups(after, max(1, min(int(size), 1_000)))

    # groups
    @rpc
    def create_group(self, creator_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A new group with its creator as admin: ``{group, errors}``; ``SUSPENDED`` while a
        moderator's suspension of the creator lasts (a group is proposed to the whole city).
        Raises ``Forbidden`` when the request's identity is not ``creator_id``."""
        creator_id = self.identity.acting_as(creator_id)
        if errors := self.suspension(creator_id):
            return {"group": None, "errors": errors}
        return self.store.create_group(creator_id, fields or {}, once_id(self.request_id, "group", creator_id))

    @rpc
    def join_group(self, member_id: str, group_id: str) -> dict[str, Any]:
        """``{group, errors}``. Raises ``Forbidden`` when the request's identity is not ``member_id``."""
        return self.store.join_group(self.identity.acting_as(member_id), group_id)

    @rpc
    def leave_group(self, member_id: str, group_id: str) -> dict[str, Any]:
        """As ``join_group``."""
        return self.store.leave_group(self.identity.acting_as(member_id), group_id)

    @rpc
    def decide_request(self, admin_id: str, group_id: str, member_id: str, approve: bool) -> dict[str, Any]:
        """``{group, errors}`` (``FORBIDDEN`` unless ``admin_id`` admins the group). Raises
        ``Forbidden`` when the request's identity is not ``admin_id``."""
        return self.store.decide_request(self.identity.acting_as(admin_id), group_id, member_id, bool(approve))

    @rpc
    def set_role(self, admin_id: str, group_id: str, member_id: str, role: str) -> dict[str, Any]:
        """As ``decide_request``."""
        return self.store.set_role(self.identity.acting_as(admin_id), group_id, member_id, role)

    @rpc
    def get_groups(self, group_ids: list[str], viewer_id: str | None = None) -> list[dict[str, Any] | None]:
        """Groups as the viewer may see them, in the order asked; ``viewer_id`` as for ``get_members``."""
        return self.store.get_groups(group_ids, self._viewer(viewer_id))

    @rpc
    def list_groups(
        self, city: str | None = None, viewer_id: str | None = None, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        """A page of the city's groups the viewer may see; ``viewer_id`` as for ``get_members``."""
        return self.store.list_groups(city, self._viewer(viewer_id), _first(first), after)

    @rpc
    def group_members(
        self,
        group_id: str,
        viewer_id: str | None = None,
        pending: bool = False,
        first: int = 20,
        after: str | None = None,
    ) -> dict[str, Any] | None:
        """A page of the group's members (``pending``: its requests) as the viewer may see them, or
        None; ``viewer_id`` as for ``get_members``."""
        status = "pending" if pending else "active"
        return self.store.group_members(self._viewer(viewer_id), group_id, status, _first(first), after)

    @rpc
    def viewer_context(self, member_id: str) -> dict[str, Any]:
        """``{blocked_by: [ids], blocked: [ids], groups: {group id: role}, protected: bool}``: one
        call per request for the gateway, and the facts other services decide on (``MemberFacts``)
        while they serve her request. All of it for a genuine token naming ``member_id``; for a
        token naming another member (a sender asking whether the recipient is in protected mode)
        only ``protected``, the lists and groups empty. Raises ``Forbidden`` with no token while
        one is required, or a token that verifies for no service."""
        if self.identity.reading_about(member_id) == OTHER:
            found = self.store.members.aggregates.find_one({"_id": member_id}, {"protected": 1}) or {}
            protected = bool(found.get("protected", False))
            return {"blocked_by": [], "blocked": [], "groups": {}, "protected": protected}
        return self.store.viewer_context(member_id)

    @rpc
    def member_groups(self, member_id: str) -> list[dict[str, Any]]:
        """The groups the member is in or asked to join (private ones included). Raises
        ``Forbidden`` unless a genuine token names ``member_id`` (``_herself``)."""
        return self.store.member_groups(self._herself(member_id))

    @timer(interval=SWEEP_SECONDS)
    def sweep_outbox(self) -> None:
        self.store.relay_pending()
        self.directory.relay_pending()

    # cities and the network-admin role
    @rpc
    def open_cities(self) -> list[dict[str, Any]]:
        """Every open city: ``[{slug, name, names, country, time_zone, languages, lat, lon,
        radius_km, currency, geonames_id, version}]`` by slug."""
        return self.directory.open_cities()

    @rpc
    def search_gazetteer(self, text: str, country: str | None = None, first: int = 10) -> dict[str, Any]:
        """Gazetteer places named ``text...``: ``{places, errors}`` (see ``CityDirectory``)."""
        return self.directory.search_gazetteer(text, country, max(1, min(int(first or 10), 50)))

    @rpc
    def open_city(self, admin_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Open (or change) a city as a network admin: ``{city, errors}``; ``FORBIDDEN`` otherwise.
        Raises ``Forbidden`` when the request's identity is not ``admin_id``."""
        return self.directory.open_city(self.identity.acting_as(admin_id), fields or {})

    @rpc
    def is_network_admin(self, member_id: str) -> bool:
        return self.directory.is_network_admin(member_id)

    @rpc
    def grant_network_admin(self, granter_id: str, member_id: str) -> dict[str, Any]:
        """``{errors}``; only a network admin may grant the role. Raises ``Forbidden`` when the
        request's identity is not ``granter_id``."""
        return self.directory.grant_network_admin(self.identity.acting_as(granter_id), member_id)

    @timer(interval=1)
    def refresh_cities(self) -> None:
        """Another members process opened a city: read the copy again (one lookup by _id)."""
        self.directory.refresh()

    @timer(interval=5)
    def adopt_nearby(self) -> None:
        """Once per database, after the service answers: the members of before the nearby tiles."""
        self.store.adopt_nearby()

    @timer(interval=3600)
    def purge_attempts(self) -> None:
        self.store.purge_attempts()

    @timer(interval=DUE_SWEEP_SECONDS)
    def expire_sessions(self) -> None:
        """Sessions whose last refresh token expired, and clients not signed in from for
        ``known_client_days``, go (``parentnet_kit.expiry``; asks the store nothing on a day
        with none due)."""
        self.store.expire_due()
