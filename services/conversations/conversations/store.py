"""The conversations service's storage and the rules that need it: group discussions, ask
nearby, messages. Correct on FerretDB and MongoDB alike (docs/store.md):

- every list that grows (a group's threads, a thread's replies, a question's answers, a
  conversation's messages, a member's conversations, the questions of a city or a tile) is a
  per-key sequence (``kit.sequences``) of entries appended *before* the commit of what they
  point at; the item stores its entry's number (``slot``), so an entry counts iff its item
  exists with that slot (a crash's leftover or a redelivery's second entry counts for nothing);
- what can race is a unique insert (an entry, a support, a participant) or an outbox insert of
  the next version (``retry_on_conflict``); counts are derived, never ``$inc``ed;
- every read is by ``_id``.

Messages are never published with their text (the bus feeds search), never logged.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from parentnet_kit.clock import aware
from parentnet_kit.envelope import Event
from parentnet_kit.fields import FieldError
from parentnet_kit.fields import field_error as error
from parentnet_kit.i18n import t
from parentnet_kit.inbox import Inbox
from parentnet_kit.lookups import by_ids
from parentnet_kit.outbox import AggregateStore, ConcurrencyConflict, retry_on_conflict
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.sequences import Sequences

from . import domain
from .announcements import Announcements
from .copies import Copies
from .limits import Limits, RateLimiter

SOURCE = "conversations"
ATTEMPTS, BACKOFF = 30, 0.01
ADMIN_ROLES = ("admin", "moderator")
HIDDEN = ("hidden", "removed")
# Questions are for the moment: older ones are no longer shown nor read (the lists stay bounded).
QUESTION_DAYS = 30
OWNED_REMEMBERED = 200_000

Result = dict[str, Any]


def _errors(errors: list[FieldError]) -> list[dict[str, Any]]:
    return [e.to_dict() for e in errors]


def _visible(state: dict[str, Any] | None) -> bool:
    return state is not None and (state.get("moderation") or {}).get("status") not in HIDDEN


def _shown_to(state: dict[str, Any] | None, viewer_id: str | None) -> bool:
    """Visible, and not kept from this viewer: an answer written by a member the asker had
    blocked is stored (its author sees it as any answer) but never shown to the asker
    (``kept_from``), so the blocked member cannot tell from the answers they get."""
    return _visible(state) and (viewer_id is None or state.get("kept_from") != viewer_id)  # type: ignore[union-attr]


class ConversationStore:
    def __init__(self, db: Database, publisher: EventPublisher | None, limits: Limits | None = None) -> None:
        self.db = db
        self.threads = AggregateStore(db, "threads", publisher, outbox="threads_outbox")
        self.replies = AggregateStore(db, "replies", publisher, outbox="replies_outbox")
        self.questions = AggregateStore(db, "questions", publisher, outbox="questions_outbox")
        self.answers = AggregateStore(db, "answers", publisher, outbox="answers_outbox")
        self.conversations = AggregateStore(db, "conversations", publisher, outbox="conversations_outbox")
        self.messages = AggregateStore(db, "messages", publisher, outbox="messages_outbox")
        self.inbox = Inbox(AggregateStore(db, "inbox", publisher, outbox="inbox_outbox"), SOURCE)
        self.copies = Copies(db)
        self.announcements = Announcements(db, self.copies, self.inbox, lambda i: self.threads.get(i) is not None)
        self.limiter = RateLimiter(db, limits or Limits())
        # Entries are insert-only: a process keeps what it read of the busiest keys (kit.sequences).
        self.group_threads = Sequences(db["group_threads"], cache_keys=2_000)
        self.group_pins = Sequences(db["group_pins"])
        self.thread_replies = Sequences(db["thread_replies"], cache_keys=10_000)
        self.thread_supports = Sequences(db["thread_supports"], cache_keys=10_000)
        # What moderation ever hid under a parent (a thread's replies, a group's threads, a
        # question's answers): counts subtract what of it is hidden now, a read per decision.
        self.moderated = Sequences(db["moderated"], cache_keys=10_000)
        # Entry id -> whether its item exists with that slot. Once true, true for ever (items are
        # never deleted and their slot never changes); an entry whose item is missing is asked again.
        self._owned_entries: OrderedDict[str, bool] = OrderedDict()
        self.supports = db["supports"]
        self.area_questions = Sequences(db["area_questions"])
        self.question_answers = Sequences(db["question_answers"], cache_keys=10_000)
        self.member_conversations = Sequences(db["member_conversations"])
        self.conversation_messages = Sequences(db["conversation_messages"])
        self.held_messages = Sequences(db["held_messages"])
        self.participants = db["participants"]
        self.wrote = db["wrote"]

    def ensure_indexes(self) -> None:
        """No secondary index: every read is by ``_id``."""
        for store in (self.threads, self.replies, self.questions, self.answers, self.conversations, self.messages):
            store.ensure_indexes()
        self.inbox.ensure_indexes()

    def relay_pending(self) -> None:
        for store in (
            self.threads,
            self.replies,
            self.questions,
            self.answers,
            self.conversations,
            self.messages,
            self.inbox.store,
        ):
            store.relay_pending()

    def _event(self, type_: str, state: dict[str, Any], city: str | None, data: dict[str, Any]) -> Event:
        return Event(type_, SOURCE, state["_id"], state["version"], city, data)

    def _gate(self, member_id: str, kind: str, field: tuple[str, ...], now: datetime) -> list[dict[str, Any]]:
        """A suspended member or one past the hour's limit is refused on ``field``."""
        until = self.copies.suspended_until(member_id, now)
        if until is not None:
            message = t("Your account is suspended until {until}.", until=until)
            return [error(field, message, "SUSPENDED")]
        if kind and not self.limiter.allow(kind, member_id, now):
            return [error(field, t("You have posted a lot in the last hour; try again later."), "RATE_LIMITED")]
        return []

    def _owned(self, store: AggregateStore, entries: list[dict[str, Any]], id_field: str) -> list[dict[str, Any]]:
        """The items these sequence entries point at, in order: only those that exist with that
        entry's number as their slot, and are not hidden by moderation."""
        found = by_ids(store.aggregates, [e[id_field] for e in entries])
        items = []
        for entry in entries:
            doc = found.get(entry[id_field])
            if doc is not None and doc.get("slot") == entry["n"] and _visible(doc):
                items.append(doc)
        return items

    def _page_up(
        self,
        seq: Sequences,
        key: str,
        store: AggregateStore,
        id_field: str,
        after: int,
        first: int,
        keep: Callable[[dict[str, Any]], bool] = lambda _: True,
    ) -> tuple[list[dict[str, Any]], bool]:
        """Items after entry ``after``, oldest first: ``first`` of them and whether more follow."""
        head = seq.head(key)
        picked: list[dict[str, Any]] = []
        n = after + 1
        while n <= head and len(picked) <= first:
            batch = seq.range(key, n, min(head + 1, n + first + 1))
            picked += [d for d in self._owned(store, batch, id_field) if keep(d)]
            n += first + 1
        return picked[:first], len(picked) > first

    def _count(
        self, seq: Sequences, key: str, store: AggregateStore, id_field: str, viewer_id: str | None = None
    ) -> int:
        """Items shown under ``key``: entries whose item exists with their slot (remembered per
        process once seen), less those moderation hides now and those kept from ``viewer_id``
        (``_shown_to``). Reads only what is new since the last count, and the items moderation
        (or a block) ever touched under ``key``."""
        entries = seq.all(key)
        unknown = [e for e in entries if e["_id"] not in self._owned_entries]
        found = by_ids(store.aggregates, [e[id_field] for e in unknown])
        for entry in unknown:
            doc = found.get(entry[id_field])
            if doc is not None:
                self._owned_entries[entry["_id"]] = doc.get("slot") == entry["n"]
                while len(self._owned_entries) > OWNED_REMEMBERED:
                    self._owned_entries.popitem(last=False)
        ids = {e[id_field] for e in entries if self._owned_entries.get(e["_id"])}
        touched = {m["item_id"] for m in self.moderated.all(key)} & ids
        hidden = sum(1 for d in by_ids(store.aggregates, touched).values() if not _shown_to(d, viewer_id))
        return len(ids) - hidden

    # == group discussions ==================================================================
    def _group_for(self, group_id: str, viewer_id: str | None) -> dict[str, Any] | None:
        """The group when the viewer may read it (a private group: its active members only)."""
        group = self.copies.group(group_id)
        return group if self.copies.may_read(group, viewer_id) else None

    def _thread_for(self, thread_id: Any, viewer_id: str | None) -> tuple[dict[str, Any] | None, Any]:
        thread = self.threads.get(thread_id) if isinstance(thread_id, str) else None
        if not _visible(thread):
            return None, None
        group = self._group_for(thread["group_id"], viewer_id)
        return (thread, group) if group is not None else (None, None)

    def _thread_view(self, thread: dict[str, Any], viewer_id: str | None) -> dict[str, Any]:
        view = domain.thread_view(thread)
        view["reply_count"] = self._count(self.thread_replies, thread["_id"], self.replies, "reply_id")
        supporters = {e["member_id"] for e in self.thread_supports.all(thread["_id"])}
        view["support_count"] = len(supporters)
        view["supported_by_viewer"] = viewer_id in supporters
        view["viewer_can_moderate"] = self.copies.role(thread["group_id"], viewer_id) in ADMIN_ROLES
        return view

    def create_thread(self, group_id: str, author_id: str, raw: dict[str, Any], thread_id: str) -> Result:
        """A thread in a group, by one of its active members: ``{thread, errors}``. An
        announcement (``kind``) is for the group's admins and reaches every member's inbox."""
        group = self.copies.group(group_id) if isinstance(group_id, str) else None
        role = self.copies.role(group_id, author_id) if group else None
        if group is None or (role is None and group["visibility"] != "public"):
            return {"thread": None, "errors": [error(("group_id",), t("No such group."), "NOT_FOUND")]}
        if role is None:
            return {"thread": None, "errors": [error(("group_id",), t("Join the group to post."), "NOT_MEMBER")]}
        clean, errors = domain.validate_thread(raw or {})
        if clean["kind"] == "announcement" and role not in ADMIN_ROLES:
            errors.append(FieldError(("kind",), t("Only the group's admins post announcements."), "FORBIDDEN"))
        if errors:
            return {"thread": None, "errors": _errors(errors)}
        existing = self.threads.get(thread_id)
        if existing is not None:  # this request's first delivery made it
            return {"thread": self._thread_view(existing, author_id), "errors": []}
        now = domain.now_utc()
        refused = self._gate(author_id, "post", ("title",), now)
        if refused:
            return {"thread": None, "errors": refused}
        if clean["kind"] == "announcement":  # delivered to every member by the timer (announcements.py)
            self.announcements.enqueue(thread_id, group, author_id, clean["title"], now)
        slot = self.group_threads.append(group_id, {"thread_id": thread_id})
        state = {
            "_id": thread_id,
            "version": 1,
            "group_id": group_id,
            "author_id": author_id,
            **clean,
            "pinned": False,
            "locked": False,
            "answer": None,
            "slot": slot,
            "created_at": now,
        }
        data = {**domain.thread_view(state), "visibility": group["visibility"]}
        with contextlib.suppress(ConcurrencyConflict):
            self.threads.commit(state, self._event("thread_posted", state, group["city"], data))
        return {"thread": self._thread_view(self.threads.get(thread_id) or state, author_id), "errors": []}

    def get_threads(self, thread_ids: list[str], viewer_id: str | None) -> list[dict[str, Any] | None]:
        """Views in the order asked; None where the thread is gone, hidden or in a group the
        viewer may not read."""
        out: list[dict[str, Any] | None] = []
        for thread_id in thread_ids:
            thread, _ = self._thread_for(thread_id, viewer_id)
            out.append(None if thread is None else self._thread_view(thread, viewer_id))
        return out

    def group_threads_page(self, group_id: str, viewer_id: str | None, first: int, after: int | None) -> Result | None:
        """A group's threads: pinned ones first (on the first page), then newest first.
        ``{items, has_next_page, total, positions}``; None when the viewer may not read the group
        (not even the count)."""
        if self._group_for(group_id, viewer_id) is None:
            return None
        pinned_ids = list(dict.fromkeys(e["thread_id"] for e in self.group_pins.all(group_id)))
        pinned = [
            th for th in by_ids(self.threads.aggregates, pinned_ids).values() if th.get("pinned") and _visible(th)
        ]
        pinned.sort(key=lambda th: th["slot"], reverse=True)
        pinned_set = {th["_id"] for th in pinned}
        items: list[dict[str, Any]] = [] if after is not None else pinned[:first]
        head = self.group_threads.head(group_id)
        top = head if after is None else after - 1
        more = False
        for_entries = []
        for entry in self.group_threads.newest_first(group_id, top) if top >= 1 else []:
            for_entries.append(entry)
            if len(for_entries) % 16 == 0 or entry["n"] == 1:
                owned = [
                    th for th in self._owned(self.threads, for_entries, "thread_id") if th["_id"] not in pinned_set
                ]
                for_entries = []
                items += owned
                if len(items) > first:
                    break
        if for_entries:
            items += [th for th in self._owned(self.threads, for_entries, "thread_id") if th["_id"] not in pinned_set]
        if len(items) > first:
            more, items = True, items[:first]
        return {
            "items": [self._thread_view(th, viewer_id) for th in items],
            "positions": [th["slot"] if th["_id"] not in pinned_set else head + 1 for th in items],
            "has_next_page": more,
            "total": self._count(self.group_threads, group_id, self.threads, "thread_id"),
        }

    def _change_thread(self, thread_id: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> Any:
        def attempt() -> dict[str, Any] | None:
            current = self.threads.get(thread_id)
            assert current is not None
            patch = change(current)
            if patch is None:
                return current
            state = {**current, **patch, "version": current["version"] + 1}
            group = self.copies.group(state["group_id"]) or {}
            data = {**domain.thread_view(state), "visibility": group.get("visibility", "private")}
            self.threads.commit(state, self._event("thread_updated", state, group.get("city"), data))
            return state

        return retry_on_conflict(ATTEMPTS, attempt, BACKOFF)

    def moderate_thread(
        self, thread_id: str, actor_id: str, pinned: bool | None = None, locked: bool | None = None
    ) -> Result:
        """Pin or lock a thread (the group's admins): ``{thread, errors}``."""
        thread, _ = self._thread_for(thread_id, actor_id)
        if thread is None:
            return {"thread": None, "errors": [error(("thread_id",), t("No such thread."), "NOT_FOUND")]}
        if self.copies.role(thread["group_id"], actor_id) not in ADMIN_ROLES:
            return {"thread": None, "errors": [error(("thread_id",), t("Only the group's admins can."), "FORBIDDEN")]}
        if pinned:
            self.group_pins.append(thread["group_id"], {"thread_id": thread_id})
        patch = {k: bool(v) for k, v in (("pinned", pinned), ("locked", locked)) if v is not None}
        state = self._change_thread(
            thread_id, lambda cur: patch if any(cur.get(k) != v for k, v in patch.items()) else None
        )
        return {"thread": self._thread_view(state, actor_id), "errors": []}

    def support(self, thread_id: str, member_id: str) -> Result:
        """Support a suggestion (once per member; again changes nothing): ``{thread, errors}``."""
        thread, _ = self._thread_for(thread_id, member_id)
        if thread is None:
            return {"thread": None, "errors": [error(("thread_id",), t("No such thread."), "NOT_FOUND")]}
        if thread["kind"] != "suggestion":
            return {"thread": None, "errors": [error(("thread_id",), t("Only suggestions take support."), "INVALID")]}
        if self.copies.role(thread["group_id"], member_id) is None:
            return {"thread": None, "errors": [error(("thread_id",), t("Join the group first."), "NOT_MEMBER")]}
        try:
            self.supports.insert_one({"_id": f"{thread_id}:{member_id}", "at": domain.now_utc()})
            self.thread_supports.append(thread_id, {"member_id": member_id})
        except DuplicateKeyError:
            pass
        return {"thread": self._thread_view(self.threads.get(thread_id) or thread, member_id), "errors": []}

    def answer_suggestion(self, thread_id: str, admin_id: str, raw: dict[str, Any]) -> Result:
        """The admins' answer to a suggestion, shown on it; its author is told."""
        thread, group = self._thread_for(thread_id, admin_id)
        if thread is None or thread["kind"] != "suggestion":
            return {"thread": None, "errors": [error(("thread_id",), t("No such suggestion."), "NOT_FOUND")]}
        if self.copies.role(thread["group_id"], admin_id) not in ADMIN_ROLES:
            return {"thread": None, "errors": [error(("thread_id",), t("Only the group's admins can."), "FORBIDDEN")]}
        text, errors = domain.validate_text(raw or {}, "text", domain.REPLY_MAX)
        if errors:
            return {"thread": None, "errors": _errors(errors)}
        now = domain.now_utc()
        answer = {"text": text, "by": admin_id, "at": domain.iso(now)}
        state = self._change_thread(thread_id, lambda cur: {"answer": answer})
        if thread["author_id"] != admin_id:
            self.inbox.notify(
                thread["author_id"],
                f"thread:{thread_id}:answered:v{state['version']}",
                "suggestion_answered",
                t("The admins answered your suggestion: {title}", title=thread["title"]),
                {"type": "DiscussionThread", "id": thread_id},
                group["city"],
            )
        return {"thread": self._thread_view(state, admin_id), "errors": []}

    def reply(self, thread_id: str, author_id: str, raw: dict[str, Any], reply_id: str) -> Result:
        """A reply to a thread by an active member of its group: ``{reply, errors}``. Racing replies
        each take the next number of the thread: all stored once, in order."""
        thread, group = self._thread_for(thread_id, author_id)
        if thread is None:
            return {"reply": None, "errors": [error(("thread_id",), t("No such thread."), "NOT_FOUND")]}
        if self.copies.role(thread["group_id"], author_id) is None:
            return {"reply": None, "errors": [error(("thread_id",), t("Join the group to reply."), "NOT_MEMBER")]}
        if thread.get("locked"):
            return {"reply": None, "errors": [error(("thread_id",), t("The thread is locked."), "CLOSED")]}
        text, errors = domain.validate_text(raw or {}, "text", domain.REPLY_MAX)
        if errors:
            return {"reply": None, "errors": _errors(errors)}
        existing = self.replies.get(reply_id)
        if existing is not None:
            return {"reply": domain.reply_view(existing), "errors": []}
        now = domain.now_utc()
        refused = self._gate(author_id, "post", ("text",), now)
        if refused:
            return {"reply": None, "errors": refused}
        slot = self.thread_replies.append(thread_id, {"reply_id": reply_id})
        state = {
            "_id": reply_id,
            "version": 1,
            "thread_id": thread_id,
            "group_id": thread["group_id"],
            "author_id": author_id,
            "text": text,
            "slot": slot,
            "created_at": now,
        }
        data = {**domain.reply_view(state), "visibility": group["visibility"]}
        try:
            self.replies.commit(state, self._event("reply_posted", state, group["city"], data))
        except ConcurrencyConflict:
            return {"reply": domain.reply_view(self.replies.get(reply_id) or state), "errors": []}
        if thread["author_id"] != author_id:
            self.inbox.notify(
                thread["author_id"],
                f"reply:{reply_id}",
                "discussion_reply",
                t("New reply in {title}", title=thread["title"]),
                {"type": "DiscussionThread", "id": thread_id},
                group["city"],
            )
        return {"reply": domain.reply_view(state), "errors": []}

    def replies_page(self, thread_id: str, viewer_id: str | None, first: int, after: int | None) -> Result | None:
        """A thread's replies, oldest first, after entry ``after``; None when the viewer may not
        read it. ``{items, has_next_page, total}`` (each item's ``n`` is its position)."""
        thread, _ = self._thread_for(thread_id, viewer_id)
        if thread is None:
            return None
        items, more = self._page_up(self.thread_replies, thread_id, self.replies, "reply_id", after or 0, first)
        total = self._count(self.thread_replies, thread_id, self.replies, "reply_id")
        return {"items": [domain.reply_view(r) for r in items], "has_next_page": more, "total": total}

    def get_replies(self, reply_ids: list[str], viewer_id: str | None) -> list[dict[str, Any] | None]:
        found = by_ids(self.replies.aggregates, [i for i in reply_ids if isinstance(i, str)])
        out: list[dict[str, Any] | None] = []
        for reply_id in reply_ids:
            reply = found.get(reply_id)
            ok = _visible(reply) and self._thread_for(reply["thread_id"], viewer_id)[0] is not None  # type: ignore[index]
            out.append(domain.reply_view(reply) if ok else None)  # type: ignore[arg-type]
        return out

    # == ask nearby =========================================================================
    def ask(self, asker_id: str, raw: dict[str, Any], city: str, cell: dict[str, Any], question_id: str) -> Result:
        """A question to the parents of the asker's city or within a few km of their cell (the
        gateway gives the asker's city and coarse cell as members lets them out): ``{question, errors}``."""
        clean, errors = domain.validate_question(raw or {})
        if errors:
            return {"question": None, "errors": _errors(errors)}
        existing = self.questions.get(question_id)
        if existing is not None:
            return {"question": domain.question_view(existing), "errors": []}
        now = domain.now_utc()
        refused = self._gate(asker_id, "post", ("text",), now)
        if refused:
            return {"question": None, "errors": refused}
        where = {"lat": float(cell["lat"]), "lon": float(cell["lon"])}
        row, column = domain.tile(where["lat"], where["lon"])
        keys = [f"city:{city}", domain.tile_key(row, column)]
        for key in keys:
            self.area_questions.append(key, {"question_id": question_id, "at": now})
        state = {
            "_id": question_id,
            "version": 1,
            "asker_id": asker_id,
            **clean,
            "city": city,
            "cell": where,
            "slot": None,
            "created_at": now,
        }
        data = {**domain.question_view(state), "cell": where}
        with contextlib.suppress(ConcurrencyConflict):
            self.questions.commit(state, self._event("question_asked", state, city, data))
        return {"question": domain.question_view(self.questions.get(question_id) or state), "errors": []}

    def _may_see_question(
        self, question: dict[str, Any] | None, viewer_id: str | None, city: str | None, cell: dict[str, Any] | None
    ) -> bool:
        if not _visible(question):
            return False
        assert question is not None
        if question["asker_id"] == viewer_id:
            return True
        # The viewer's own block hides the asker's questions from them; the asker's block does
        # not: a blocked member sees the question as before (they must not tell they are blocked).
        if viewer_id and self.copies.blocked(viewer_id, question["asker_id"]):
            return False
        return domain.reaches(question, city, cell)

    def _question_view(self, question: dict[str, Any], viewer_id: str | None) -> dict[str, Any]:
        view = domain.question_view(question)
        view["answer_count"] = self._count(self.question_answers, question["_id"], self.answers, "answer_id", viewer_id)
        return view

    def get_questions(
        self, question_ids: list[str], viewer_id: str | None, city: str | None, cell: dict[str, Any] | None
    ) -> list[dict[str, Any] | None]:
        found = by_ids(self.questions.aggregates, [i for i in question_ids if isinstance(i, str)])
        return [
            self._question_view(found[i], viewer_id)
            if self._may_see_question(found.get(i), viewer_id, city, cell)
            else None
            for i in question_ids
        ]

    def questions_nearby(
        self,
        viewer_id: str,
        city: str,
        cell: dict[str, Any] | None,
        first: int,
        after: list[str] | None,
    ) -> Result:
        """Questions for the viewer, newest first: their city's, and those asked within reach of
        their cell (the 9 tiles around it). ``after``: ``[created_at, id]`` of the last item."""
        keys = [f"city:{city}"] + (domain.tiles_around(cell["lat"], cell["lon"]) if cell else [])
        position = (datetime.fromisoformat(after[0].replace("Z", "+00:00")), after[1]) if after else None
        candidates: dict[str, datetime] = {}
        oldest = domain.now_utc() - timedelta(days=QUESTION_DAYS)
        for key in keys:
            for entry in self.area_questions.newest_first(key):
                at = aware(entry["at"])
                if at < oldest:
                    break
                candidates.setdefault(entry["question_id"], at)
        ordered = sorted(candidates.items(), key=lambda item: (item[1], item[0]), reverse=True)
        found = by_ids(self.questions.aggregates, [i for i, _ in ordered])
        seen = [found[i] for i, _ in ordered if self._may_see_question(found.get(i), viewer_id, city, cell)]
        after_position = [q for q in seen if position is None or (aware(q["created_at"]), q["_id"]) < position]
        page = after_position[:first]
        return {
            "items": [self._question_view(q, viewer_id) for q in page],
            "has_next_page": len(after_position) > first,
            "total": len(seen),
        }

    def answer(
        self,
        question_id: str,
        author_id: str,
        raw: dict[str, Any],
        answer_id: str,
        city: str | None,
        cell: dict[str, Any] | None,
    ) -> Result:
        """An answer to a question the author may see; it may point to a contact, a listing or an
        outing (``points_to``) or recommend a contact not yet in the directory (``contact``)."""
        question = self.questions.get(question_id) if isinstance(question_id, str) else None
        if not self._may_see_question(question, author_id, city, cell):
            return {"answer": None, "errors": [error(("question_id",), t("No such question."), "NOT_FOUND")]}
        assert question is not None
        raw = raw or {}
        text, errors = domain.validate_text(raw, "text", domain.ANSWER_MAX)
        points_to, more = domain.validate_pointer(raw.get("points_to"), "points_to", domain.POINTS_TO)
        contact, even_more = domain.validate_contact_card(raw.get("contact"))
        errors += more + even_more
        if errors:
            return {"answer": None, "errors": _errors(errors)}
        existing = self.answers.get(answer_id)
        if existing is not None:
            return {"answer": domain.answer_view(existing), "errors": []}
        now = domain.now_utc()
        refused = self._gate(author_id, "answer", ("text",), now)
        if refused:
            return {"answer": None, "errors": refused}
        # The asker blocked the author: the answer is kept (the author sees it as any answer) but
        # never shown to the asker nor notified; remembered under the question like moderation's.
        kept_from = question["asker_id"] if self.copies.blocked(question["asker_id"], author_id) else None
        slot = self.question_answers.append(question_id, {"answer_id": answer_id})
        if kept_from:
            self.moderated.append(question_id, {"item_id": answer_id})
        state = {
            "_id": answer_id,
            "version": 1,
            "question_id": question_id,
            "author_id": author_id,
            "text": text,
            "points_to": points_to,
            "contact": contact,
            "helpful": False,
            "slot": slot,
            "created_at": now,
            **({"kept_from": kept_from} if kept_from else {}),
        }
        try:
            self.answers.commit(state, self._event("answer_posted", state, question["city"], domain.answer_view(state)))
        except ConcurrencyConflict:
            return {"answer": domain.answer_view(self.answers.get(answer_id) or state), "errors": []}
        if question["asker_id"] != author_id and not kept_from:
            self.inbox.notify(
                question["asker_id"],
                f"answer:{answer_id}",
                "question_answered",
                t("Someone answered your question."),
                {"type": "Question", "id": question_id},
                question["city"],
            )
        return {"answer": domain.answer_view(state), "errors": []}

    def answers_page(
        self,
        question_id: str,
        viewer_id: str | None,
        city: str | None,
        cell: dict[str, Any] | None,
        first: int,
        after: int | None,
    ) -> Result | None:
        question = self.questions.get(question_id) if isinstance(question_id, str) else None
        if not self._may_see_question(question, viewer_id, city, cell):
            return None
        items, more = self._page_up(
            self.question_answers,
            question_id,
            self.answers,
            "answer_id",
            after or 0,
            first,
            keep=lambda a: _shown_to(a, viewer_id),
        )
        total = self._count(self.question_answers, question_id, self.answers, "answer_id", viewer_id)
        return {"items": [domain.answer_view(a) for a in items], "has_next_page": more, "total": total}

    def get_answers(
        self, answer_ids: list[str], viewer_id: str | None, city: str | None, cell: dict[str, Any] | None
    ) -> list[dict[str, Any] | None]:
        """Views in the order asked; None where the answer or its question is hidden or not for the viewer."""
        found = by_ids(self.answers.aggregates, [i for i in answer_ids if isinstance(i, str)])
        out: list[dict[str, Any] | None] = []
        for answer_id in answer_ids:
            answer = found.get(answer_id)
            shown = _shown_to(answer, viewer_id)
            question = self.questions.get(answer["question_id"]) if shown else None  # type: ignore[index]
            ok = self._may_see_question(question, viewer_id, city, cell)
            out.append(domain.answer_view(answer) if ok else None)  # type: ignore[arg-type]
        return out

    def _change_answer(self, answer_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            current = self.answers.get(answer_id)
            assert current is not None
            if all(current.get(k) == v for k, v in patch.items()):
                return current
            state = {**current, **patch, "version": current["version"] + 1}
            question = self.questions.get(state["question_id"]) or {}
            self.answers.commit(
                state, self._event("answer_updated", state, question.get("city"), domain.answer_view(state))
            )
            return state

        return retry_on_conflict(ATTEMPTS, attempt, BACKOFF)

    def mark_helpful(self, answer_id: str, asker_id: str, helpful: bool = True) -> Result:
        """The asker marks an answer to their question helpful (or not)."""
        answer = self.answers.get(answer_id) if isinstance(answer_id, str) else None
        question = self.questions.get(answer["question_id"]) if _visible(answer) else None  # type: ignore[index]
        if question is None or not _visible(question):
            return {"answer": None, "errors": [error(("answer_id",), t("No such answer."), "NOT_FOUND")]}
        if question["asker_id"] != asker_id:
            return {"answer": None, "errors": [error(("answer_id",), t("Only the asker can."), "NOT_YOURS")]}
        return {"answer": domain.answer_view(self._change_answer(answer_id, {"helpful": bool(helpful)})), "errors": []}

    def contact_card(self, answer_id: str, member_id: str) -> Result:
        """The contact an answer recommends, for the member who saves it to the directory:
        ``{contact: fields or None, points_to, errors}``."""
        answer = self.answers.get(answer_id) if isinstance(answer_id, str) else None
        question = self.questions.get(answer["question_id"]) if _visible(answer) else None  # type: ignore[index]
        if question is None or not _visible(question) or member_id not in (question["asker_id"], answer["author_id"]):  # type: ignore[index]
            return {
                "contact": None,
                "points_to": None,
                "errors": [error(("answer_id",), t("No such answer."), "NOT_FOUND")],
            }
        assert answer is not None
        return {"contact": answer.get("contact"), "points_to": answer.get("points_to"), "errors": []}

    def link_contact(self, answer_id: str, member_id: str, contact_id: str) -> Result:
        """After the contact an answer recommended was added to the directory: the answer points to it."""
        card = self.contact_card(answer_id, member_id)
        if card["errors"]:
            return {"answer": None, "errors": card["errors"]}
        state = self._change_answer(answer_id, {"points_to": {"type": "contact", "id": contact_id}})
        return {"answer": domain.answer_view(state), "errors": []}

    # == messages ===========================================================================
    def _participant(self, conversation_id: str, member_id: str) -> dict[str, Any]:
        return self.participants.find_one({"_id": f"{conversation_id}:{member_id}"}) or {
            "_id": f"{conversation_id}:{member_id}",
            "muted": False,
            "left": False,
            "receipts": False,
            "read_upto": 0,
        }

    def _list_for(self, conversation_id: str, member_id: str) -> None:
        """Put the conversation in the member's list, once (the participant's unique insert decides)."""
        doc = {
            "_id": f"{conversation_id}:{member_id}",
            "muted": False,
            "left": False,
            "receipts": False,
            "read_upto": 0,
            "listed": True,
        }
        try:
            self.participants.insert_one(doc)
        except DuplicateKeyError:
            current = self.participants.find_one({"_id": doc["_id"]}) or {}
            if current.get("listed"):
                if current.get("left"):
                    self.participants.update_one({"_id": doc["_id"]}, {"$set": {"left": False}})
                return
            self.participants.update_one({"_id": doc["_id"]}, {"$set": {"listed": True, "left": False}})
        self.member_conversations.append(member_id, {"conversation_id": conversation_id})

    def _wrote_first(self, a: str, b: str) -> bool:
        return self.wrote.find_one({"_id": f"{a}:{b}"}) is not None

    def send_message(
        self,
        sender_id: str,
        fields: dict[str, Any],
        message_id: str,
        recipient_protected: bool | Callable[[str], bool],
    ) -> Result:
        """A message to another member, on its own or about a listing or an outing (``about``), or
        into an existing conversation (``conversation_id``): ``{message, conversation, errors}``.

        From a stranger (no group in common, never written to by the recipient) it is a message
        request; to a member in protected mode a stranger's is refused. Where the recipient
        blocked the sender, or the sender is held by moderation (a request), the answer is the
        same as when it is delivered, and it is not. ``recipient_protected``: whether the recipient
        is in protected mode, or a function of the recipient's id asked only for a stranger's
        message (the service asks members)."""
        fields = fields or {}
        now = domain.now_utc()
        text, errors = domain.validate_text(fields, "text", domain.MESSAGE_MAX)
        conversation = None
        if fields.get("conversation_id"):
            conversation = self.conversations.get(fields["conversation_id"])
            if conversation is None or sender_id not in conversation["members"]:
                errors.append(FieldError(("conversation_id",), t("No such conversation."), "NOT_FOUND"))
                return {"message": None, "conversation": None, "errors": _errors(errors)}
            recipient_id = next(m for m in conversation["members"] if m != sender_id)
            about = conversation.get("about")
        else:
            recipient_id = fields.get("recipient_id")
            about, more = domain.validate_pointer(fields.get("about"), "about", domain.ABOUT)
            errors += more
            if not isinstance(recipient_id, str) or not recipient_id or recipient_id == sender_id:
                errors.append(FieldError(("recipient_id",), t("Name another member."), "INVALID"))
        if errors:
            return {"message": None, "conversation": None, "errors": _errors(errors)}
        refused = self._gate(sender_id, "message", ("text",), now)
        if refused:
            return {"message": None, "conversation": None, "errors": refused}
        if self.copies.blocked(sender_id, recipient_id):
            message = t("You blocked this member: unblock them to write.")
            return {"message": None, "conversation": None, "errors": [error(("recipient_id",), message, "FORBIDDEN")]}
        conversation_id = domain.conversation_id(sender_id, recipient_id, about)
        existing = self.messages.get(message_id)
        if existing is not None:  # this request's first delivery sent it
            return self._sent(existing, sender_id)
        conversation = self.conversations.get(conversation_id)
        knows = (
            (conversation is not None and conversation["status"] == "open")
            or self._wrote_first(recipient_id, sender_id)
            or self.copies.share_a_group(sender_id, recipient_id)
        )
        protected = recipient_protected(recipient_id) if callable(recipient_protected) else recipient_protected
        if not knows and protected:
            message = t("This member receives messages only from parents they know.")
            return {"message": None, "conversation": None, "errors": [error(("recipient_id",), message, "FORBIDDEN")]}
        request = not knows
        if request and conversation is None and not self.limiter.allow("request", sender_id, now):
            message = t("You have sent many message requests in the last hour; try again later.")
            return {
                "message": None,
                "conversation": None,
                "errors": [error(("recipient_id",), message, "RATE_LIMITED")],
            }
        if conversation is None:
            conversation = self._open_conversation(conversation_id, sender_id, recipient_id, about, request, now)
        status = conversation["status"]
        # A request not accepted yet holds a few messages at most. The sender sees a declined
        # request as pending, and the cap is the same whether the recipient blocked them, declined
        # or has not read it yet: it says only what the sender sees already (not accepted).
        unanswered = status in ("request", "declined") and conversation.get("requested_by") == sender_id
        if unanswered and self.conversation_messages.head(conversation_id) >= self.limiter.limits.messages_per_request:
            message = t("Wait for a reply to your message request before writing more.")
            return {"message": None, "conversation": None, "errors": [error(("text",), message, "RATE_LIMITED")]}
        declined = status == "declined" and conversation.get("requested_by") == sender_id
        held = status == "request" and conversation.get("requested_by") == sender_id and self.copies.held(sender_id)
        delivered = not (self.copies.blocked(recipient_id, sender_id) or declined or held)
        self._list_for(conversation_id, sender_id)
        with contextlib.suppress(DuplicateKeyError):
            self.wrote.insert_one({"_id": f"{sender_id}:{recipient_id}", "at": now})
        slot = self.conversation_messages.append(conversation_id, {"message_id": message_id})
        state = {
            "_id": message_id,
            "version": 1,
            "conversation_id": conversation_id,
            "sender_id": sender_id,
            "recipient_id": recipient_id,
            "text": text,
            "delivered": delivered,
            "held": held,
            "slot": slot,
            "created_at": now,
        }
        try:
            self.messages.commit(state, self._message_event(state))
        except ConcurrencyConflict:
            return self._sent(self.messages.get(message_id) or state, sender_id)
        if held:
            self.held_messages.append(sender_id, {"message_id": message_id})
        if delivered:
            self._deliver(state, conversation)
        return self._sent(state, sender_id)

    def _message_event(self, state: dict[str, Any]) -> Event:
        """Never the text: the bus feeds search and logs; subscribers load the message by RPC."""
        data = {
            "id": state["_id"],
            "conversation_id": state["conversation_id"],
            "sender_id": state["sender_id"],
            "deliver_to": [state["recipient_id"]] if state["delivered"] else [],
            "created_at": domain.iso(state["created_at"]),
        }
        return self._event("message_sent", state, None, data)

    def _deliver(self, message: dict[str, Any], conversation: dict[str, Any]) -> None:
        recipient_id = message["recipient_id"]
        self._list_for(message["conversation_id"], recipient_id)
        if self._participant(message["conversation_id"], recipient_id).get("muted"):
            return
        request = conversation["status"] == "request"
        self.inbox.notify(
            recipient_id,
            f"message:{message['_id']}",
            "message_request" if request else "message_received",
            t("New message request.") if request else t("New message."),
            {"type": "Conversation", "id": message["conversation_id"]},
        )

    def _open_conversation(
        self,
        conversation_id: str,
        sender_id: str,
        recipient_id: str,
        about: dict[str, str] | None,
        request: bool,
        now: datetime,
    ) -> dict[str, Any]:
        state = {
            "_id": conversation_id,
            "version": 1,
            "members": sorted((sender_id, recipient_id)),
            "about": about,
            "status": "request" if request else "open",
            "requested_by": sender_id if request else None,
            "created_at": now,
        }
        with contextlib.suppress(ConcurrencyConflict):
            self.conversations.commit(state, self._event("conversation_started", state, None, self._conv_data(state)))
        return self.conversations.get(conversation_id) or state

    @staticmethod
    def _conv_data(state: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": state["_id"],
            "members": list(state["members"]),
            "about": state.get("about"),
            "status": state["status"],
        }

    def _sent(self, message: dict[str, Any], viewer_id: str) -> Result:
        conversation = self.conversations.get(message["conversation_id"])
        return {
            "message": self._message_view(message, viewer_id, None),
            "conversation": self._conversation_view(conversation, viewer_id) if conversation else None,
            "errors": [],
        }

    def _may_see_message(self, message: dict[str, Any] | None, viewer_id: str) -> bool:
        return (
            _visible(message)
            and message is not None
            and (message["sender_id"] == viewer_id or (message["recipient_id"] == viewer_id and message["delivered"]))
        )

    def _message_view(self, message: dict[str, Any], viewer_id: str, other: dict[str, Any] | None) -> dict[str, Any]:
        """``read_by_other`` only when both members have read receipts on (off by default)."""
        other = other or self._participant(message["conversation_id"], message["recipient_id"])
        mine = self._participant(message["conversation_id"], viewer_id)
        receipts = bool(other.get("receipts")) and bool(mine.get("receipts"))
        read = receipts and message["sender_id"] == viewer_id and other.get("read_upto", 0) >= message["slot"]
        return {
            "id": message["_id"],
            "conversation_id": message["conversation_id"],
            "sender_id": message["sender_id"],
            "text": message["text"],
            "n": message["slot"],
            "read_by_other": bool(read),
            "created_at": domain.iso(message["created_at"]),
        }

    def _unread(self, conversation: dict[str, Any], viewer_id: str) -> int:
        read_upto = self._participant(conversation["_id"], viewer_id).get("read_upto", 0)
        head = self.conversation_messages.head(conversation["_id"])
        if head <= read_upto:
            return 0
        entries = self.conversation_messages.range(conversation["_id"], read_upto + 1, head + 1)
        found = self._owned(self.messages, entries, "message_id")
        return sum(1 for m in found if m["sender_id"] != viewer_id and self._may_see_message(m, viewer_id))

    def _conversation_view(self, conversation: dict[str, Any], viewer_id: str) -> dict[str, Any]:
        mine = self._participant(conversation["_id"], viewer_id)
        other_id = next(m for m in conversation["members"] if m != viewer_id)
        status = conversation["status"]
        if status == "declined" and conversation.get("requested_by") == viewer_id:
            status = "request"  # a declined request looks pending to its sender
        return {
            "id": conversation["_id"],
            "other_member_id": other_id,
            "about": conversation.get("about"),
            "status": status,
            "requested_by_viewer": conversation.get("requested_by") == viewer_id,
            "muted": bool(mine.get("muted")),
            "read_receipts": bool(mine.get("receipts")),
            "unread_count": self._unread(conversation, viewer_id),
            "created_at": domain.iso(conversation["created_at"]),
        }

    def get_conversations(self, conversation_ids: list[str], viewer_id: str) -> list[dict[str, Any] | None]:
        found = by_ids(self.conversations.aggregates, [i for i in conversation_ids if isinstance(i, str)])
        out: list[dict[str, Any] | None] = []
        for conversation_id in conversation_ids:
            conversation = found.get(conversation_id)
            listed = conversation is not None and self._participant(conversation_id, viewer_id).get("listed")
            out.append(self._conversation_view(conversation, viewer_id) if listed else None)  # type: ignore[arg-type]
        return out

    def conversations_of(self, viewer_id: str, requests: bool, first: int, after: int | None) -> Result:
        """The viewer's conversations (``requests``: the message requests sent to them), newest
        first; ``after`` is the entry number of the last item. ``{items, positions, has_next_page,
        total, unread}``."""
        entries = self.member_conversations.all(viewer_id)
        seen: set[str] = set()
        rows = []
        found = by_ids(self.conversations.aggregates, [e["conversation_id"] for e in entries])
        for entry in reversed(entries):
            conversation = found.get(entry["conversation_id"])
            if conversation is None or conversation["_id"] in seen:
                continue
            seen.add(conversation["_id"])
            mine = self._participant(conversation["_id"], viewer_id)
            if mine.get("left") or not mine.get("listed"):
                continue
            incoming = (
                conversation["status"] in ("request", "declined") and conversation.get("requested_by") != viewer_id
            )
            if conversation["status"] == "declined" and incoming:
                continue
            if incoming == requests:
                rows.append((entry["n"], conversation))
        after_rows = [r for r in rows if after is None or r[0] < after]
        page = after_rows[:first]
        views = [self._conversation_view(c, viewer_id) for _, c in page]
        unread = sum(v["unread_count"] for v in views) if after is None and len(rows) <= first else None
        if unread is None:
            unread = sum(self._unread(c, viewer_id) for _, c in rows)
        return {
            "items": views,
            "positions": [n for n, _ in page],
            "has_next_page": len(after_rows) > first,
            "total": len(rows),
            "unread": unread,
        }

    def messages_page(self, conversation_id: str, viewer_id: str, first: int, before: int | None) -> Result | None:
        """A conversation's messages, newest first, before entry ``before``; None when it is not the viewer's."""
        conversation = self.conversations.get(conversation_id) if isinstance(conversation_id, str) else None
        if conversation is None or not self._participant(conversation_id, viewer_id).get("listed"):
            return None
        other = self._participant(conversation_id, next(m for m in conversation["members"] if m != viewer_id))
        top = self.conversation_messages.head(conversation_id) if before is None else before - 1
        picked: list[dict[str, Any]] = []
        n = top
        while n >= 1 and len(picked) <= first:
            entries = self.conversation_messages.range(conversation_id, max(1, n - first), n + 1)[::-1]
            picked += [
                m for m in self._owned(self.messages, entries, "message_id") if self._may_see_message(m, viewer_id)
            ]
            n -= first + 1
        items = [self._message_view(m, viewer_id, other) for m in picked[:first]]
        return {"items": items, "has_next_page": len(picked) > first}

    def get_messages(self, message_ids: list[str], viewer_id: str) -> list[dict[str, Any] | None]:
        found = by_ids(self.messages.aggregates, [i for i in message_ids if isinstance(i, str)])
        return [
            self._message_view(found[i], viewer_id, None) if self._may_see_message(found.get(i), viewer_id) else None
            for i in message_ids
        ]

    def decide_request(self, conversation_id: str, member_id: str, accept: bool) -> Result:
        """The recipient of a message request accepts or declines it: ``{conversation, errors}``."""
        conversation = self.conversations.get(conversation_id) if isinstance(conversation_id, str) else None
        if (
            conversation is None
            or member_id not in conversation["members"]
            or not self._participant(conversation_id, member_id).get("listed")
        ):
            return {
                "conversation": None,
                "errors": [error(("conversation_id",), t("No such conversation."), "NOT_FOUND")],
            }
        if conversation["status"] != "request" or conversation.get("requested_by") == member_id:
            return {
                "conversation": None,
                "errors": [error(("conversation_id",), t("No request to decide."), "INVALID")],
            }

        def attempt() -> dict[str, Any]:
            current = self.conversations.get(conversation_id)
            assert current is not None
            if current["status"] != "request":
                return current
            state = {**current, "status": "open" if accept else "declined", "version": current["version"] + 1}
            self.conversations.commit(state, self._event("conversation_changed", state, None, self._conv_data(state)))
            return state

        state = retry_on_conflict(ATTEMPTS, attempt, BACKOFF)
        return {"conversation": self._conversation_view(state, member_id), "errors": []}

    def set_participant(self, conversation_id: str, member_id: str, changes: dict[str, Any]) -> Result:
        """Mute, leave, read receipts or read up to a message: ``{conversation, errors}``."""
        conversation = self.conversations.get(conversation_id) if isinstance(conversation_id, str) else None
        if conversation is None or not self._participant(conversation_id, member_id).get("listed"):
            return {
                "conversation": None,
                "errors": [error(("conversation_id",), t("No such conversation."), "NOT_FOUND")],
            }
        patch = {k: bool(changes[k]) for k in ("muted", "left", "receipts") if changes.get(k) is not None}
        if changes.get("read"):
            patch["read_upto"] = self.conversation_messages.head(conversation_id)
        if patch:
            self.participants.update_one({"_id": f"{conversation_id}:{member_id}"}, {"$set": patch})
        return {"conversation": self._conversation_view(conversation, member_id), "errors": []}

    def release_held(self, member_id: str) -> int:
        """Deliver the held message requests of a member moderation released; returns how many."""
        delivered = 0
        for entry in self.held_messages.all(member_id):
            message = self.messages.get(entry["message_id"])
            if message is None or not message.get("held"):
                continue
            conversation = self.conversations.get(message["conversation_id"])
            blocked = self.copies.blocked(message["recipient_id"], member_id)
            patch = {"held": False, "delivered": not blocked}
            state = {**message, **patch, "version": message["version"] + 1}
            try:
                self.messages.commit(state, self._message_event(state))
            except ConcurrencyConflict:
                continue
            if state["delivered"] and conversation is not None:
                self._deliver(state, conversation)
                delivered += 1
        return delivered

    # == moderation =========================================================================
    def _subject_store(self, subject_type: str) -> AggregateStore | None:
        return {
            "thread": self.threads,
            "reply": self.replies,
            "question": self.questions,
            "answer": self.answers,
            "message": self.messages,
        }.get(subject_type)

    def apply_moderation(self, event: Event) -> None:
        """``content_hidden/removed/restored`` for this service's subject types: the item leaves
        (or comes back to) every list, count and subscription; republished so search follows."""
        data = event.data
        if event.type in ("member_suspended", "member_unsuspended", "member_held"):
            self.copies.apply_moderation(event)
            return
        if event.type == "member_released":
            self.copies.apply_moderation(event)
            self.release_held(data["member_id"])
            return
        store = self._subject_store(data.get("subject_type", ""))
        if store is None:
            return
        status = {"content_hidden": "hidden", "content_removed": "removed", "content_restored": "visible"}[event.type]

        def attempt() -> None:
            current = store.get(data["subject_id"])
            if current is None:
                return
            seen = (current.get("moderation") or {}).get("version", 0)
            if event.version <= seen:
                return  # applied already, or an older decision
            parent = current.get("thread_id") or current.get("question_id") or current.get("group_id")
            if parent and data["subject_type"] != "message":
                self.moderated.append(parent, {"item_id": current["_id"]})
            state = {
                **current,
                "moderation": {"status": status, "version": event.version},
                "version": current["version"] + 1,
            }
            type_ = {
                "thread": "thread_updated",
                "reply": "reply_updated",
                "question": "question_updated",
                "answer": "answer_updated",
            }.get(data["subject_type"])
            if type_ is None:  # a message: nothing published, nothing indexed
                store.commit(state, self._message_event(state))
                return
            view = self._public_event_data(data["subject_type"], state)
            store.commit(state, self._event(type_, state, view.pop("_city", None), view))

        retry_on_conflict(ATTEMPTS, attempt, BACKOFF)

    def _public_event_data(self, subject_type: str, state: dict[str, Any]) -> dict[str, Any]:
        hidden = not _visible(state)
        if subject_type == "thread":
            group = self.copies.group(state["group_id"]) or {}
            return {
                **domain.thread_view(state),
                "visibility": group.get("visibility", "private"),
                "hidden": hidden,
                "_city": group.get("city"),
            }
        if subject_type == "reply":
            group = self.copies.group(state["group_id"]) or {}
            return {
                **domain.reply_view(state),
                "visibility": group.get("visibility", "private"),
                "hidden": hidden,
                "_city": group.get("city"),
            }
        if subject_type == "question":
            return {**domain.question_view(state), "hidden": hidden, "_city": state["city"]}
        return {**domain.answer_view(state), "hidden": hidden}

    EXPORTED = ("thread", "reply", "question")

    def export_discussions(self, subject_type: str, after: str | None, size: int) -> list[dict[str, Any]]:
        """A page of ``subject_type`` (thread, reply or question) in ``_id`` order after ``after``,
        for the search backfill: each as its last event published it (``thread_updated``...: the
        group's ``visibility``, ``hidden`` after moderation) with ``subject_type`` and ``city``.
        Never messages. ``ValueError`` for another subject type."""
        if subject_type not in self.EXPORTED:
            raise ValueError(f"subject_type must be one of {', '.join(self.EXPORTED)}")
        store = self._subject_store(subject_type)
        assert store is not None
        query: dict[str, Any] = {"_id": {"$gt": after}} if after else {}
        views = []
        for found in store.aggregates.find(query).sort("_id", 1).limit(size):
            # The newest version (an outbox record may not be rolled into the collection yet).
            state = store.get(found["_id"]) or found
            view = self._public_event_data(subject_type, state)
            views.append({**view, "city": view.pop("_city", None), "subject_type": subject_type})
        return views

    def snapshot(self, subject_type: str, subject_id: str, reporter_id: str) -> dict[str, Any] | None:
        """What a moderator sees of reported content: ``{subject_type, subject_id, text, author_id,
        group_id, city, created_at}``; a message only when the reporter is one of its two members."""
        store = self._subject_store(subject_type)
        state = store.get(subject_id) if store is not None and isinstance(subject_id, str) else None
        if state is None:
            return None
        if subject_type == "message" and reporter_id not in (state["sender_id"], state["recipient_id"]):
            return None
        group_id = state.get("group_id")
        author = state.get("author_id") or state.get("asker_id") or state.get("sender_id")
        text = state.get("text") or "\n\n".join(p for p in (state.get("title"), state.get("body")) if p)
        city = state.get("city")
        if city is None and group_id:
            city = (self.copies.group(group_id) or {}).get("city")
        return {
            "subject_type": subject_type,
            "subject_id": subject_id,
            "text": text,
            "author_id": author,
            "group_id": group_id,
            "city": city,
            "created_at": domain.iso(aware(state["created_at"]).astimezone(UTC)),
        }
