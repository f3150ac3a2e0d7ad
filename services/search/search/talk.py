"""Parents' talk in search (issue 19): threads and replies of **public** groups, and questions
asked nearby, from the conversations service's events. Never messages (their events carry no
text and are not even routed here), never a private group's thread, never where a question was
asked from (the asker's cell stays out: only the city is kept).

Content that moderation hid or removed comes back from conversations as ``*_updated`` with
``hidden`` set, at a higher version: it is written as a hidden tombstone, so it leaves every
result within the indexer's delay and a late event cannot bring it back.
"""

from __future__ import annotations

from typing import Any

from parentnet_kit.envelope import Event

from . import languages
from .indices import IndexSpec, language_copies, strict_mapping, text_field

DISCUSSIONS_MAPPING: dict[str, Any] = strict_mapping(
    {
        "kind": {"type": "keyword"},  # thread, reply, question
        "thread_kind": {"type": "keyword"},
        "group_id": {"type": "keyword"},
        "thread_id": {"type": "keyword"},
        "author_id": {"type": "keyword"},
        "city": {"type": "keyword"},
        "title": text_field(),
        "text": text_field(),
        "created_at": {"type": "date"},
        **language_copies("title", "text"),
    }
)
DISCUSSIONS = IndexSpec("discussions", DISCUSSIONS_MAPPING, 1)

THREAD_EVENTS = {"thread_posted", "thread_updated"}
REPLY_EVENTS = {"reply_posted", "reply_updated"}
QUESTION_EVENTS = {"question_asked", "question_updated"}
# What the indexer's queue is bound to (kit topology): these, and nothing else of conversations.
ROUTING_KEYS = tuple(f"conversations.{t}" for t in sorted(THREAD_EVENTS | REPLY_EVENTS | QUESTION_EVENTS))


def document_for(event: Event) -> dict[str, Any] | None:
    """The discussions document an event writes (a hidden tombstone for what may not be found),
    or None for an event of conversations this index does not keep."""
    if event.source != "conversations":
        return None
    data = event.data
    doc: dict[str, Any] = {"id": event.aggregate_id, "version": event.version, "created_at": data.get("created_at")}
    if event.type in THREAD_EVENTS:
        doc.update(
            kind="thread",
            thread_kind=data.get("kind"),
            group_id=data.get("group_id"),
            author_id=data.get("author_id"),
            city=event.city,
            title=data.get("title", ""),
            text=data.get("body", ""),
        )
        hidden = data.get("visibility") != "public" or bool(data.get("hidden"))
    elif event.type in REPLY_EVENTS:
        doc.update(
            kind="reply",
            group_id=data.get("group_id"),
            thread_id=data.get("thread_id"),
            author_id=data.get("author_id"),
            city=event.city,
            text=data.get("text", ""),
        )
        hidden = data.get("visibility") != "public" or bool(data.get("hidden"))
    elif event.type in QUESTION_EVENTS:
        doc.update(kind="question", author_id=data.get("asker_id"), city=data.get("city"), text=data.get("text", ""))
        hidden = bool(data.get("hidden"))
    else:
        return None
    if hidden:  # a tombstone keeps no text
        return {"id": doc["id"], "version": doc["version"], "kind": doc["kind"], "hidden": True}
    doc["hidden"] = False
    copies = languages.per_language(doc, ("title", "text"), None)
    if copies:
        doc["lang"] = copies
    return {k: v for k, v in doc.items() if v is not None}
