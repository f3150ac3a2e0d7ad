"""The moderators' view in the schema: the queue of open reports and the audit log of what was
done, for a group's moderators or the network's."""

from __future__ import annotations

from typing import Any

import graphene

from .. import cursors
from ..context import context_of
from .base import (
    after_argument,
    check_first,
    connection,
    first_argument,
    local_id,
    moderation_of,
    network_admin,
    require_viewer,
)


def _group_id(group_id: str | None) -> str | None:
    if group_id is None:
        return None
    return local_id(group_id, "Group") or "-"


def _group_argument() -> graphene.Argument:
    return graphene.Argument(graphene.ID, description="A group's global ID: its queue; without it, the network's.")


class ModerationQueries(graphene.ObjectType):
    network_moderator = graphene.Boolean(
        required=True,
        description=(
            "True when you work the network's moderation queue (a network moderator or admin); false when "
            "signed out. A group's admins and moderators work that group's queue (moderationQueue(groupId))."
        ),
    )
    moderation_queue = graphene.Field(
        "gateway.schema.moderation.ReportConnection",
        required=True,
        group_id=_group_argument(),
        first=first_argument(),
        after=after_argument(),
        description=(
            "Open reports, newest first: a group's (its admins and moderators) or the network's (network "
            "moderators). Empty, with a count of 0, for anyone else. Signed in only."
        ),
    )
    moderation_audit_log = graphene.Field(
        "gateway.schema.moderation.ModerationActionConnection",
        required=True,
        group_id=_group_argument(),
        first=first_argument(),
        after=after_argument(),
        description=(
            "Moderation actions, newest first: every one (network moderators) or a group's (also its admins). "
            "Empty, with a count of 0, for anyone else. Signed in only."
        ),
    )

    @staticmethod
    async def _page(
        info: graphene.ResolveInfo, items: str, group_id: str | None, first: int, after: str | None
    ) -> dict[str, Any]:
        viewer = require_viewer(info)
        ctx = context_of(info)
        first = check_first(info, first)
        arguments = {"group_id": group_id}
        position = cursors.decode(info, after, arguments, cursors.is_count)
        admin = await network_admin(ctx, viewer)
        read = moderation_of(ctx).queue if items == "reports" else moderation_of(ctx).audit_log
        page = await read(
            member_id=viewer, group_id=_group_id(group_id), first=first, after=position, network_admin=admin
        )
        cursor = cursors.encoder(info, arguments)
        typename = "Report" if items == "reports" else None
        edges = [
            {"cursor": cursor(item["position"]), "node": {**item, "__typename": typename} if typename else item}
            for item in page[items]
        ]
        return connection(edges, page["has_next_page"], after, page["total"])

    @staticmethod
    async def resolve_network_moderator(root: None, info: graphene.ResolveInfo) -> bool:
        ctx = context_of(info)
        if ctx.viewer_id is None:
            return False
        admin = await network_admin(ctx, ctx.viewer_id)
        return bool(await moderation_of(ctx).is_network_moderator(member_id=ctx.viewer_id, network_admin=admin))

    @staticmethod
    async def resolve_moderation_queue(
        root: None, info: graphene.ResolveInfo, group_id: str | None = None, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        return await ModerationQueries._page(info, "reports", group_id, first, after)

    @staticmethod
    async def resolve_moderation_audit_log(
        root: None, info: graphene.ResolveInfo, group_id: str | None = None, first: int = 20, after: str | None = None
    ) -> dict[str, Any]:
        return await ModerationQueries._page(info, "actions", group_id, first, after)
