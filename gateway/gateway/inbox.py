"""A member's inbox in the schema: notifications from every service that keeps some.

Each service keeps the news about its own domain (events: outings changed, cancelled,
places freed up). Notification IDs carry their source, so marking them read goes back to
the right service.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import graphene

from . import ids
from .common import NODE_LOADERS, Node, PageInfo, UserError, connection, parse_time, require_viewer
from .context import Context

SOURCES = ("events", "listings")


class Notification(graphene.ObjectType):
    class Meta:
        interfaces = (Node,)

    kind = graphene.String(
        required=True, description="outing_changed, outing_cancelled, waitlist_promoted, listing_matched, ..."
    )
    message = graphene.String(required=True, description="A sentence to show as it is.")
    read = graphene.Boolean(required=True)
    created_at = graphene.DateTime(required=True)
    subject = graphene.Field(Node, description="What it is about (an Outing, a Listing...); null if gone or hidden.")

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("Notification", f"{root['source']}:{root['id']}")

    @staticmethod
    def resolve_created_at(root: dict[str, Any], info: graphene.ResolveInfo) -> datetime | None:
        return parse_time(root.get("created_at"))

    @staticmethod
    async def resolve_subject(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        subject = root.get("subject") or {}
        loader = NODE_LOADERS.get(subject.get("type", ""))
        return await loader(info, subject["id"]) if loader else None


class NotificationEdge(graphene.ObjectType):
    cursor = graphene.String(required=True)
    node = graphene.Field(Notification, required=True)


class NotificationConnection(graphene.ObjectType):
    edges = graphene.List(graphene.NonNull(NotificationEdge), required=True)
    nodes = graphene.List(graphene.NonNull(Notification), required=True)
    page_info = graphene.Field(PageInfo, required=True)
    total_count = graphene.Int(required=True)
    unread_count = graphene.Int(required=True)


class InboxQueries(graphene.ObjectType):
    inbox = graphene.Field(
        NotificationConnection,
        first=graphene.Argument(graphene.Int, default_value=20, description="1 to 100."),
        after=graphene.Argument(graphene.String),
        description="Your notifications, newest first. Signed in only.",
    )

    @staticmethod
    async def resolve_inbox(
        root: None, info: graphene.ResolveInfo, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        viewer = require_viewer(info)
        ctx: Context = info.context
        first = max(1, min(first, 100))
        # A position is (time, source:id) of the last item shown: every service can answer
        # "strictly before it", and the pages are merged newest first.
        position = ids.decode_cursor(after) if after else None
        before_at, _, before_key = (position or "").partition("|")
        pages = await asyncio.gather(
            *(ctx.rpc.call(source, "inbox", viewer, first, before_at or None, before_key) for source in SOURCES)
        )
        items = [
            {**item, "source": source, "__typename": "Notification"}
            for source, page in zip(SOURCES, pages, strict=True)
            for item in page["items"]
        ]
        items.sort(key=lambda item: (item["created_at"], f"{item['source']}:{item['id']}"), reverse=True)
        shown = items[:first]
        edges = [{"cursor": ids.encode_cursor(f"{item['created_at']}|{item['id']}"), "node": item} for item in shown]
        more = len(items) > first or any(p["has_next_page"] for p in pages)
        total = sum(p["total"] for p in pages)
        return connection(edges, more, after, total, unread_count=sum(p["unread"] for p in pages))


class NotificationsMarkReadInput(graphene.InputObjectType):
    ids = graphene.List(graphene.NonNull(graphene.ID), required=True)


class NotificationsMarkReadPayload(graphene.ObjectType):
    marked = graphene.Int(required=True)
    user_errors = graphene.List(graphene.NonNull(UserError), required=True)


class NotificationsMarkRead(graphene.Mutation):
    class Arguments:
        input = NotificationsMarkReadInput(required=True)

    Output = NotificationsMarkReadPayload

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
            marked += await info.context.rpc.call(source, "mark_read", viewer, local_ids)
        return {"marked": marked, "user_errors": []}


class InboxMutations(graphene.ObjectType):
    notifications_mark_read = NotificationsMarkRead.Field()
