"""Search over parents' talk (issue 19): threads and replies of groups, and questions asked in the
viewer's city, found by their words in any language the outing search reads.

What may be found is decided twice: the search service's discussions index keeps a private
group's items for its members only, never hidden content, never anything across a block, and
counts only that; each item found is then read through its node loader, so the conversations
service (its own copies of groups, memberships and blocks) has the last word, and an item it no
longer shows (hidden a moment ago) is left out of the page.
"""

from __future__ import annotations

import asyncio
from typing import Any

import graphene

from .. import ids
from ..context import Context
from .base import (
    NODE_LOADERS,
    Node,
    after_argument,
    argument_errors,
    check_first,
    connection,
    connection_type,
    edge_type,
    enum,
    first_argument,
)

KIND_TYPES = {"thread": "DiscussionThread", "reply": "DiscussionReply", "question": "Question"}

DiscussionSearchKind = enum(
    "DiscussionSearchKind",
    "What a discussion search finds.",
    [
        ("THREAD", "thread", "A thread of a group's discussions (its title and first post)."),
        ("REPLY", "reply", "A reply in a group's thread."),
        ("QUESTION", "question", "A question asked nearby, in your city (signed in only)."),
    ],
)

DiscussionSearchEdge = edge_type(
    "DiscussionSearchEdge",
    Node,
    "discussions found (a DiscussionThread, DiscussionReply or Question)",
    kind=graphene.Field(DiscussionSearchKind, required=True, description="Which kind of item the node is."),
)

DiscussionSearchConnection = connection_type(
    "DiscussionSearchConnection",
    DiscussionSearchEdge,
    Node,
    "discussions found, best match first, then newest",
)


class DiscussionSearchQueries(graphene.ObjectType):
    discussion_search = graphene.Field(
        DiscussionSearchConnection,
        required=True,
        query=graphene.Argument(
            graphene.String,
            required=True,
            description=(
                "Words to find, as typed, in any language (1 to 200 characters, at most 10 words): every word must "
                "be in the item; the last may be a prefix; a Latin word of 4 letters or more may have one typo; "
                "each language's own analysis applies (French and English stems, Arabic and Bengali normalization "
                "and stems, Chinese words, Vietnamese tones); text in double quotes must appear as that phrase. "
                "Out of bounds is BAD_USER_INPUT naming query."
            ),
        ),
        group_id=graphene.Argument(graphene.ID, description="Only this group's threads and replies."),
        city=graphene.Argument(graphene.String, description="Only what belongs to this city (a city slug)."),
        kinds=graphene.Argument(
            graphene.List(graphene.NonNull(DiscussionSearchKind)),
            description="Only these kinds of item; all of them when left out.",
        ),
        first=first_argument(),
        after=after_argument(),
        description=(
            "Threads, replies and questions whose words match query, best match first, then newest. Public groups' "
            "threads and replies for everyone; a private group's for its members only (anyone else gets nothing "
            "of it, not even in totalCount); questions of your own city when signed in; never content a "
            "moderator hid or removed, never anything by a member you blocked or who blocked you, never messages."
        ),
    )

    @staticmethod
    async def resolve_discussion_search(
        root: None,
        info: graphene.ResolveInfo,
        query: str,
        group_id: str | None = None,
        city: str | None = None,
        kinds: list[Any] | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> dict[str, Any]:
        ctx: Context = info.context
        first = check_first(info, first)
        chosen = [getattr(k, "value", k) for k in kinds] if kinds is not None else list(KIND_TYPES)
        local_group = None
        if group_id is not None:
            decoded = ids.from_global_id(group_id)
            # Another type's ID, or nonsense, is a group with nothing in it.
            local_group = decoded[1] if decoded is not None and decoded[0] == "Group" else "-"
        question_city = None
        if ctx.viewer_id is not None and "question" in chosen:
            me = await ctx.members.viewer(member_id=ctx.viewer_id)
            question_city = (me or {}).get("city")
        if question_city is None:  # questions are for the parents of their city, signed in
            chosen = [k for k in chosen if k != "question"]
        if not chosen:
            return connection([], False, after, 0)
        answer = await ctx.search.discussions(
            text=query,
            viewer_id=ctx.viewer_id,
            viewer_groups=sorted((await ctx.viewer_context())["groups"]),
            group_id=local_group,
            city=city,
            kinds=chosen,
            question_city=question_city,
            first=first,
            after=after,
            apart_ids=await ctx.apart(),  # a block at once, before paging (search's copy lags it)
        )
        argument_errors(
            info, [{**e, "field": ["query" if e["field"] == ["text"] else e["field"][0]]} for e in answer["errors"]]
        )
        nodes = await asyncio.gather(
            *(NODE_LOADERS[KIND_TYPES[e["node"]["kind"]]](info, e["node"]["id"]) for e in answer["edges"])
        )
        edges = [
            {"cursor": e["cursor"], "node": node, "kind": e["node"]["kind"]}
            for e, node in zip(answer["edges"], nodes, strict=True)
            if node is not None
        ]
        return connection(edges, answer["has_next_page"], after, answer["total"])
