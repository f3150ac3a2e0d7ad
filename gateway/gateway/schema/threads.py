"""Group discussions in the schema: threads (discussions, announcements, suggestions) and their
replies. Who may read a group's threads is decided by the conversations service from its copy of
the members' groups; the gateway passes the viewer's id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import graphene
from graphql import GraphQLError

from parentnet_kit.i18n import t

from .. import cursors
from ..context import context_of
from .base import (
    NODE_LOADERS,
    NODE_TYPES,
    InputMutation,
    Node,
    after_argument,
    check_first,
    connection,
    connection_type,
    edge_type,
    enum,
    enum_value,
    first_argument,
    global_id_resolver,
    key_resolver,
    local_id,
    member_resolver,
    numbered_page,
    payload,
    refused,
    require_viewer,
    time_resolver,
    user_errors_field,
)

SERVICE = "conversations"


ThreadKind = enum(
    "DiscussionThreadKind",
    "What a group thread is.",
    [
        ("DISCUSSION", "discussion", "A conversation any member can start and reply to."),
        ("ANNOUNCEMENT", "announcement", "News from the group's admins; reaches every member's inbox."),
        ("SUGGESTION", "suggestion", "A suggestion box entry: members support it, the admins answer."),
    ],
)


# -- types -------------------------------------------------------------------------------
class SuggestionAnswer(graphene.ObjectType):
    """The admins' answer to a suggestion."""

    text = graphene.String(required=True, description="The answer, as written.")
    author = graphene.Field(
        "gateway.schema.members.Member", description="The admin who answered; null if you may not see them."
    )
    created_at = graphene.DateTime(required=True, description="When it was answered.")

    resolve_author = member_resolver("by")

    resolve_created_at = time_resolver("at")


class DiscussionReply(graphene.ObjectType):
    """A reply in a group thread."""

    class Meta:
        interfaces = (Node,)

    text = graphene.String(required=True, description="The reply, as written.")
    author = graphene.Field("gateway.schema.members.Member", description="Who wrote it; null if you may not see them.")
    position = graphene.Int(required=True, description="Its place in the thread: 1 for the first reply.")
    thread = graphene.Field(lambda: DiscussionThread, description="The thread it answers.")
    created_at = graphene.DateTime(required=True, description="When it was posted.")

    resolve_id = global_id_resolver("DiscussionReply")

    resolve_position = key_resolver("n")

    resolve_author = member_resolver("author_id")

    @staticmethod
    async def resolve_thread(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await load_thread(info, root["thread_id"])

    resolve_created_at = time_resolver("created_at")


def as_reply(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if view is None else {**view, "__typename": "DiscussionReply"}


DiscussionReplyEdge = edge_type("DiscussionReplyEdge", DiscussionReply, "replies")


DiscussionReplyConnection = connection_type(
    "DiscussionReplyConnection", DiscussionReplyEdge, DiscussionReply, "replies"
)


class DiscussionThread(graphene.ObjectType):
    """A thread in a group: a discussion, an announcement or a suggestion."""

    class Meta:
        interfaces = (Node,)

    kind = graphene.Field(ThreadKind, required=True, description="Discussion, announcement or suggestion.")
    title = graphene.String(required=True, description="As written.")
    body = graphene.String(required=True, description="As written; may be empty.")
    author = graphene.Field(
        "gateway.schema.members.Member", description="Who started it; null if you may not see them."
    )
    group = graphene.Field(lambda: NODE_TYPES["Group"], description="The group it is in.")
    pinned = graphene.Boolean(required=True, description="Shown first in the group's list (admins pin).")
    locked = graphene.Boolean(required=True, description="No more replies (admins lock).")
    reply_count = graphene.Int(required=True, description="Replies shown in the thread.")
    support_count = graphene.Int(required=True, description="Members who support it (suggestions).")
    supported_by_viewer = graphene.Boolean(required=True, description="You support it.")
    viewer_can_moderate = graphene.Boolean(required=True, description="You may pin, lock and answer (an admin).")
    admin_answer = graphene.Field(SuggestionAnswer, description="The admins' answer to a suggestion, once given.")
    created_at = graphene.DateTime(required=True, description="When it was started.")
    replies = graphene.Field(
        DiscussionReplyConnection,
        required=True,
        first=first_argument(),
        after=after_argument(),
        description="Its replies, oldest first.",
    )

    resolve_id = global_id_resolver("DiscussionThread")

    resolve_author = member_resolver("author_id")

    @staticmethod
    async def resolve_group(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await NODE_LOADERS["Group"](info, root["group_id"])

    @staticmethod
    def resolve_admin_answer(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return root.get("answer")

    resolve_created_at = time_resolver("created_at")

    @staticmethod
    async def resolve_replies(
        root: dict[str, Any], info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        ctx = context_of(info)
        first = check_first(info, first)
        arguments = {"thread": root["id"]}
        position = cursors.decode(info, after, arguments, cursors.is_count)
        page = await ctx.conversations.replies(
            thread_id=root["id"], viewer_id=ctx.viewer_id, first=first, after=position
        )
        return numbered_page(info, arguments, after, page, "DiscussionReply")


def as_thread(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if view is None else {**view, "__typename": "DiscussionThread"}


DiscussionThreadEdge = edge_type("DiscussionThreadEdge", DiscussionThread, "threads")


DiscussionThreadConnection = connection_type(
    "DiscussionThreadConnection", DiscussionThreadEdge, DiscussionThread, "threads"
)


# -- node loaders ----------------------------------------------------------------------------
async def load_thread(info: graphene.ResolveInfo, thread_id: str) -> dict[str, Any] | None:
    ctx = context_of(info)
    return as_thread((await ctx.conversations.get_threads(thread_ids=[thread_id], viewer_id=ctx.viewer_id))[0])


async def load_reply(info: graphene.ResolveInfo, reply_id: str) -> dict[str, Any] | None:
    ctx = context_of(info)
    return as_reply((await ctx.conversations.get_replies(reply_ids=[reply_id], viewer_id=ctx.viewer_id))[0])


class DiscussionThreadPayload(graphene.ObjectType):
    """The thread after the mutation."""

    thread = graphene.Field(DiscussionThread, description="The thread as it is now; null when nothing was done.")
    user_errors = user_errors_field()


class DiscussionThreadCreateInput(graphene.InputObjectType):
    """A new thread in a group you are an active member of."""

    group_id = graphene.ID(required=True, description="The group's ID.")
    title = graphene.String(required=True, description="1 to 200 characters.")
    body = graphene.String(description="Up to 10,000 characters.")
    kind = graphene.Field(ThreadKind, description="DISCUSSION when left out; ANNOUNCEMENT for admins only.")


class DiscussionThreadCreate(
    InputMutation, input=DiscussionThreadCreateInput, about="The thread.", output=DiscussionThreadPayload
):
    """Start a thread in a group; an announcement reaches every member's inbox."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        group = local_id(input["group_id"], "Group")
        if group is None:
            return {"thread": None, "user_errors": refused("groupId", t("No such group."))}
        fields = {k: enum_value(input.get(k)) for k in ("title", "body", "kind") if input.get(k) is not None}
        result = await ctx.conversations.using(headers=ctx.once(info)).create_thread(
            group_id=group, author_id=viewer, fields=fields
        )
        return payload(result, thread="DiscussionThread")


class DiscussionThreadModerateInput(graphene.InputObjectType):
    """What the group's admins change on a thread (left out: unchanged)."""

    thread_id = graphene.ID(required=True, description="The thread's ID.")
    pinned = graphene.Boolean(description="Show it first in the group's list.")
    locked = graphene.Boolean(description="No more replies.")


class DiscussionThreadModerate(
    InputMutation, input=DiscussionThreadModerateInput, about="What to change.", output=DiscussionThreadPayload
):
    """Admins: pin or lock a thread."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        thread = local_id(input["thread_id"], "DiscussionThread")
        if thread is None:
            return {"thread": None, "user_errors": refused("threadId", t("No such thread."))}
        result = await ctx.conversations.moderate_thread(
            thread_id=thread, actor_id=viewer, pinned=input.get("pinned"), locked=input.get("locked")
        )
        return payload(result, thread="DiscussionThread")


class DiscussionThreadRefInput(graphene.InputObjectType):
    """Which thread."""

    thread_id = graphene.ID(required=True, description="The thread's ID.")


class DiscussionReplyCreateInput(graphene.InputObjectType):
    """A reply to a thread of a group you are an active member of."""

    thread_id = graphene.ID(required=True, description="The thread's ID.")
    text = graphene.String(required=True, description="1 to 5,000 characters.")


class DiscussionReplyPayload(graphene.ObjectType):
    """The reply made."""

    reply = graphene.Field(DiscussionReply, description="The reply; null when nothing was posted.")
    user_errors = user_errors_field()


class DiscussionReplyCreate(
    InputMutation, input=DiscussionReplyCreateInput, about="The reply.", output=DiscussionReplyPayload
):
    """Reply to a thread."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        thread = local_id(input["thread_id"], "DiscussionThread")
        if thread is None:
            return {"reply": None, "user_errors": refused("threadId", t("No such thread."))}
        fields = {"text": input["text"]}
        result = await ctx.conversations.using(headers=ctx.once(info)).reply(
            thread_id=thread, author_id=viewer, fields=fields
        )
        return payload(result, reply="DiscussionReply")


NODE_TYPES.update(DiscussionThread=DiscussionThread, DiscussionReply=DiscussionReply)
NODE_LOADERS.update(DiscussionThread=load_thread, DiscussionReply=load_reply)


class ThreadMutations(graphene.ObjectType):
    discussion_thread_create = DiscussionThreadCreate.Field()
    discussion_thread_moderate = DiscussionThreadModerate.Field()
    discussion_reply_create = DiscussionReplyCreate.Field()


class ThreadQueries(graphene.ObjectType):
    group_discussions = graphene.Field(
        DiscussionThreadConnection,
        group_id=graphene.Argument(graphene.ID, required=True, description="The group's ID."),
        first=first_argument(),
        after=after_argument(),
        description=(
            "A group's threads, pinned first, then newest first. Null for a private group you are not an "
            "active member of (nor any count), and for a group that does not exist."
        ),
    )

    @staticmethod
    async def resolve_group_discussions(
        root: None, info: graphene.ResolveInfo, group_id: str, first: int = 20, after: str | None = None
    ) -> dict[str, Any] | None:
        ctx = context_of(info)
        first = check_first(info, first)
        group = local_id(group_id, "Group")
        if group is None:
            return None
        arguments = {"group": group}
        position = cursors.decode(info, after, arguments, cursors.is_count)
        page = await ctx.conversations.group_threads(
            group_id=group, viewer_id=ctx.viewer_id, first=first, after=position
        )
        if page is None:
            return None
        cursor = cursors.encoder(info, arguments)
        edges = [
            {"cursor": cursor(n), "node": as_thread(item)}
            for item, n in zip(page["items"], page["positions"], strict=True)
        ]
        return connection(edges, page["has_next_page"], after, page["total"])


class ThreadSubscriptions(graphene.ObjectType):
    discussion_reply_added = graphene.Field(
        DiscussionReply,
        required=True,
        thread_id=graphene.Argument(graphene.ID, required=True, description="The thread's ID."),
        description="New replies to a thread you may read, as they are posted.",
    )

    @staticmethod
    async def subscribe_discussion_reply_added(
        root: None, info: graphene.ResolveInfo, thread_id: str
    ) -> AsyncIterator[dict[str, Any]]:
        ctx = context_of(info)
        thread = local_id(thread_id, "DiscussionThread")
        if thread is None or await load_thread(info, thread) is None:
            raise GraphQLError("No such thread.")
        accept = lambda e: e["source"] == SERVICE and e["data"].get("thread_id") == thread  # noqa: E731
        async for event in ctx.listen("reply_posted", accept):
            # Loaded again: what moderation hid since, or a group the viewer left, is not shown.
            view = (await ctx.conversations.get_replies(reply_ids=[event["aggregate_id"]], viewer_id=ctx.viewer_id))[0]
            if view is not None and view["author_id"] not in await ctx.blocked_by():
                yield as_reply(view)  # type: ignore[misc]
