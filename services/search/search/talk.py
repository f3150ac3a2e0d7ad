"""Parents' talk in search (issue 19): threads and replies of groups, and questions asked
nearby, from the conversations service's events. Never messages (their events carry no text
and are not even routed here), never where a question was asked from (the asker's cell stays
out: only the city is kept). A private group's threads and replies carry ``visibility:
private`` and are found only by the group's members (``discussion_filters``).

Content that moderation hid or removed comes back from conversations as ``*_updated`` with
``hidden`` set, at a higher version: it is written as a hidden tombstone, so it leaves every
result within the indexer's delay and a late event cannot bring it back.
"""

from __future__ import annotations

from typing import Any

from parentnet_kit.envelope import Event

from . import languages
from .indices import IndexSpec, language_copies, strict_mapping, text_field
from .queries import text_query

DISCUSSIONS_MAPPING: dict[str, Any] = strict_mapping(
    {
        "kind": {"type": "keyword"},  # thread, reply, question
        "thread_kind": {"type": "keyword"},
        "group_id": {"type": "keyword"},
        "thread_id": {"type": "keyword"},
        "author_id": {"type": "keyword"},
        "city": {"type": "keyword"},
        # public or private (a thread's or reply's group; absent for questions and in revision 1,
        # which kept public groups' threads only): a private one is for the group's members.
        "visibility": {"type": "keyword"},
        "title": text_field(),
        "text": text_field(),
        "created_at": {"type": "date"},
        **language_copies("title", "text"),
    }
)
# Revision 2: private groups' threads and replies indexed (for their members), and Latin text
# also analyzed as French and English (a thread declares no language).
DISCUSSIONS = IndexSpec("discussions", DISCUSSIONS_MAPPING, 2)
# Latin-script text in a discussion is analyzed under each of these (their light stemmers).
LATIN_GUESSES = ("fr", "en")
TEXT_WEIGHTS = {"title": 3, "text": 1}

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
            visibility=_visibility(data),
            title=data.get("title", ""),
            text=data.get("body", ""),
        )
        hidden = bool(data.get("hidden"))
    elif event.type in REPLY_EVENTS:
        doc.update(
            kind="reply",
            group_id=data.get("group_id"),
            thread_id=data.get("thread_id"),
            author_id=data.get("author_id"),
            city=event.city,
            visibility=_visibility(data),
            text=data.get("text", ""),
        )
        hidden = bool(data.get("hidden"))
    elif event.type in QUESTION_EVENTS:
        doc.update(kind="question", author_id=data.get("asker_id"), city=data.get("city"), text=data.get("text", ""))
        hidden = bool(data.get("hidden"))
    else:
        return None
    if hidden:  # a tombstone keeps no text
        return {"id": doc["id"], "version": doc["version"], "kind": doc["kind"], "hidden": True}
    doc["hidden"] = False
    copies = languages.per_language(doc, ("title", "text"), None)
    for code in LATIN_GUESSES:
        for field, text in languages.per_language(doc, ("title", "text"), code).get(code, {}).items():
            copies.setdefault(code, {})[field] = text
    if copies:
        doc["lang"] = copies
    return {k: v for k, v in doc.items() if v is not None}


def _visibility(data: dict[str, Any]) -> str:
    """A group's visibility as its event says; anything but ``public`` is kept as private."""
    return "public" if data.get("visibility") == "public" else "private"


def discussion_filters(
    viewer_groups: list[str],
    apart: list[str],
    group_id: str | None,
    city: str | None,
    kinds: list[str],
    question_city: str | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(filter, must_not)`` clauses: what a viewer may find. Never a hidden or removed item,
    a private group's item only for its members (``viewer_groups``), a question only in
    ``question_city`` (the viewer's own: a question is for the parents of its city; none
    without one), nothing by a member kept ``apart`` from the viewer by a block (either way)."""
    if question_city is None:
        kinds = [k for k in kinds if k != "question"]
    filters: list[dict[str, Any]] = [{"term": {"hidden": False}}, {"terms": {"kind": kinds}}]
    if "question" in kinds:
        others = {"bool": {"must_not": [{"term": {"kind": "question"}}]}}
        filters.append({"bool": {"should": [others, {"term": {"city": question_city}}], "minimum_should_match": 1}})
    if group_id:
        filters.append({"term": {"group_id": group_id}})
    if city:
        filters.append({"term": {"city": city}})
    must_not: list[dict[str, Any]] = [
        {
            "bool": {
                "filter": [{"term": {"visibility": "private"}}],
                "must_not": [{"terms": {"group_id": list(viewer_groups)}}],
            }
        }
    ]
    if apart:
        must_not.append({"terms": {"author_id": list(apart)}})
    return filters, must_not


KINDS = ("thread", "reply", "question")


def search_body(
    text: str,
    first: int,
    after: list[Any] | None,
    filters: list[dict[str, Any]],
    must_not: list[dict[str, Any]],
    older: list[str],
) -> dict[str, Any]:
    """The search for what matches ``text`` (``queries.text_query``: every word, the last as a
    prefix, one typo in a longer Latin word, each language's own analysis), best match first,
    then newest; the total counts only what the viewer may find."""
    return {
        "query": {
            "bool": {"must": [text_query(text, TEXT_WEIGHTS, True, older)], "filter": filters, "must_not": must_not}
        },
        "sort": [{"_score": "desc"}, {"created_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}],
        "_source": {"excludes": ["lang"]},
        "size": first + 1,  # one more tells whether there is a next page
        "track_total_hits": True,
        **({"search_after": after} if after is not None else {}),
    }
