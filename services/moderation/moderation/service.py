"""The moderation service's entrypoints: reports, queues, actions, the audit log, roles.

The gateway authenticates callers and passes their member id; whether one is a network admin
is asked of members (``members.is_network_admin``; the ``network_admin`` arguments older gateways
send are not believed), and group roles come from this service's own copy of members' events,
never from the caller. The member a method acts for or reads as must be the one the request's
identity token names (``self.identity``, a token the gateway signed: ``parentnet_kit.identity``):
anyone else is refused, ``FORBIDDEN`` in the answer's ``errors`` where it has them, else
``Forbidden`` raised (as the events service does). ``member_status`` (a member's record:
suspended, held, warnings) answers only about the member a genuine token names (also relayed
by the service she called: ``Viewer.reading_about``); ``ping`` takes no identity.
"""

from __future__ import annotations

import os
from typing import Any

from nameko.rpc import RpcProxy
from nameko.timer import timer

from parentnet_kit.event_feed import EventFeed
from parentnet_kit.expiry import SWEEP_SECONDS as DUE_SWEEP_SECONDS
from parentnet_kit.fields import field_error
from parentnet_kit.i18n import t
from parentnet_kit.identity import OTHER, Forbidden
from parentnet_kit.nameko_identity import Identity
from parentnet_kit.nameko_observe import Observed
from parentnet_kit.nameko_rpc import RequestId, once_id, rpc

from . import domain
from .dependencies import Moderation, RolesCopy
from .store import ModerationStore

SWEEP_SECONDS = float(os.environ.get("OUTBOX_SWEEP_SECONDS", "2"))
PAGE_MAX = 100


def _first(first: Any) -> int:
    return max(1, min(int(first or 20), PAGE_MAX))


def _after(after: Any) -> int | None:
    """A page's cursor: the ``position`` of the last item of the previous page."""
    return int(after) if isinstance(after, int) and not isinstance(after, bool) and after > 0 else None


def _forbidden(field: str = "group_id") -> dict[str, Any]:
    return field_error((field,), t("Only this queue's moderators can do this."), "FORBIDDEN")


def _not_you(field: str) -> dict[str, Any]:
    """The error of a method answering ``{errors}`` when the request's identity is not the member
    it would act for (``Forbidden`` from ``Viewer.acting_as``)."""
    return field_error((field,), t("You may not do this."), "FORBIDDEN")


class ModerationService:
    name = "moderation"
    # Request ids, a log line and metrics per RPC, /metrics /alive /ready (METRICS_PORT).
    observed = Observed()

    store: ModerationStore = Moderation()
    # Group roles, from members' events (queue moderation.members).
    roles_feed = EventFeed("moderation.members", RolesCopy)
    request_id = RequestId()
    # Who the request is for, verified (``Viewer.acting_as`` refuses anyone else).
    identity = Identity()
    # Network admins are members' to say (members.is_network_admin), never the caller's.
    members = RpcProxy("members")

    @rpc
    def ping(self) -> str:
        return "pong"

    def _network(self, member_id: str, network_admin: bool = False) -> bool:
        """A network moderator (this service's own grants) or a network admin (asked of
        members). ``network_admin``, a caller's word, is not believed (kept for N-1 callers)."""
        return self.store.is_network_moderator(member_id) or self._network_admin(member_id)

    def _network_admin(self, member_id: str) -> bool:
        return bool(member_id) and bool(self.members.is_network_admin(member_id))

    def _may_read(self, member_id: str, group_id: str | None, network_admin: bool, roles: tuple[str, ...]) -> bool:
        if self._network(member_id, network_admin):
            return True
        return group_id is not None and self.store.roles.role(group_id, member_id) in roles

    @rpc
    def report(
        self, reporter_id: str, fields: dict[str, Any], snapshot: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """File a report on ``fields`` ``{subject_type, subject_id, reason, note}``; ``snapshot``
        ``{title, text, author_id, group_id, city}`` is what the gateway read of the subject for the
        reporter (None: not found). ``{report, errors}`` (``RATE_LIMITED``, ``NOT_FOUND``, ...;
        ``FORBIDDEN`` on ``reporter_id`` when the request's identity is another member)."""
        try:
            reporter_id = self.identity.acting_as(reporter_id)
        except Forbidden:
            return {"report": None, "errors": [_not_you("reporter_id")]}
        report_id = once_id(self.request_id, "report", reporter_id)
        return self.store.report(reporter_id, fields or {}, snapshot, report_id)

    @rpc
    def queue(
        self,
        member_id: str,
        group_id: str | None = None,
        first: int = 20,
        after: int | None = None,
        network_admin: bool = False,
    ) -> dict[str, Any]:
        """Open reports, newest first, after the one whose ``position`` is ``after``: a group's (its
        admins and moderators, network moderators) or, without ``group_id``, the network's
        (network moderators). ``{reports, has_next_page, total, allowed}``: nothing at all (total
        0) for anyone else. Raises ``Forbidden`` when the request's identity is another member."""
        member_id = self.identity.acting_as(member_id)
        if not self._may_read(member_id, group_id, network_admin, domain.GROUP_QUEUE_ROLES):
            return {"reports": [], "has_next_page": False, "total": 0, "allowed": False}
        page = self.store.queue(domain.queue_key(group_id), _first(first), _after(after))
        return {**page, "allowed": True}

    @rpc
    def audit_log(
        self,
        member_id: str,
        group_id: str | None = None,
        first: int = 20,
        after: int | None = None,
        network_admin: bool = False,
    ) -> dict[str, Any]:
        """Actions newest first: every action (network moderators), or a group's (also its admins).
        ``{actions, has_next_page, allowed}``. Raises ``Forbidden`` when the request's identity is
        another member."""
        member_id = self.identity.acting_as(member_id)
        if not self._may_read(member_id, group_id, network_admin, ("admin",)):
            return {"actions": [], "has_next_page": False, "total": 0, "allowed": False}
        key = f"group:{group_id}" if group_id else domain.NETWORK
        return {**self.store.audit_log(key, _first(first), _after(after)), "allowed": True}

    @rpc
    def act(self, actor_id: str, fields: dict[str, Any], network_admin: bool = False) -> dict[str, Any]:
        """Act on a report (``report_id``) or directly on a subject (``subject_type``,
        ``subject_id``: restoring what was hidden) or a member (``member_id``: unsuspend,
        release, warn or suspend without a report). ``fields``: ``{action, reason, until,
        report_id | subject_id (+ subject_type) | member_id}``. ``{action, errors}``:
        ``FORBIDDEN`` for anyone who may not (on ``actor_id`` when the request's identity is
        another member), ``NOT_FOUND``, field errors."""
        try:
            actor_id = self.identity.acting_as(actor_id)
        except Forbidden:
            return {"action": None, "errors": [_not_you("actor_id")]}
        fields = fields or {}
        clean, errors = domain.validate_action(fields, domain.now_utc())
        if errors:
            return {"action": None, "errors": [e.to_dict() for e in errors]}
        target = self._target(fields)
        if target is None:
            return {"action": None, "errors": [field_error(("report_id",), t("Nothing to act on there."), "NOT_FOUND")]}
        network = self._network(actor_id, network_admin)
        role = self.store.roles.role(target.get("group_id"), actor_id)
        if not domain.may_act(clean["action"], target["queue"], network, role):
            return {"action": None, "errors": [_forbidden("action")]}
        action_id = once_id(self.request_id, "action", actor_id)
        return self.store.act(actor_id, target, clean, action_id)

    def _target(self, fields: dict[str, Any]) -> dict[str, Any] | None:
        if fields.get("report_id"):
            report = self.store.report_of(str(fields["report_id"]))
            if report is None:
                return None
            snapshot = report["snapshot"]
            return {
                "queue": report["queue"],
                "group_id": snapshot.get("group_id"),
                "subject_type": report["subject_type"],
                "subject_id": report["subject_id"],
                "member_id": snapshot.get("author_id"),
                "author_id": snapshot.get("author_id"),
                "report_id": report["_id"],
                "city": snapshot.get("city"),
            }
        if fields.get("subject_id"):
            state = self.store.subject_state(str(fields["subject_id"]))
            if state is None:
                return None  # only what was acted on before can be named without a report
            return {
                "queue": domain.queue_key(state.get("group_id")),
                "group_id": state.get("group_id"),
                "subject_type": state["subject_type"],
                "subject_id": state["_id"],
                "member_id": state.get("author_id"),
                "author_id": state.get("author_id"),
                "city": state.get("city"),
            }
        if fields.get("member_id"):
            return {"queue": domain.NETWORK, "member_id": str(fields["member_id"])}
        return None

    @rpc
    def member_status(self, member_ids: list[str]) -> list[dict[str, Any]]:
        """Each member's ``{member_id, suspended_until, held, warnings}`` (nothing known: not
        suspended, not held). Her own record only: raises ``Forbidden`` when an id is not the
        member a genuine token names (or no token came while one is required)."""
        out = []
        for member_id in member_ids:
            if self.identity.reading_about(member_id) == OTHER:
                raise Forbidden("the identity token names another member than the one asked about")
            state = self.store.member_state(member_id) or {}
            until = state.get("suspended_until")
            out.append(
                {
                    "member_id": member_id,
                    "suspended_until": domain.iso(until),
                    "held": bool(state.get("held")),
                    "warnings": int(state.get("warnings", 0)),
                }
            )
        return out

    @rpc
    def is_network_moderator(self, member_id: str, network_admin: bool = False) -> bool:
        """Whether ``member_id`` moderates the network. Raises ``Forbidden`` when the request's
        identity is another member."""
        member_id = self.identity.acting_as(member_id)
        return self._network(member_id, network_admin)

    @rpc
    def grant_moderator(self, granter_id: str, member_id: str, network_admin: bool = False) -> dict[str, Any]:
        """A network admin makes ``member_id`` a network moderator: ``{granted, errors}``
        (``FORBIDDEN`` unless a network admin, or on ``granter_id`` when the request's identity is
        another member)."""
        try:
            granter_id = self.identity.acting_as(granter_id)
        except Forbidden:
            return {"granted": False, "errors": [_not_you("granter_id")]}
        if not self._network_admin(granter_id):
            return {
                "granted": False,
                "errors": [field_error(("member_id",), t("Only network admins can."), "FORBIDDEN")],
            }
        return {"granted": self.store.grant_moderator(member_id, granter_id), "errors": []}

    @rpc
    def inbox(
        self, member_id: str, first: int = 20, before_at: str | None = None, before_id: str = ""
    ) -> dict[str, Any]:
        """The member's notifications, newest first. Raises ``Forbidden`` when the request's
        identity is another member."""
        member_id = self.identity.acting_as(member_id)
        return self.store.inbox.page(member_id, _first(first), before_at, before_id)

    @rpc
    def mark_read(self, member_id: str, notification_ids: list[str]) -> int:
        """Marks the member's notifications read: how many were unread. Raises ``Forbidden`` when
        the request's identity is another member."""
        return self.store.inbox.mark_read(self.identity.acting_as(member_id), notification_ids)

    @timer(interval=DUE_SWEEP_SECONDS)
    def expire_inbox(self) -> None:
        """Notifications past their retention go, with their index entries and counts
        (``parentnet_kit.inbox.Inbox.expire``; asks the store nothing on a day with none due)."""
        self.store.inbox.expire()

    @timer(interval=SWEEP_SECONDS)
    def sweep(self) -> None:
        self.store.relay_pending()
