"""Parents talk: group discussions, ask nearby and messages (the conversations service).

Who may read a group's threads is decided by the conversations service from its copy of the
members' groups; the gateway passes the viewer's id, and for ask nearby the viewer's city and
coarse cell as the members service lets them out (``members.viewer``: the home's ~1 km cell, the
city's centre in protected mode). Message texts are never logged (the access log names fields,
never variables) and never reach search.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import graphene
from graphql import GraphQLError

from parentnet_kit.geo import haversine_km
from parentnet_kit.i18n import t

from .. import cursors, ids
from ..context import Context, context_of
from .base import (
    NODE_LOADERS,
    NODE_TYPES,
    City,
    InputMutation,
    Node,
    after_argument,
    check_first,
    connection,
    connection_type,
    counterpart,
    edge_type,
    enum,
    enum_value,
    first_argument,
    input_mutation,
    local_id,
    member_of,
    parse_time,
    refused,
    require_viewer,
    resolve_city,
    signed_in_place,
    user_errors,
    user_errors_field,
    viewer_blocked,
    viewer_place,
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
QuestionScope = enum(
    "QuestionScope",
    "Who a question is asked to.",
    [
        ("CITY", "city", "The parents of the asker's city."),
        ("NEARBY", "nearby", "The parents within radiusKm of the asker's neighbourhood (~1 km cell, never a home)."),
    ],
)
ConversationStatus = enum(
    "ConversationStatus",
    "Where a conversation between two members stands.",
    [
        ("OPEN", "open", "Both can write."),
        ("REQUEST", "request", "A message request from someone the recipient does not know, not accepted yet."),
        ("DECLINED", "declined", "The recipient declined the request."),
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

    @staticmethod
    async def resolve_author(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await member_of(info, root.get("by"))

    @staticmethod
    def resolve_created_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime | None:
        return parse_time(root.get("at"))


class DiscussionReply(graphene.ObjectType):
    """A reply in a group thread."""

    class Meta:
        interfaces = (Node,)

    text = graphene.String(required=True, description="The reply, as written.")
    author = graphene.Field("gateway.schema.members.Member", description="Who wrote it; null if you may not see them.")
    position = graphene.Int(required=True, description="Its place in the thread: 1 for the first reply.")
    thread = graphene.Field(lambda: DiscussionThread, description="The thread it answers.")
    created_at = graphene.DateTime(required=True, description="When it was posted.")

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("DiscussionReply", root["id"])

    @staticmethod
    def resolve_position(root: dict[str, Any], info: graphene.ResolveInfo) -> int:
        return root["n"]

    @staticmethod
    async def resolve_author(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await member_of(info, root["author_id"])

    @staticmethod
    async def resolve_thread(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await load_thread(info, root["thread_id"])

    @staticmethod
    def resolve_created_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime | None:
        return parse_time(root["created_at"])


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

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("DiscussionThread", root["id"])

    @staticmethod
    async def resolve_author(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await member_of(info, root["author_id"])

    @staticmethod
    async def resolve_group(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await NODE_LOADERS["Group"](info, root["group_id"])

    @staticmethod
    def resolve_admin_answer(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return root.get("answer")

    @staticmethod
    def resolve_created_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime | None:
        return parse_time(root["created_at"])

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
        if page is None:
            return connection([], False, after, 0)
        cursor = cursors.encoder(info, arguments)
        edges = [{"cursor": cursor(item["n"]), "node": as_reply(item)} for item in page["items"]]
        return connection(edges, page["has_next_page"], after, page["total"])


def as_thread(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if view is None else {**view, "__typename": "DiscussionThread"}


DiscussionThreadEdge = edge_type("DiscussionThreadEdge", DiscussionThread, "threads")
DiscussionThreadConnection = connection_type(
    "DiscussionThreadConnection", DiscussionThreadEdge, DiscussionThread, "threads"
)


class RecommendedContact(graphene.ObjectType):
    """A trusted contact recommended in an answer, not (yet) in the directory."""

    kind = graphene.String(required=True, description="Who they are: paediatrician, nursery, ... (as ContactKind).")
    name = graphene.String(required=True, description="A person's or a place's name.")
    phone = graphene.String(description="A phone number, as given.")
    address = graphene.String(description="A practice's or a place's address, as given.")
    city = graphene.String(description="The city slug it serves, as given.")


class Answer(graphene.ObjectType):
    """An answer to a question asked nearby."""

    class Meta:
        interfaces = (Node,)

    text = graphene.String(required=True, description="The answer, as written.")
    author = graphene.Field("gateway.schema.members.Member", description="Who answered; null if you may not see them.")
    helpful = graphene.Boolean(required=True, description="The asker marked it helpful.")
    card = graphene.Field(
        Node,
        description="What it points to, shown as a card: a Contact, a Listing or an Outing; null if gone or hidden.",
    )
    recommended_contact = graphene.Field(
        RecommendedContact, description="A contact it recommends that is not in the directory yet (answerContactSave)."
    )
    position = graphene.Int(required=True, description="Its place among the answers: 1 for the first.")
    created_at = graphene.DateTime(required=True, description="When it was posted.")

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("Answer", root["id"])

    @staticmethod
    def resolve_position(root: dict[str, Any], info: graphene.ResolveInfo) -> int:
        return root["n"]

    @staticmethod
    async def resolve_author(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await member_of(info, root["author_id"])

    @staticmethod
    async def resolve_card(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        target = root.get("points_to") or {}
        loader = NODE_LOADERS.get(target.get("type", "").title())
        return await loader(info, target["id"]) if loader else None

    @staticmethod
    def resolve_recommended_contact(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return None if (root.get("points_to") or {}).get("type") == "contact" else root.get("contact")

    @staticmethod
    def resolve_created_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime | None:
        return parse_time(root["created_at"])


def as_answer(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if view is None else {**view, "__typename": "Answer"}


AnswerEdge = edge_type("AnswerEdge", Answer, "answers")
AnswerConnection = connection_type("AnswerConnection", AnswerEdge, Answer, "answers")


class Question(graphene.ObjectType):
    """A question asked to the parents of a city or of a neighbourhood."""

    class Meta:
        interfaces = (Node,)

    text = graphene.String(required=True, description="The question, as written.")
    scope = graphene.Field(QuestionScope, required=True, description="Who it was asked to.")
    radius_km = graphene.Float(required=True, description="For NEARBY: how far from the asker's neighbourhood.")
    asker = graphene.Field("gateway.schema.members.Member", description="Who asked; null if you may not see them.")
    city = graphene.Field(City, description="The asker's city.")
    answer_count = graphene.Int(required=True, description="Answers shown.")
    created_at = graphene.DateTime(required=True, description="When it was asked.")
    answers = graphene.Field(
        AnswerConnection, required=True, first=first_argument(), after=after_argument(), description="Oldest first."
    )

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("Question", root["id"])

    @staticmethod
    async def resolve_asker(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await member_of(info, root["asker_id"])

    resolve_city = staticmethod(resolve_city)

    @staticmethod
    def resolve_created_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime | None:
        return parse_time(root["created_at"])

    @staticmethod
    async def resolve_answers(
        root: dict[str, Any], info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        ctx = context_of(info)
        first = check_first(info, first)
        arguments = {"question": root["id"]}
        position = cursors.decode(info, after, arguments, cursors.is_count)
        city, cell = await viewer_place(ctx)
        page = await ctx.conversations.answers(
            question_id=root["id"], viewer_id=ctx.viewer_id, city=city, cell=cell, first=first, after=position
        )
        if page is None:
            return connection([], False, after, 0)
        cursor = cursors.encoder(info, arguments)
        edges = [{"cursor": cursor(item["n"]), "node": as_answer(item)} for item in page["items"]]
        return connection(edges, page["has_next_page"], after, page["total"])


def as_question(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if view is None else {**view, "__typename": "Question"}


QuestionEdge = edge_type("QuestionEdge", Question, "questions")
QuestionConnection = connection_type("QuestionConnection", QuestionEdge, Question, "questions")


class Message(graphene.ObjectType):
    """A message between two members."""

    class Meta:
        interfaces = (Node,)

    text = graphene.String(required=True, description="As written.")
    sender = graphene.Field("gateway.schema.members.Member", description="Who wrote it.")
    from_viewer = graphene.Boolean(required=True, description="You wrote it.")
    read_by_other = graphene.Boolean(
        required=True,
        description="The other member read it: only when both have read receipts on (off by default); else false.",
    )
    position = graphene.Int(required=True, description="Its place in the conversation: 1 for the first.")
    conversation = graphene.Field(lambda: Conversation, description="The conversation it is in.")
    created_at = graphene.DateTime(required=True, description="When it was sent.")

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("Message", root["id"])

    @staticmethod
    def resolve_position(root: dict[str, Any], info: graphene.ResolveInfo) -> int:
        return root["n"]

    @staticmethod
    def resolve_from_viewer(root: dict[str, Any], info: graphene.ResolveInfo) -> bool:
        return root["sender_id"] == context_of(info).viewer_id

    @staticmethod
    async def resolve_sender(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await counterpart(info, root["sender_id"])

    @staticmethod
    async def resolve_conversation(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await load_conversation(info, root["conversation_id"])

    @staticmethod
    def resolve_created_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime | None:
        return parse_time(root["created_at"])


def as_message(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if view is None else {**view, "__typename": "Message"}


MessageEdge = edge_type("MessageEdge", Message, "messages")
MessageConnection = connection_type("MessageConnection", MessageEdge, Message, "messages")


class Conversation(graphene.ObjectType):
    """A conversation between you and another member, on its own or about a listing or an outing."""

    class Meta:
        interfaces = (Node,)

    other_member = graphene.Field("gateway.schema.members.Member", description="Who you talk with.")
    about = graphene.Field(Node, description="The Listing or Outing it is about; null when on its own, gone or hidden.")
    status = graphene.Field(ConversationStatus, required=True, description="Open, or a message request.")
    requested_by_viewer = graphene.Boolean(required=True, description="You started it as a message request.")
    muted = graphene.Boolean(required=True, description="You muted it: no notifications.")
    read_receipts = graphene.Boolean(required=True, description="You share read receipts (off by default).")
    unread_count = graphene.Int(required=True, description="Messages to you not read yet.")
    created_at = graphene.DateTime(required=True, description="When it started.")
    messages = graphene.Field(
        MessageConnection,
        required=True,
        first=first_argument(),
        after=after_argument(),
        description="Newest first; after pages to older ones.",
    )

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("Conversation", root["id"])

    @staticmethod
    async def resolve_other_member(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await counterpart(info, root["other_member_id"])

    @staticmethod
    async def resolve_about(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        about = root.get("about") or {}
        loader = NODE_LOADERS.get(about.get("type", "").title())
        return await loader(info, about["id"]) if loader else None

    @staticmethod
    def resolve_created_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime | None:
        return parse_time(root["created_at"])

    @staticmethod
    async def resolve_messages(
        root: dict[str, Any], info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        first = check_first(info, first)
        arguments = {"conversation": root["id"]}
        position = cursors.decode(info, after, arguments, cursors.is_count)
        page = await ctx.conversations.messages(
            conversation_id=root["id"], viewer_id=viewer, first=first, before=position
        )
        if page is None:
            return connection([], False, after, 0)
        cursor = cursors.encoder(info, arguments)
        edges = [{"cursor": cursor(item["n"]), "node": as_message(item)} for item in page["items"]]
        return connection(edges, page["has_next_page"], after, len(edges))


def as_conversation(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if view is None else {**view, "__typename": "Conversation"}


ConversationEdge = edge_type("ConversationEdge", Conversation, "conversations")
ConversationConnection = connection_type(
    "ConversationConnection",
    ConversationEdge,
    Conversation,
    "conversations",
    unread_count=graphene.Int(required=True, description="Unread messages in all these conversations together."),
)


# -- node loaders ----------------------------------------------------------------------------
async def load_thread(info: graphene.ResolveInfo, thread_id: str) -> dict[str, Any] | None:
    ctx = context_of(info)
    return as_thread((await ctx.conversations.get_threads(thread_ids=[thread_id], viewer_id=ctx.viewer_id))[0])


async def load_reply(info: graphene.ResolveInfo, reply_id: str) -> dict[str, Any] | None:
    ctx = context_of(info)
    return as_reply((await ctx.conversations.get_replies(reply_ids=[reply_id], viewer_id=ctx.viewer_id))[0])


async def _visible_to_viewer(ctx: Context, view: dict[str, Any] | None, author_field: str) -> dict[str, Any] | None:
    if view is None or view[author_field] in await ctx.blocked_by():
        return None
    return view


async def load_question(info: graphene.ResolveInfo, question_id: str) -> dict[str, Any] | None:
    ctx = context_of(info)
    if ctx.viewer_id is None:
        return None
    city, cell = await viewer_place(ctx)
    view = (
        await ctx.conversations.get_questions(question_ids=[question_id], viewer_id=ctx.viewer_id, city=city, cell=cell)
    )[0]
    return as_question(view)


async def load_answer(info: graphene.ResolveInfo, answer_id: str) -> dict[str, Any] | None:
    ctx = context_of(info)
    if ctx.viewer_id is None:
        return None
    city, cell = await viewer_place(ctx)
    view = (await ctx.conversations.get_answers(answer_ids=[answer_id], viewer_id=ctx.viewer_id, city=city, cell=cell))[
        0
    ]
    return None if view is None or view["author_id"] in await viewer_blocked(ctx) else as_answer(view)


async def load_conversation(info: graphene.ResolveInfo, conversation_id: str) -> dict[str, Any] | None:
    ctx = context_of(info)
    if ctx.viewer_id is None:
        return None
    return as_conversation(
        (await ctx.conversations.get_conversations(conversation_ids=[conversation_id], viewer_id=ctx.viewer_id))[0]
    )


async def load_message(info: graphene.ResolveInfo, message_id: str) -> dict[str, Any] | None:
    ctx = context_of(info)
    if ctx.viewer_id is None:
        return None
    return as_message((await ctx.conversations.get_messages(message_ids=[message_id], viewer_id=ctx.viewer_id))[0])


NODE_TYPES.update(
    DiscussionThread=DiscussionThread,
    DiscussionReply=DiscussionReply,
    Question=Question,
    Answer=Answer,
    Conversation=Conversation,
    Message=Message,
)
NODE_LOADERS.update(
    DiscussionThread=load_thread,
    DiscussionReply=load_reply,
    Question=load_question,
    Answer=load_answer,
    Conversation=load_conversation,
    Message=load_message,
)


# -- queries ---------------------------------------------------------------------------------
class ConversationQueries(graphene.ObjectType):
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
    questions_nearby = graphene.Field(
        QuestionConnection,
        first=first_argument(),
        after=after_argument(),
        description="Questions asked to you: your city's, and those asked within reach of your neighbourhood. "
        "Newest first. Signed in only.",
    )
    conversations = graphene.Field(
        ConversationConnection,
        first=first_argument(),
        after=after_argument(),
        description="Your conversations (not the message requests waiting for you), newest first. Signed in only.",
    )
    message_requests = graphene.Field(
        ConversationConnection,
        first=first_argument(),
        after=after_argument(),
        description="Message requests from members you do not know yet: accept or decline. Signed in only.",
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

    @staticmethod
    async def resolve_questions_nearby(
        root: None, info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        first = check_first(info, first)
        position = cursors.decode(info, after, {}, cursors.is_key_pair)
        city, cell = await signed_in_place(ctx)
        page = await ctx.conversations.questions_nearby(
            viewer_id=viewer, city=city, cell=cell, first=first, after=position
        )
        cursor = cursors.encoder(info, {})
        edges = [{"cursor": cursor([q["created_at"], q["id"]]), "node": as_question(q)} for q in page["items"]]
        return connection(edges, page["has_next_page"], after, page["total"])

    @staticmethod
    async def _conversations(info: graphene.ResolveInfo, requests: bool, first: int, after: str | None) -> Any:
        ctx = context_of(info)
        viewer = require_viewer(info)
        first = check_first(info, first)
        position = cursors.decode(info, after, {}, cursors.is_count)
        page = await ctx.conversations.conversations_of(
            viewer_id=viewer, requests=requests, first=first, after=position
        )
        cursor = cursors.encoder(info, {})
        edges = [
            {"cursor": cursor(n), "node": as_conversation(item)}
            for item, n in zip(page["items"], page["positions"], strict=True)
        ]
        return connection(edges, page["has_next_page"], after, page["total"], unread_count=page["unread"])

    @staticmethod
    async def resolve_conversations(
        root: None, info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        return await ConversationQueries._conversations(info, False, first, after)

    @staticmethod
    async def resolve_message_requests(
        root: None, info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        return await ConversationQueries._conversations(info, True, first, after)


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
        return {"thread": as_thread(result["thread"]), "user_errors": user_errors(result["errors"], ("input",))}


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
        return {"thread": as_thread(result["thread"]), "user_errors": user_errors(result["errors"], ("input",))}


class DiscussionThreadRefInput(graphene.InputObjectType):
    """Which thread."""

    thread_id = graphene.ID(required=True, description="The thread's ID.")


class DiscussionSuggestionSupport(
    InputMutation, input=DiscussionThreadRefInput, about="Which suggestion.", output=DiscussionThreadPayload
):
    """Support a suggestion in your group (once; again changes nothing)."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        thread = local_id(input["thread_id"], "DiscussionThread")
        if thread is None:
            return {"thread": None, "user_errors": refused("threadId", t("No such thread."))}
        result = await ctx.conversations.support_thread(thread_id=thread, member_id=viewer)
        return {"thread": as_thread(result["thread"]), "user_errors": user_errors(result["errors"], ("input",))}


class DiscussionSuggestionAnswerInput(graphene.InputObjectType):
    """The admins' answer."""

    thread_id = graphene.ID(required=True, description="The suggestion's ID.")
    text = graphene.String(required=True, description="1 to 5,000 characters.")


class DiscussionSuggestionAnswer(
    InputMutation, input=DiscussionSuggestionAnswerInput, about="The answer.", output=DiscussionThreadPayload
):
    """Admins: answer a suggestion; its author is told."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        thread = local_id(input["thread_id"], "DiscussionThread")
        if thread is None:
            return {"thread": None, "user_errors": refused("threadId", t("No such thread."))}
        result = await ctx.conversations.answer_suggestion(
            thread_id=thread, admin_id=viewer, fields={"text": input["text"]}
        )
        return {"thread": as_thread(result["thread"]), "user_errors": user_errors(result["errors"], ("input",))}


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
        return {"reply": as_reply(result["reply"]), "user_errors": user_errors(result["errors"], ("input",))}


class QuestionAskInput(graphene.InputObjectType):
    """A question to the parents around you."""

    text = graphene.String(required=True, description="1 to 1,000 characters, in any language.")
    scope = graphene.Field(QuestionScope, description="NEARBY when left out.")
    radius_km = graphene.Float(description="For NEARBY: 1 to 5 km from your neighbourhood (3 when left out).")


class QuestionPayload(graphene.ObjectType):
    """The question asked."""

    question = graphene.Field(Question, description="The question; null when nothing was asked.")
    user_errors = user_errors_field()


class QuestionAsk(InputMutation, input=QuestionAskInput, about="The question.", output=QuestionPayload):
    """Ask the parents of your city, or those within a few km of your neighbourhood (placed by
    your ~1 km cell, never your home; your city's centre in protected mode)."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        city, cell = await signed_in_place(ctx)
        if cell is None:  # a city this gateway does not know: nowhere to place the question
            raise GraphQLError("Your city is not open: a question is placed by it.")
        fields: dict[str, Any] = {"text": input["text"]}
        if input.get("scope") is not None:
            fields["scope"] = enum_value(input["scope"])
        if input.get("radius_km") is not None:
            fields["radius_km"] = input["radius_km"]
        result = await ctx.conversations.using(headers=ctx.once(info)).ask(
            asker_id=viewer, fields=fields, city=city, cell=cell
        )
        return {"question": as_question(result["question"]), "user_errors": user_errors(result["errors"], ("input",))}


class RecommendedContactInput(graphene.InputObjectType):
    """A trusted contact you recommend that is not in the directory yet."""

    kind = graphene.String(required=True, description="A ContactKind value in lower case: paediatrician, nursery...")
    name = graphene.String(required=True, description="A person's or a place's name.")
    phone = graphene.String(description="A phone number.")
    address = graphene.String(description="A practice's or a place's address (never a home).")
    city = graphene.String(description="The city slug it serves.")


class QuestionAnswerInput(graphene.InputObjectType):
    """An answer to a question asked to you."""

    question_id = graphene.ID(required=True, description="The question's ID.")
    text = graphene.String(required=True, description="1 to 3,000 characters.")
    points_to = graphene.ID(description="A Contact, Listing or Outing to show as a card with the answer.")
    contact = graphene.Field(RecommendedContactInput, description="A contact to recommend that is not listed yet.")


class AnswerPayload(graphene.ObjectType):
    """The answer after the mutation."""

    answer = graphene.Field(Answer, description="The answer; null when nothing was done.")
    user_errors = user_errors_field()


class QuestionAnswer(InputMutation, input=QuestionAnswerInput, about="The answer.", output=AnswerPayload):
    """Answer a question; it may point to a trusted contact, a listing or an outing."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        question = local_id(input["question_id"], "Question")
        if question is None:
            return {"answer": None, "user_errors": refused("questionId", t("No such question."))}
        fields: dict[str, Any] = {"text": input["text"]}
        if input.get("points_to"):
            decoded = ids.from_global_id(input["points_to"])
            if decoded is None or decoded[0] not in ("Contact", "Listing", "Outing"):
                message = "pointsTo must be a Contact, a Listing or an Outing."
                return {"answer": None, "user_errors": refused("pointsTo", message, "INVALID")}
            if await NODE_LOADERS[decoded[0]](info, decoded[1]) is None:
                return {"answer": None, "user_errors": refused("pointsTo", t("No such object."))}
            fields["points_to"] = {"type": decoded[0].lower(), "id": decoded[1]}
        if input.get("contact") is not None:
            fields["contact"] = {k: v for k, v in dict(input["contact"]).items() if v is not None}
        city, cell = await viewer_place(ctx)
        result = await ctx.conversations.using(headers=ctx.once(info)).answer(
            question_id=question, author_id=viewer, fields=fields, city=city, cell=cell
        )
        return {"answer": as_answer(result["answer"]), "user_errors": user_errors(result["errors"], ("input",))}


class AnswerMarkHelpfulInput(graphene.InputObjectType):
    """Which answer to your question."""

    answer_id = graphene.ID(required=True, description="The answer's ID.")
    helpful = graphene.Boolean(description="True when left out; false takes the mark back.")


class AnswerMarkHelpful(InputMutation, input=AnswerMarkHelpfulInput, about="Which answer.", output=AnswerPayload):
    """The asker marks an answer helpful."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        answer = local_id(input["answer_id"], "Answer")
        if answer is None:
            return {"answer": None, "user_errors": refused("answerId", t("No such answer."))}
        helpful = True if input.get("helpful") is None else bool(input["helpful"])
        result = await ctx.conversations.mark_helpful(answer_id=answer, asker_id=viewer, helpful=helpful)
        return {"answer": as_answer(result["answer"]), "user_errors": user_errors(result["errors"], ("input",))}


class AnswerContactSaveInput(graphene.InputObjectType):
    """Which answer's recommended contact."""

    answer_id = graphene.ID(required=True, description="An answer to your question recommending a contact.")


class AnswerContactSavePayload(graphene.ObjectType):
    """The contact in the directory, and the answer now pointing to it."""

    contact = graphene.Field(lambda: NODE_TYPES["Contact"], description="The contact in the directory.")
    answer = graphene.Field(Answer, description="The answer, its card now the contact.")
    user_errors = user_errors_field()


class AnswerContactSave(
    InputMutation, input=AnswerContactSaveInput, about="Which answer.", output=AnswerContactSavePayload
):
    """Add the contact an answer recommends to the directory in one step (you recommend it too)."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        answer = local_id(input["answer_id"], "Answer")
        empty = {"contact": None, "answer": None}
        if answer is None:
            return {**empty, "user_errors": refused("answerId", t("No such answer."))}
        card = await ctx.conversations.contact_card(answer_id=answer, member_id=viewer)
        if card["errors"]:
            return {**empty, "user_errors": user_errors(card["errors"], ("input",))}
        pointed = card.get("points_to") or {}
        if pointed.get("type") == "contact":
            result = await ctx.listings.recommend_contact(contact_id=pointed["id"], member_id=viewer)
            errors = [e for e in result["errors"] if e["code"] != "ALREADY_RECOMMENDED"]
            contact = NODE_LOADERS["Contact"]
            return {
                "contact": await contact(info, pointed["id"]),
                "answer": None,
                "user_errors": user_errors(errors, ("input",)),
            }
        if not card.get("contact"):
            return {**empty, "user_errors": refused("answerId", t("This answer recommends no contact."), "INVALID")}
        result = await ctx.listings.using(headers=ctx.once(info)).add_contact(fields=card["contact"], member_id=viewer)
        if result["errors"] or result["contact"] is None:
            return {**empty, "user_errors": user_errors(result["errors"], ("input", "contact"))}
        linked = await ctx.conversations.link_contact(
            answer_id=answer, member_id=viewer, contact_id=result["contact"]["id"]
        )
        return {
            "contact": {**result["contact"], "__typename": "Contact"},
            "answer": as_answer(linked["answer"]),
            "user_errors": user_errors(linked["errors"], ("input",)),
        }


class MessageSendInput(graphene.InputObjectType):
    """A message: to a member (optionally about a listing or an outing), or into a conversation."""

    text = graphene.String(required=True, description="1 to 4,000 characters.")
    recipient_id = graphene.ID(description="The member to write to (starts or continues your conversation).")
    about_id = graphene.ID(description="A Listing or an Outing the conversation is about.")
    conversation_id = graphene.ID(description="An existing conversation (instead of recipientId).")


class MessageSendPayload(graphene.ObjectType):
    """The message sent."""

    message = graphene.Field(Message, description="The message; null when nothing was sent.")
    conversation = graphene.Field(Conversation, description="Its conversation.")
    user_errors = user_errors_field()


class MessageSend(InputMutation, input=MessageSendInput, about="The message.", output=MessageSendPayload):
    """Write to a member. To someone who does not know you it is a message request; members in
    protected mode receive messages only from members of their groups or people they wrote to."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        empty = {"message": None, "conversation": None}
        fields: dict[str, Any] = {"text": input["text"]}
        if input.get("conversation_id"):
            conversation = local_id(input["conversation_id"], "Conversation")
            if conversation is None:
                return {**empty, "user_errors": refused("conversationId", t("No such conversation."))}
            fields["conversation_id"] = conversation
            recipient = None
        else:
            recipient = local_id(input.get("recipient_id"), "Member")
            if recipient is None:
                return {**empty, "user_errors": refused("recipientId", t("Name a member to write to."), "REQUIRED")}
            # Whether the member exists, asked without the viewer: a blocker's profile is hidden
            # from the member they blocked, and that must not show here.
            if (await ctx.members.get_members(member_ids=[recipient], viewer_id=None))[0] is None:
                return {**empty, "user_errors": refused("recipientId", t("No such member."))}
            fields["recipient_id"] = recipient
            if input.get("about_id"):
                decoded = ids.from_global_id(input["about_id"])
                if decoded is None or decoded[0] not in ("Listing", "Outing"):
                    return {**empty, "user_errors": refused("aboutId", "aboutId must be a Listing or an Outing.")}
                if await NODE_LOADERS[decoded[0]](info, decoded[1]) is None:
                    return {**empty, "user_errors": refused("aboutId", t("No such object."))}
                fields["about"] = {"type": decoded[0].lower(), "id": decoded[1]}
        protected = False
        if recipient is not None:
            protected = bool((await ctx.members.viewer_context(member_id=recipient)).get("protected"))
        else:
            current = (
                await ctx.conversations.get_conversations(
                    conversation_ids=[fields["conversation_id"]], viewer_id=viewer
                )
            )[0]
            if current is not None:
                other = await ctx.members.viewer_context(member_id=current["other_member_id"])
                protected = bool(other.get("protected"))
        result = await ctx.conversations.using(headers=ctx.once(info)).send_message(
            sender_id=viewer, fields=fields, recipient_protected=protected
        )
        return {
            "message": as_message(result["message"]),
            "conversation": as_conversation(result["conversation"]),
            "user_errors": user_errors(result["errors"], ("input",)),
        }


class ConversationRefInput(graphene.InputObjectType):
    """Which conversation."""

    conversation_id = graphene.ID(required=True, description="The conversation's ID.")


class ConversationPayload(graphene.ObjectType):
    """The conversation after the mutation."""

    conversation = graphene.Field(Conversation, description="The conversation; null when nothing was done.")
    user_errors = user_errors_field()


def _decide(accept: bool, doc: str) -> type[InputMutation]:
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        conversation = local_id(input["conversation_id"], "Conversation")
        if conversation is None:
            return {"conversation": None, "user_errors": refused("conversationId", t("No such conversation."))}
        result = await ctx.conversations.decide_request(conversation_id=conversation, member_id=viewer, accept=accept)
        return {
            "conversation": as_conversation(result["conversation"]),
            "user_errors": user_errors(result["errors"], ("input",)),
        }

    name = "MessageRequestAccept" if accept else "MessageRequestDecline"
    return input_mutation(name, doc, ConversationRefInput, "Which request.", ConversationPayload, mutate)


MessageRequestAccept = _decide(True, "Accept a message request: the conversation opens.")
MessageRequestDecline = _decide(False, "Decline a message request: it leaves your requests.")


class ConversationUpdateInput(graphene.InputObjectType):
    """Your settings for a conversation (left out: unchanged)."""

    conversation_id = graphene.ID(required=True, description="The conversation's ID.")
    muted = graphene.Boolean(description="No notifications for it.")
    left = graphene.Boolean(description="Leave it: it leaves your list until a new message comes.")
    read_receipts = graphene.Boolean(description="Share read receipts (both members must, to see them).")
    mark_read = graphene.Boolean(description="True: everything in it so far is read.")


class ConversationUpdate(
    InputMutation, input=ConversationUpdateInput, about="What to change.", output=ConversationPayload
):
    """Mute, leave, share read receipts, or mark a conversation read."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        conversation = local_id(input["conversation_id"], "Conversation")
        if conversation is None:
            return {"conversation": None, "user_errors": refused("conversationId", t("No such conversation."))}
        changes = {
            "muted": input.get("muted"),
            "left": input.get("left"),
            "receipts": input.get("read_receipts"),
            "read": input.get("mark_read"),
        }
        result = await ctx.conversations.set_participant(
            conversation_id=conversation, member_id=viewer, changes=changes
        )
        return {
            "conversation": as_conversation(result["conversation"]),
            "user_errors": user_errors(result["errors"], ("input",)),
        }


class ConversationMutations(graphene.ObjectType):
    discussion_thread_create = DiscussionThreadCreate.Field()
    discussion_thread_moderate = DiscussionThreadModerate.Field()
    discussion_reply_create = DiscussionReplyCreate.Field()
    discussion_suggestion_support = DiscussionSuggestionSupport.Field()
    discussion_suggestion_answer = DiscussionSuggestionAnswer.Field()
    question_ask = QuestionAsk.Field()
    question_answer = QuestionAnswer.Field()
    answer_mark_helpful = AnswerMarkHelpful.Field()
    answer_contact_save = AnswerContactSave.Field()
    message_send = MessageSend.Field()
    message_request_accept = MessageRequestAccept.Field()
    message_request_decline = MessageRequestDecline.Field()
    conversation_update = ConversationUpdate.Field()


# -- subscriptions ---------------------------------------------------------------------------
class ConversationSubscriptions(graphene.ObjectType):
    discussion_reply_added = graphene.Field(
        DiscussionReply,
        required=True,
        thread_id=graphene.Argument(graphene.ID, required=True, description="The thread's ID."),
        description="New replies to a thread you may read, as they are posted.",
    )
    question_asked_nearby = graphene.Field(
        Question,
        required=True,
        description="Questions asked to you (your city's, or within reach of your neighbourhood). Signed in only.",
    )
    answer_added = graphene.Field(
        Answer,
        required=True,
        question_id=graphene.Argument(graphene.ID, required=True, description="The question's ID."),
        description="New answers to a question you may see.",
    )
    message_received = graphene.Field(
        Message, required=True, description="Messages to you (and message requests) as they arrive. Signed in only."
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
        async for event in ctx.feed.listen("reply_posted", accept):
            # Loaded again: what moderation hid since, or a group the viewer left, is not shown.
            view = (await ctx.conversations.get_replies(reply_ids=[event["aggregate_id"]], viewer_id=ctx.viewer_id))[0]
            if view is not None and view["author_id"] not in await ctx.blocked_by():
                yield as_reply(view)  # type: ignore[misc]

    @staticmethod
    async def subscribe_question_asked_nearby(root: None, info: graphene.ResolveInfo) -> AsyncIterator[dict[str, Any]]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        city, cell = await viewer_place(ctx)

        def reaches(event: dict[str, Any]) -> bool:
            data = event["data"]
            if event["source"] != SERVICE or data.get("asker_id") == viewer:
                return False
            if data.get("scope") == "city":
                return data.get("city") == city
            where = data.get("cell") or {}
            if cell is None or "lat" not in where:
                return False
            return haversine_km(where["lat"], where["lon"], cell["lat"], cell["lon"]) <= float(data.get("radius_km", 0))

        async for event in ctx.feed.listen("question_asked", reaches):
            view = (
                await ctx.conversations.get_questions(
                    question_ids=[event["aggregate_id"]], viewer_id=viewer, city=city, cell=cell
                )
            )[0]
            if view is not None and view["asker_id"] not in await viewer_blocked(ctx):
                yield as_question(view)  # type: ignore[misc]

    @staticmethod
    async def subscribe_answer_added(
        root: None, info: graphene.ResolveInfo, question_id: str
    ) -> AsyncIterator[dict[str, Any]]:
        ctx = context_of(info)
        require_viewer(info)
        question = local_id(question_id, "Question")
        if question is None or await load_question(info, question) is None:
            raise GraphQLError("No such question.")
        city, cell = await viewer_place(ctx)
        accept = lambda e: e["source"] == SERVICE and e["data"].get("question_id") == question  # noqa: E731
        async for event in ctx.feed.listen("answer_posted", accept):
            view = (
                await ctx.conversations.get_answers(
                    answer_ids=[event["aggregate_id"]], viewer_id=ctx.viewer_id, city=city, cell=cell
                )
            )[0]
            if view is not None and view["author_id"] not in await viewer_blocked(ctx):
                yield as_answer(view)  # type: ignore[misc]

    @staticmethod
    async def subscribe_message_received(root: None, info: graphene.ResolveInfo) -> AsyncIterator[dict[str, Any]]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        accept = lambda e: e["source"] == SERVICE and viewer in (e["data"].get("deliver_to") or [])  # noqa: E731
        async for event in ctx.feed.listen("message_sent", accept):
            view = (await ctx.conversations.get_messages(message_ids=[event["aggregate_id"]], viewer_id=viewer))[0]
            if view is not None:
                yield as_message(view)  # type: ignore[misc]
