"""The conversations service's entrypoints: group discussions, ask nearby, messages.

The gateway authenticates callers and passes the member ids, and for ask nearby the caller's
city and coarse cell as the members service lets them out; who belongs to which group, who is
an admin and who blocked whom come from this service's own copies of members' events.

Who a request is for is the identity token the gateway signed (``self.identity``,
``parentnet_kit.identity``), not the member id argument: a method acting for a member refuses
any other. One that answers ``{..., errors}`` answers ``FORBIDDEN`` on that argument (nothing
is done); a read raises ``Forbidden`` (the gateway reports an authorization error). A read for
nobody (``viewer_id`` None) sees what anyone may see, token or not. Without a token, and while
none is required (``INTERNAL_IDENTITY_REQUIRED``), the argument is taken as before (N-1).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from nameko.rpc import RpcProxy
from nameko.timer import timer

from parentnet_kit.expiry import SWEEP_SECONDS as DUE_SWEEP_SECONDS
from parentnet_kit.fields import field_error
from parentnet_kit.i18n import t
from parentnet_kit.identity import BACKFILL, Forbidden
from parentnet_kit.member_facts import MemberFacts
from parentnet_kit.nameko_identity import Identity
from parentnet_kit.nameko_observe import Observed
from parentnet_kit.nameko_rpc import RequestId, once_id, rpc

from .dependencies import Conversations
from .feed import Copies
from .store import ConversationStore

SWEEP_SECONDS = float(os.environ.get("OUTBOX_SWEEP_SECONDS", "2"))
ANNOUNCE_SECONDS = float(os.environ.get("ANNOUNCE_SECONDS", "0.5"))
PAGE_MAX = 100


def _first(first: Any) -> int:
    return max(1, min(int(first or 20), PAGE_MAX))


def _position(after: Any) -> int | None:
    return int(after) if isinstance(after, int) and not isinstance(after, bool) and after >= 0 else None


class ConversationsService:
    name = "conversations"
    observed = Observed()

    store: ConversationStore = Conversations()
    copies = Copies()
    request_id = RequestId()
    identity = Identity()
    # Protected mode is members' to say (viewer_context), asked for a stranger's message only.
    members = RpcProxy("members")

    def _reader(self, viewer_id: str | None) -> str | None:
        """The member a read is for: ``viewer_id`` when the request may read as them (None: a
        read for nobody, always allowed). Raises ``Forbidden`` otherwise."""
        return None if viewer_id is None else self.identity.acting_as(viewer_id)

    def _refused(self, member_id: str, field: str, *keys: str) -> dict[str, Any] | None:
        """None when the request may act as ``member_id``; else the RPC's answer refusing it:
        ``{key: None for keys, errors: [FORBIDDEN on field]}``."""
        try:
            self.identity.acting_as(member_id)
        except Forbidden:
            return {**dict.fromkeys(keys), "errors": [field_error((field,), t("You may not do this."), "FORBIDDEN")]}
        return None

    @rpc
    def ping(self) -> str:
        return "pong"

    # -- group discussions -------------------------------------------------------------------
    @rpc
    def create_thread(self, group_id: str, author_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """``fields``: ``{title, body, kind: discussion|announcement|suggestion}``; ``{thread, errors}``."""
        if refused := self._refused(author_id, "author_id", "thread"):
            return refused
        return self.store.create_thread(
            group_id, author_id, fields or {}, once_id(self.request_id, "thread", author_id)
        )

    @rpc
    def get_threads(self, thread_ids: list[str], viewer_id: str | None = None) -> list[dict[str, Any] | None]:
        return self.store.get_threads(list(thread_ids or []), self._reader(viewer_id))

    @rpc
    def group_threads(
        self, group_id: str, viewer_id: str | None, first: int = 20, after: int | None = None
    ) -> dict[str, Any] | None:
        return self.store.group_threads_page(group_id, self._reader(viewer_id), _first(first), _position(after))

    @rpc
    def moderate_thread(
        self, thread_id: str, actor_id: str, pinned: bool | None = None, locked: bool | None = None
    ) -> dict[str, Any]:
        if refused := self._refused(actor_id, "actor_id", "thread"):
            return refused
        return self.store.moderate_thread(thread_id, actor_id, pinned, locked)

    @rpc
    def support_thread(self, thread_id: str, member_id: str) -> dict[str, Any]:
        if refused := self._refused(member_id, "member_id", "thread"):
            return refused
        return self.store.support(thread_id, member_id)

    @rpc
    def answer_suggestion(self, thread_id: str, admin_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        if refused := self._refused(admin_id, "admin_id", "thread"):
            return refused
        return self.store.answer_suggestion(thread_id, admin_id, fields or {})

    @rpc
    def reply(self, thread_id: str, author_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """``fields``: ``{text}``; ``{reply, errors}``."""
        if refused := self._refused(author_id, "author_id", "reply"):
            return refused
        return self.store.reply(thread_id, author_id, fields or {}, once_id(self.request_id, "reply", author_id))

    @rpc
    def replies(
        self, thread_id: str, viewer_id: str | None, first: int = 20, after: int | None = None
    ) -> dict[str, Any] | None:
        return self.store.replies_page(thread_id, self._reader(viewer_id), _first(first), _position(after))

    @rpc
    def get_replies(self, reply_ids: list[str], viewer_id: str | None = None) -> list[dict[str, Any] | None]:
        return self.store.get_replies(list(reply_ids or []), self._reader(viewer_id))

    # -- ask nearby --------------------------------------------------------------------------
    @rpc
    def ask(self, asker_id: str, fields: dict[str, Any], city: str, cell: dict[str, Any]) -> dict[str, Any]:
        """``fields``: ``{text, scope: city|nearby, radius_km}``; ``{question, errors}``."""
        if refused := self._refused(asker_id, "asker_id", "question"):
            return refused
        return self.store.ask(asker_id, fields or {}, city, cell, once_id(self.request_id, "question", asker_id))

    @rpc
    def get_questions(
        self, question_ids: list[str], viewer_id: str | None, city: str | None = None, cell: dict | None = None
    ) -> list[dict[str, Any] | None]:
        return self.store.get_questions(list(question_ids or []), self._reader(viewer_id), city, cell)

    @rpc
    def questions_nearby(
        self, viewer_id: str, city: str, cell: dict | None, first: int = 20, after: list[str] | None = None
    ) -> dict[str, Any]:
        return self.store.questions_nearby(self.identity.acting_as(viewer_id), city, cell, _first(first), after)

    @rpc
    def answer(
        self, question_id: str, author_id: str, fields: dict[str, Any], city: str | None, cell: dict | None
    ) -> dict[str, Any]:
        """``fields``: ``{text, points_to: {type, id}, contact: {...}}``; ``{answer, errors}``."""
        if refused := self._refused(author_id, "author_id", "answer"):
            return refused
        answer_id = once_id(self.request_id, "answer", author_id)
        return self.store.answer(question_id, author_id, fields or {}, answer_id, city, cell)

    @rpc
    def answers(
        self,
        question_id: str,
        viewer_id: str | None,
        city: str | None,
        cell: dict | None,
        first: int = 20,
        after: int | None = None,
    ) -> dict[str, Any] | None:
        return self.store.answers_page(
            question_id, self._reader(viewer_id), city, cell, _first(first), _position(after)
        )

    @rpc
    def get_answers(
        self, answer_ids: list[str], viewer_id: str | None, city: str | None = None, cell: dict | None = None
    ) -> list[dict[str, Any] | None]:
        return self.store.get_answers(list(answer_ids or []), self._reader(viewer_id), city, cell)

    @rpc
    def mark_helpful(self, answer_id: str, asker_id: str, helpful: bool = True) -> dict[str, Any]:
        if refused := self._refused(asker_id, "asker_id", "answer"):
            return refused
        return self.store.mark_helpful(answer_id, asker_id, helpful)

    @rpc
    def contact_card(self, answer_id: str, member_id: str) -> dict[str, Any]:
        if refused := self._refused(member_id, "member_id", "contact", "points_to"):
            return refused
        return self.store.contact_card(answer_id, member_id)

    @rpc
    def link_contact(self, answer_id: str, member_id: str, contact_id: str) -> dict[str, Any]:
        if refused := self._refused(member_id, "member_id", "answer"):
            return refused
        return self.store.link_contact(answer_id, member_id, contact_id)

    # -- messages ----------------------------------------------------------------------------
    @rpc
    def send_message(self, sender_id: str, fields: dict[str, Any], recipient_protected: bool = False) -> dict[str, Any]:
        """``fields``: ``{text, recipient_id, about: {type, id}}`` or ``{text, conversation_id}``;
        ``{message, conversation, errors}``."""
        if refused := self._refused(sender_id, "sender_id", "message", "conversation"):
            return refused
        message_id = once_id(self.request_id, "message", sender_id)
        claimed = bool(recipient_protected)  # the caller's word may only add protection

        def protected(recipient_id: str) -> bool:
            return claimed or MemberFacts(self.members).protected(recipient_id)

        return self.store.send_message(sender_id, fields or {}, message_id, protected)

    @rpc
    def get_conversations(self, conversation_ids: list[str], viewer_id: str) -> list[dict[str, Any] | None]:
        return self.store.get_conversations(list(conversation_ids or []), self.identity.acting_as(viewer_id))

    @rpc
    def conversations_of(
        self, viewer_id: str, requests: bool = False, first: int = 20, after: int | None = None
    ) -> dict[str, Any]:
        viewer_id = self.identity.acting_as(viewer_id)
        return self.store.conversations_of(viewer_id, bool(requests), _first(first), _position(after))

    @rpc
    def messages(
        self, conversation_id: str, viewer_id: str, first: int = 20, before: int | None = None
    ) -> dict[str, Any] | None:
        viewer_id = self.identity.acting_as(viewer_id)
        return self.store.messages_page(conversation_id, viewer_id, _first(first), _position(before))

    @rpc
    def get_messages(self, message_ids: list[str], viewer_id: str) -> list[dict[str, Any] | None]:
        return self.store.get_messages(list(message_ids or []), self.identity.acting_as(viewer_id))

    @rpc
    def decide_request(self, conversation_id: str, member_id: str, accept: bool) -> dict[str, Any]:
        if refused := self._refused(member_id, "member_id", "conversation"):
            return refused
        return self.store.decide_request(conversation_id, member_id, bool(accept))

    @rpc
    def set_participant(self, conversation_id: str, member_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """``changes``: any of ``{muted, left, receipts, read}`` (booleans)."""
        if refused := self._refused(member_id, "member_id", "conversation"):
            return refused
        return self.store.set_participant(conversation_id, member_id, changes or {})

    # -- moderation --------------------------------------------------------------------------
    @rpc
    def snapshot(self, subject_type: str, subject_id: str, reporter_id: str) -> dict[str, Any] | None:
        """Reported content for a moderator: ``{subject_type, subject_id, text, author_id,
        group_id, city, created_at}``, or None (unknown; a message its reporter is not in)."""
        return self.store.snapshot(subject_type, subject_id, self.identity.acting_as(reporter_id))

    # -- inbox -------------------------------------------------------------------------------
    @rpc
    def inbox(
        self, member_id: str, first: int = 20, before_at: str | None = None, before_id: str = ""
    ) -> dict[str, Any]:
        return self.store.inbox.page(self.identity.acting_as(member_id), _first(first), before_at, before_id)

    @rpc
    def mark_read(self, member_id: str, notification_ids: list[str]) -> int:
        return self.store.inbox.mark_read(self.identity.acting_as(member_id), notification_ids)

    @rpc
    def export_discussions(self, subject_type: str, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """A page of threads, replies or questions (``subject_type``) in id order, for the search
        backfill, as their last event carried them; never messages.
        Raises ``Forbidden`` unless the search backfill's operator token came
        (``parentnet_kit.identity.BACKFILL``; docs/operations.md)."""
        self.identity.operating(BACKFILL)
        return self.store.export_discussions(subject_type, after, max(1, min(int(size), 1_000)))

    @timer(interval=SWEEP_SECONDS)
    def sweep(self) -> None:
        self.store.relay_pending()

    @timer(interval=ANNOUNCE_SECONDS)
    def announce(self) -> None:
        """Tell the members of new announcements, a page at a time (``announcements.py``)."""
        self.store.announcements.run()

    @timer(interval=DUE_SWEEP_SECONDS)
    def expire_inbox(self) -> None:
        """Notifications past their retention go, with their index entries and counts
        (``parentnet_kit.inbox.Inbox.expire``; asks the store nothing on a day with none due)."""
        self.store.inbox.expire()

    @timer(interval=3600)
    def purge_limits(self) -> None:
        self.store.limiter.purge(datetime.now(UTC))
