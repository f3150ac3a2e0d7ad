"""Messages between two members in the schema: conversations, message requests, read receipts.
Message texts are never logged (the access log names fields, never variables) and never reach
search."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import graphene

from parentnet_kit.i18n import t

from .. import cursors, ids
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
    counterpart,
    edge_type,
    enum,
    first_argument,
    global_id_resolver,
    input_mutation,
    key_resolver,
    local_id,
    numbered_page,
    payload,
    refused,
    require_viewer,
    time_resolver,
    user_errors,
    user_errors_field,
)

SERVICE = "conversations"


ConversationStatus = enum(
    "ConversationStatus",
    "Where a conversation between two members stands.",
    [
        ("OPEN", "open", "Both can write."),
        ("REQUEST", "request", "A message request from someone the recipient does not know, not accepted yet."),
        ("DECLINED", "declined", "The recipient declined the request."),
    ],
)


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

    resolve_id = global_id_resolver("Message")

    resolve_position = key_resolver("n")

    @staticmethod
    def resolve_from_viewer(root: dict[str, Any], info: graphene.ResolveInfo) -> bool:
        return root["sender_id"] == context_of(info).viewer_id

    @staticmethod
    async def resolve_sender(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await counterpart(info, root["sender_id"])

    @staticmethod
    async def resolve_conversation(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await load_conversation(info, root["conversation_id"])

    resolve_created_at = time_resolver("created_at")


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

    resolve_id = global_id_resolver("Conversation")

    @staticmethod
    async def resolve_other_member(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return await counterpart(info, root["other_member_id"])

    @staticmethod
    async def resolve_about(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        about = root.get("about") or {}
        loader = NODE_LOADERS.get(about.get("type", "").title())
        return await loader(info, about["id"]) if loader else None

    resolve_created_at = time_resolver("created_at")

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
        # The whole count is not asked for: a page of a conversation counts its own messages.
        return numbered_page(info, arguments, after, page, "Message", total=len(page["items"]) if page else 0)


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
            # Whether the member exists for this viewer, as node(id) answers it: a member who
            # blocked the viewer is absent for them everywhere, here too ("No such member.", as for
            # an id nobody has). Asked without the viewer, this answer told a blocked member that
            # a member node(id) hid from them existed (the review's finding 3).
            if (await ctx.members.get_members(member_ids=[recipient], viewer_id=viewer))[0] is None:
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
        return payload(result, conversation="Conversation")

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
        return payload(result, conversation="Conversation")


NODE_TYPES.update(Conversation=Conversation, Message=Message)
NODE_LOADERS.update(Conversation=load_conversation, Message=load_message)


class MessageMutations(graphene.ObjectType):
    message_send = MessageSend.Field()
    message_request_accept = MessageRequestAccept.Field()
    message_request_decline = MessageRequestDecline.Field()
    conversation_update = ConversationUpdate.Field()


class MessageQueries(graphene.ObjectType):
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
        return await MessageQueries._conversations(info, False, first, after)

    @staticmethod
    async def resolve_message_requests(
        root: None, info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        return await MessageQueries._conversations(info, True, first, after)


class MessageSubscriptions(graphene.ObjectType):
    message_received = graphene.Field(
        Message, required=True, description="Messages to you (and message requests) as they arrive. Signed in only."
    )

    @staticmethod
    async def subscribe_message_received(root: None, info: graphene.ResolveInfo) -> AsyncIterator[dict[str, Any]]:
        ctx = context_of(info)
        viewer = require_viewer(info)
        accept = lambda e: e["source"] == SERVICE and viewer in (e["data"].get("deliver_to") or [])  # noqa: E731
        async for event in ctx.listen("message_sent", accept):
            view = (await ctx.conversations.get_messages(message_ids=[event["aggregate_id"]], viewer_id=viewer))[0]
            if view is not None:
                yield as_message(view)  # type: ignore[misc]
