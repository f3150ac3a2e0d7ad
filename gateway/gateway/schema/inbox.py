"""A member's inbox in the schema: notifications from every service that keeps some.

Each service keeps the news about its own domain (events: outings changed, cancelled,
places freed up). Notification IDs carry their source, so marking them read goes back to
the right service.
"""

from __future__ import annotations

import asyncio
from typing import Any

import graphene

from parentnet_kit import i18n
from parentnet_kit.contract.rpc import InboxApi, ModerationClient

from .. import cursors, ids
from ..context import Context, context_of
from .base import (
    NODE_LOADERS,
    InputMutation,
    Node,
    after_argument,
    check_first,
    connection,
    connection_type,
    edge_type,
    enum,
    first_argument,
    require_viewer,
    time_resolver,
    user_errors_field,
)

# Every service that keeps notifications (moderation: reporters told the outcome, members warned
# or suspended).
SOURCES: tuple[str, ...] = ("events", "listings", "moderation", "conversations")


def _client(ctx: Context, source: str) -> InboxApi:
    """The client of the service ``source`` (one of ``SOURCES``) for its inbox methods: the
    Context's client field of that name (``ctx.events``, ``ctx.conversations``, ...);
    moderation's is made from the request's transport."""
    if source == "moderation":
        return ModerationClient(ctx.rpc)
    client = getattr(ctx, source)
    assert isinstance(client, InboxApi), source
    return client


_TYPES = [
    ("OUTING_CHANGED", "outing_changed", "The time or place of an outing you are coming to changed."),
    ("OUTING_CANCELLED", "outing_cancelled", "An outing you were coming to was cancelled."),
    ("WAITLIST_PROMOTED", "waitlist_promoted", "A place freed up: you moved from the waitlist to coming."),
    ("LISTING_MATCHED", "listing_matched", "An offer nearby matches your wanted request (or the other way round)."),
    (
        "LISTING_MATCHES",
        "listing_matches",
        "Your new listing matches several listings nearby (the message says how many; their owners were told;"
        " the subject is your listing). A single match comes as LISTING_MATCHED.",
    ),
    ("LISTING_RESERVATION_REQUESTED", "listing_reservation_requested", "Someone asked for your listing."),
    ("LISTING_RESERVATION_ACCEPTED", "listing_reservation_accepted", "The owner accepted your reservation."),
    ("LISTING_RESERVATION_DECLINED", "listing_reservation_declined", "The owner declined your reservation."),
    ("TRIP_SWAP_PROPOSED", "trip_swap_proposed", "A parent offers to swap rota days with you."),
    ("TRIP_ROTA_CHANGED", "trip_rota_changed", "Who drives or walks on a day of your trip changed."),
    ("REPORT_RESOLVED", "report_resolved", "A moderator decided on something you reported."),
    ("MODERATION_WARN", "moderation_warn", "A moderator warned you (the message says why)."),
    ("MODERATION_SUSPEND", "moderation_suspend", "A moderator suspended your account until a time."),
    ("MODERATION_UNSUSPEND", "moderation_unsuspend", "A moderator lifted your suspension."),
    ("GROUP_ANNOUNCEMENT", "group_announcement", "An admin of your group posted an announcement."),
    ("DISCUSSION_REPLY", "discussion_reply", "Someone replied to your thread."),
    ("SUGGESTION_ANSWERED", "suggestion_answered", "The admins answered your suggestion."),
    ("QUESTION_ANSWERED", "question_answered", "Someone answered your question."),
    ("MESSAGE_RECEIVED", "message_received", "A new message in one of your conversations."),
    ("MESSAGE_REQUEST", "message_request", "A message from a member you do not know yet."),
    ("OTHER", "other", "A kind this version of the API does not name yet: show the message."),
]
NotificationType = enum("NotificationType", "What a notification is about.", _TYPES)
_KNOWN = frozenset(value for _, value, _ in _TYPES)


class Notification(graphene.ObjectType):
    """Something that happened that you should know about."""

    class Meta:
        interfaces = (Node,)

    type = graphene.Field(NotificationType, required=True, description="What it is about.")
    kind = graphene.String(
        required=True,
        description="outing_changed, outing_cancelled, waitlist_promoted, listing_matched, ...",
        deprecation_reason="Use type, an enum of the same values in upper case. Deprecated 2026-11-30.",
    )
    message = graphene.String(
        required=True,
        description=(
            "A sentence to show as it is, in your language: your profile's languages first, then "
            "Accept-Language, then English (notifications from before translations: as first written)."
        ),
    )
    read = graphene.Boolean(required=True, description="True once marked read.")
    created_at = graphene.DateTime(required=True, description="When it happened.")
    subject = graphene.Field(Node, description="What it is about (an Outing, a Listing...); null if gone or hidden.")

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("Notification", f"{root['source']}:{root['id']}")

    @staticmethod
    def resolve_type(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return root["kind"] if root["kind"] in _KNOWN else "other"

    @staticmethod
    async def resolve_message(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        if not root.get("message_id"):
            return str(root.get("message", ""))
        ctx: Context = info.context
        return i18n.render(root, await ctx.recipient_language())

    resolve_created_at = time_resolver("created_at")

    @staticmethod
    async def resolve_subject(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        subject = root.get("subject") or {}
        loader = NODE_LOADERS.get(subject.get("type", ""))
        return await loader(info, subject["id"]) if loader else None


NotificationEdge = edge_type("NotificationEdge", Notification, "notifications")
NotificationConnection = connection_type(
    "NotificationConnection",
    NotificationEdge,
    Notification,
    "notifications",
    unread_count=graphene.Int(
        required=True,
        description=(
            "Notifications not marked read, all pages together; each service counts at most its newest 100 "
            "unread (show 99+ beyond)."
        ),
    ),
)


class InboxQueries(graphene.ObjectType):
    inbox = graphene.Field(
        NotificationConnection,
        first=first_argument(),
        after=after_argument(),
        description="Your notifications, newest first. Signed in only.",
    )

    @staticmethod
    async def resolve_inbox(
        root: None, info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        viewer = require_viewer(info)
        ctx: Context = info.context
        first = check_first(info, first)
        # A position is (time, id) of the last item shown: every service can answer
        # "strictly before it", and the pages are merged newest first.
        before_at, before_key = cursors.decode(info, after, {}, cursors.is_key_pair) or ("", "")
        pages = await asyncio.gather(
            *(
                _client(ctx, source).inbox(
                    member_id=viewer, first=first, before_at=before_at or None, before_id=before_key
                )
                for source in SOURCES
            )
        )
        items = [
            {**item, "source": source, "__typename": "Notification"}
            for source, page in zip(SOURCES, pages, strict=True)
            for item in page["items"]
        ]
        items.sort(key=lambda item: (item["created_at"], f"{item['source']}:{item['id']}"), reverse=True)
        shown = items[:first]
        cursor = cursors.encoder(info, {})
        edges = [{"cursor": cursor([item["created_at"], item["id"]]), "node": item} for item in shown]
        more = len(items) > first or any(p["has_next_page"] for p in pages)
        total = sum(p["total"] for p in pages)
        return connection(edges, more, after, total, unread_count=sum(p["unread"] for p in pages))


class NotificationsMarkReadInput(graphene.InputObjectType):
    """Which notifications."""

    ids = graphene.List(
        graphene.NonNull(graphene.ID),
        required=True,
        description="Notification IDs; others' and unknown ones are skipped.",
    )


class NotificationsMarkReadPayload(graphene.ObjectType):
    """How many were marked."""

    marked = graphene.Int(required=True, description="Notifications newly marked read.")
    user_errors = user_errors_field()


class NotificationsMarkRead(
    InputMutation, input=NotificationsMarkReadInput, about="Which notifications.", output=NotificationsMarkReadPayload
):
    """Mark notifications of yours read."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        by_source: dict[str, list[str]] = {}
        for global_id in input["ids"]:
            decoded = ids.from_global_id(global_id)
            if decoded and decoded[0] == "Notification":
                source, _, local = decoded[1].partition(":")
                if source in SOURCES:
                    by_source.setdefault(source, []).append(local)
        marked = 0
        for source, local_ids in by_source.items():
            marked += await _client(context_of(info), source).mark_read(member_id=viewer, notification_ids=local_ids)
        return {"marked": marked, "user_errors": []}


class InboxMutations(graphene.ObjectType):
    notifications_mark_read = NotificationsMarkRead.Field()
