"""The moderation service's storage: reports, moderation states of subjects and members, the
audit log, roles, and the reporters' inbox. Every hot read is by ``_id`` (docs/store.md).

- ``reports`` (+ ``reports_outbox``): one aggregate per report, ``report_filed`` /
  ``report_resolved``; ``sequences`` keys ``queue:<queue>`` (the queue, newest last),
  ``resolved:<queue>`` (one entry per report closed: open = filed - resolved, two head reads) and
  ``subject:<subject id>`` (the reports on one subject) name them.
- ``subjects`` (+ outbox): a subject's moderation state (``visible``, ``hidden``, ``removed``),
  ``_id`` = the subject's id, so its events' aggregate id is the subject's:
  ``content_hidden``, ``content_removed``, ``content_restored``.
- ``member_states`` (+ outbox): ``_id`` = member id: suspension, hold; ``member_warned``,
  ``member_suspended``, ``member_unsuspended``, ``member_held``, ``member_released``.
- ``actions``: one document per action, inserted once (its id is the request's), the audit log;
  ``sequences`` keys ``audit:network`` (every action) and ``audit:group:<id>`` name them.
- ``report_slots``: ``<reporter>:<UTC hour>:<k>``, k up to the hourly limit: a report takes the
  first free slot by a unique insert, so racing reports cannot overrun the limit.
- ``reporters``: ``<author>:<reporter>``, inserted once per distinct reporter of a member; the
  sequence ``reporters:<author>`` counts them, and the ``hold_after``-th holds the member.
- ``network_moderators``: ``_id`` = member id; ``group_roles``: the copy of members' group roles.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from parentnet_kit.envelope import Event
from parentnet_kit.fields import field_error
from parentnet_kit.i18n import Message, t, tn
from parentnet_kit.inbox import Inbox
from parentnet_kit.lookups import by_ids
from parentnet_kit.outbox import AggregateStore, ConcurrencyConflict, retry_on_conflict
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.sequences import Sequences

from . import domain
from .group_roles import GroupRoles

log = logging.getLogger(__name__)
SOURCE = "moderation"
REPORTS_PER_HOUR = 10
HOLD_AFTER = 3
ATTEMPTS = 8


class ModerationStore:
    def __init__(
        self,
        db: Database,
        publisher: EventPublisher | None,
        reports_per_hour: int = REPORTS_PER_HOUR,
        hold_after: int = HOLD_AFTER,
    ) -> None:
        self.reports = AggregateStore(db, "reports", publisher, outbox="reports_outbox")
        self.subjects = AggregateStore(db, "subjects", publisher, outbox="subjects_outbox")
        self.members = AggregateStore(db, "member_states", publisher, outbox="member_states_outbox")
        self.inbox = Inbox(AggregateStore(db, "inbox", publisher, outbox="inbox_outbox"), SOURCE)
        self.actions = db["actions"]
        self.sequences = Sequences(db["sequences"])
        self.slots = db["report_slots"]
        self.reporters = db["reporters"]
        self.moderators = db["network_moderators"]
        self.roles = GroupRoles(db)
        self.reports_per_hour = reports_per_hour
        self.hold_after = hold_after

    def ensure_indexes(self) -> None:
        """Nothing but ``_id``: see the module's docstring."""
        self.inbox.ensure_indexes()

    def relay_pending(self) -> int:
        stores = (self.reports, self.subjects, self.members, self.inbox.store)
        return sum(store.relay_pending() for store in stores)

    # -- roles ---------------------------------------------------------------------------
    def is_network_moderator(self, member_id: str | None) -> bool:
        return bool(member_id) and self.moderators.find_one({"_id": member_id}, {"_id": 1}) is not None

    def grant_moderator(self, member_id: str, granted_by: str) -> bool:
        """Make ``member_id`` a network moderator; False when they were one already."""
        try:
            self.moderators.insert_one({"_id": member_id, "granted_by": granted_by, "at": domain.now_utc()})
        except DuplicateKeyError:
            return False
        return True

    def revoke_moderator(self, member_id: str) -> bool:
        return self.moderators.delete_one({"_id": member_id}).deleted_count == 1

    # -- reporting -----------------------------------------------------------------------
    def _take_slot(self, reporter_id: str, now: datetime) -> bool:
        hour = now.strftime("%Y%m%d%H")
        for k in range(1, self.reports_per_hour + 1):
            try:
                self.slots.insert_one({"_id": f"{reporter_id}:{hour}:{k}", "at": now})
                return True
            except DuplicateKeyError:
                continue
        return False

    def report(
        self, reporter_id: str, raw: dict[str, Any], snapshot: dict[str, Any] | None, report_id: str
    ) -> dict[str, Any]:
        """File a report: ``{report, errors}``. ``snapshot`` is what the gateway read of the subject
        for the reporter (None: no such subject, or not one they may see: ``NOT_FOUND``). At most
        ``reports_per_hour`` reports per member per clock hour (``RATE_LIMITED``)."""
        if (filed := self.reports.get(report_id)) is not None:
            return {"report": domain.report_view(filed), "errors": []}
        clean, errors = domain.validate_report(raw)
        if errors:
            return {"report": None, "errors": [e.to_dict() for e in errors]}
        if snapshot is None:
            return {
                "report": None,
                "errors": [field_error(("subject_id",), t("Nothing to report there."), "NOT_FOUND")],
            }
        kept = domain.clean_snapshot(snapshot)
        if clean["subject_type"] == "member":
            kept["author_id"] = clean["subject_id"]
        if kept["author_id"] == reporter_id:
            message = t("You cannot report yourself or what you wrote.")
            return {"report": None, "errors": [field_error(("subject_id",), message, "FORBIDDEN")]}
        now = domain.now_utc()
        if not self._take_slot(reporter_id, now):
            message = tn(
                "You can send {count} report an hour; try again later.",
                "You can send {count} reports an hour; try again later.",
                self.reports_per_hour,
            )
            return {"report": None, "errors": [field_error(("subject_id",), message, "RATE_LIMITED")]}
        queue = domain.queue_key(kept["group_id"])
        state = {
            "_id": report_id,
            "version": 1,
            "reporter_id": reporter_id,
            **clean,
            "snapshot": kept,
            "queue": queue,
            "status": "open",
            "outcome": None,
            "created_at": now,
        }
        # Indexed first: an entry whose report never came (a crash between) is skipped on reading.
        self.sequences.append(f"queue:{queue}", {"report_id": report_id})
        self.sequences.append(f"subject:{clean['subject_id']}", {"report_id": report_id})
        data = {"report_id": report_id, "subject_type": clean["subject_type"], "subject_id": clean["subject_id"]}
        try:
            self.reports.commit(state, Event("report_filed", SOURCE, report_id, 1, kept["city"], data))
        except ConcurrencyConflict:
            state = self.reports.get(report_id) or state
            return {"report": domain.report_view(state), "errors": []}
        if kept["author_id"]:
            self._count_reporter(kept["author_id"], reporter_id, kept["city"])
        return {"report": domain.report_view(state), "errors": []}

    def _count_reporter(self, author_id: str, reporter_id: str, city: str | None) -> None:
        """One more distinct member reported ``author_id``: at ``hold_after`` of them, the author is
        held for review (``member_held``) until a network moderator releases them."""
        try:
            self.reporters.insert_one({"_id": f"{author_id}:{reporter_id}", "at": domain.now_utc()})
        except DuplicateKeyError:
            return  # this reporter counted already
        count = self.sequences.append(f"reporters:{author_id}", {"reporter_id": reporter_id})
        if count < self.hold_after:
            return

        def hold() -> dict[str, Any] | None:
            current = self.members.get(author_id)
            if current is not None and current.get("held"):
                return None
            state = self._member_state(author_id, current)
            state["held"] = True
            self.members.commit(state, self._member_event("member_held", state, city, {"member_id": author_id}))
            return state

        held = retry_on_conflict(ATTEMPTS, hold)
        if held is not None:
            self._file_hold(author_id, count, held["version"], city)

    def _file_hold(self, member_id: str, reporters: int, version: int, city: str | None) -> None:
        """Put the held member in the network's queue, as a report filed by the network itself:
        a network moderator releases them (``release``) or acts on their account."""
        report_id = f"hold:{member_id}:{version}"
        now = domain.now_utc()
        text = f"Reported by {reporters} different members: held for review."
        snapshot = {"title": "", "text": text, "author_id": member_id, "group_id": None, "city": city}
        state = {
            "_id": report_id,
            "version": 1,
            "reporter_id": domain.SYSTEM,
            "subject_type": "member",
            "subject_id": member_id,
            "reason": domain.HELD,
            "note": "",
            "snapshot": snapshot,
            "queue": domain.NETWORK,
            "status": "open",
            "outcome": None,
            "created_at": now,
        }
        self.sequences.append(f"queue:{domain.NETWORK}", {"report_id": report_id})
        self.sequences.append(f"subject:{member_id}", {"report_id": report_id})
        data = {"report_id": report_id, "subject_type": "member", "subject_id": member_id}
        with contextlib.suppress(ConcurrencyConflict):
            self.reports.commit(state, Event("report_filed", SOURCE, report_id, 1, city, data))

    # -- queues and the audit log --------------------------------------------------------
    def _page(self, key: str, id_field: str, collection: Any, keep: Any, first: int, after: int | None) -> tuple:
        """Items named by sequence ``key`` from entry ``after - 1`` (None: the newest) down, those
        ``keep`` accepts: ``([(n, doc)], has_next_page)``. A cursor is an entry's n, so a page
        reads from where the last one stopped, by ``_id`` only."""
        picked: list[tuple[int, dict[str, Any]]] = []
        top = None if after is None else after - 1
        if top is not None and top < 1:
            return [], False
        batch: list[dict[str, Any]] = []

        def flush() -> bool:
            found = by_ids(collection, [e[id_field] for e in batch])
            for entry in batch:
                doc = found.get(entry[id_field])
                if doc is not None and keep(doc):
                    picked.append((entry["n"], doc))
                    if len(picked) > first:
                        return True
            batch.clear()
            return False

        for entry in self.sequences.newest_first(key, top):
            batch.append(entry)
            if len(batch) >= 16 and flush():
                break
        else:
            flush()
        return picked[:first], len(picked) > first

    def queue(self, queue: str, first: int, after: int | None = None) -> dict[str, Any]:
        """Open reports of ``queue`` (``network`` or ``group:<id>``), newest first."""
        docs, more = self._page(
            f"queue:{queue}", "report_id", self.reports.aggregates, lambda d: d["status"] == "open", first, after
        )
        total = max(0, self.sequences.head(f"queue:{queue}") - self.sequences.head(f"resolved:{queue}"))
        reports = [{**domain.report_view(d), "position": n} for n, d in docs]
        return {"reports": reports, "has_next_page": more, "total": total}

    def audit_log(self, key: str, first: int, after: int | None = None) -> dict[str, Any]:
        """Actions recorded under ``audit:<key>`` (``network`` or ``group:<id>``), newest first."""
        docs, more = self._page(f"audit:{key}", "action_id", self.actions, lambda d: True, first, after)
        total = self.sequences.head(f"audit:{key}")
        actions = [{**domain.action_view(d), "position": n} for n, d in docs]
        return {"actions": actions, "has_next_page": more, "total": total}

    def report_of(self, report_id: str) -> dict[str, Any] | None:
        return self.reports.get(report_id)

    def subject_state(self, subject_id: str) -> dict[str, Any] | None:
        return self.subjects.get(subject_id)

    def member_state(self, member_id: str) -> dict[str, Any] | None:
        return self.members.get(member_id)

    # -- acting --------------------------------------------------------------------------
    def act(
        self,
        actor_id: str,
        target: dict[str, Any],
        clean: dict[str, Any],
        action_id: str,
    ) -> dict[str, Any]:
        """Carry out an action the caller has authorised. ``target``: ``{queue, group_id,
        subject_type, subject_id, member_id, report_id, city}``. Returns ``{action, errors}``;
        the same ``action_id`` twice does it once."""
        done = self.actions.find_one({"_id": action_id})
        if done is not None:
            return {"action": domain.action_view(done), "errors": []}
        action, now = clean["action"], domain.now_utc()
        if action in domain.MEMBER_ACTIONS and not target.get("member_id"):
            return {"action": None, "errors": [field_error(("action",), t("No member to act on."), "INVALID")]}
        if action in ("hide", "remove", "restore") and target.get("subject_type") not in domain.CONTENT_TYPES:
            return {"action": None, "errors": [field_error(("action",), t("Only content is hidden."), "INVALID")]}
        record = {
            "_id": action_id,
            "action": action,
            "actor_id": actor_id,
            "subject_type": target.get("subject_type"),
            "subject_id": target.get("subject_id"),
            "member_id": target.get("member_id") if action in domain.MEMBER_ACTIONS else None,
            "report_id": target.get("report_id"),
            "group_id": target.get("group_id"),
            "reason": clean["reason"],
            "until": clean.get("until"),
            "at": now,
        }
        # The audit entries first: an entry whose action never came is skipped on reading.
        self.sequences.append("audit:network", {"action_id": action_id})
        if target.get("group_id"):
            self.sequences.append(f"audit:group:{target['group_id']}", {"action_id": action_id})
        try:
            self.actions.insert_one(record)
        except DuplicateKeyError:
            return {"action": domain.action_view(self.actions.find_one({"_id": action_id})), "errors": []}
        if action in domain.CONTENT_EVENTS:
            retry_on_conflict(ATTEMPTS, lambda: self._content(target, action, action_id))
        elif action in domain.MEMBER_EVENTS:
            retry_on_conflict(ATTEMPTS, lambda: self._member(target, clean, action_id))
        self._resolve_reports(target, action, action_id)
        return {"action": domain.action_view(record), "errors": []}

    def _content(self, target: dict[str, Any], action: str, action_id: str) -> None:
        subject_id = target["subject_id"]
        current = self.subjects.get(subject_id)
        state = {
            "_id": subject_id,
            "version": 1 if current is None else current["version"] + 1,
            "subject_type": target["subject_type"],
            "group_id": target.get("group_id"),
            "author_id": target.get("author_id"),
            "city": target.get("city"),
            "state": domain.CONTENT_STATES[action],
            "action_id": action_id,
            "updated_at": domain.now_utc(),
        }
        data = {"subject_type": target["subject_type"], "subject_id": subject_id, "action_id": action_id}
        event = Event(domain.CONTENT_EVENTS[action], SOURCE, subject_id, state["version"], target.get("city"), data)
        self.subjects.commit(state, event)

    def _member_state(self, member_id: str, current: dict[str, Any] | None) -> dict[str, Any]:
        base = current or {"_id": member_id, "version": 0, "suspended_until": None, "held": False, "warnings": 0}
        return {**base, "version": base["version"] + 1, "updated_at": domain.now_utc()}

    def _member_event(self, type_: str, state: dict[str, Any], city: str | None, data: dict[str, Any]) -> Event:
        return Event(type_, SOURCE, state["_id"], state["version"], city, data)

    def _member(self, target: dict[str, Any], clean: dict[str, Any], action_id: str) -> None:
        member_id, action = target["member_id"], clean["action"]
        state = self._member_state(member_id, self.members.get(member_id))
        data: dict[str, Any] = {"member_id": member_id, "action_id": action_id}
        if action == "warn":
            state["warnings"] = state.get("warnings", 0) + 1
        elif action == "suspend":
            state["suspended_until"] = clean["until"].astimezone(UTC)
            data["until"] = domain.iso(state["suspended_until"])
        elif action == "unsuspend":
            state["suspended_until"] = None
        elif action == "release":
            state["held"] = False
        event = self._member_event(domain.MEMBER_EVENTS[action], state, target.get("city"), data)
        self.members.commit(state, event)
        told: Message | None = None
        if action == "warn":
            told = t("A moderator warned you: {reason}", reason=clean["reason"])
        elif action == "suspend":
            until = state["suspended_until"]
            told = t("A moderator suspended your account until {until}: {reason}", until=until, reason=clean["reason"])
        elif action == "unsuspend":
            told = t("A moderator lifted the suspension of your account.")
        if told is not None:
            self.inbox.notify(member_id, f"action:{action_id}", f"moderation_{action}", told, {}, None)

    def _resolve_reports(self, target: dict[str, Any], action: str, action_id: str) -> None:
        """Close the open reports the action answers (the one acted on, and for content every open
        report on the subject) and tell each reporter the outcome, once."""
        report_ids = [target["report_id"]] if target.get("report_id") else []
        if target.get("subject_id") and action in ("hide", "remove", "dismiss"):
            report_ids += [e["report_id"] for e in self.sequences.all(f"subject:{target['subject_id']}")]
        if target.get("member_id") and action == "release":  # the hold's own report, among others
            report_ids += [e["report_id"] for e in self.sequences.all(f"subject:{target['member_id']}")]
        outcome = domain.OUTCOMES.get(action)
        if outcome is None:
            return
        for report_id in dict.fromkeys(report_ids):

            def resolve(report_id: str = report_id) -> dict[str, Any] | None:
                current = self.reports.get(report_id)
                if current is None or current["status"] != "open":
                    return None
                state = {**current, "version": current["version"] + 1, "status": "resolved", "outcome": action}
                data = {"report_id": report_id, "outcome": action, "action_id": action_id}
                event = Event("report_resolved", SOURCE, report_id, state["version"], state["snapshot"]["city"], data)
                self.reports.commit(state, event)
                return state

            state = retry_on_conflict(ATTEMPTS, resolve)
            if state is None:
                continue
            # Once per report (only the commit that closed it gets here): open = filed - resolved.
            self.sequences.append(f"resolved:{state['queue']}", {"report_id": report_id})
            if state["reporter_id"] != domain.SYSTEM:
                subject = {"type": state["subject_type"].capitalize(), "id": state["subject_id"]}
                self.inbox.notify(
                    state["reporter_id"], f"report:{report_id}:outcome", "report_resolved", outcome, subject, None
                )
