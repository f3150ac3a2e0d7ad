"""The ``pictures`` field any subject type (outing, listing, group, member) carries, and who may
see a subject's pictures; the Picture type itself and its mutations are in ``pictures``."""

from __future__ import annotations

from typing import Any

import graphene

from parentnet_kit import picture_store

from ...context import Context

PICTURE = "gateway.schema.pictures.Picture"

# GraphQL type of a subject -> (kind the services speak, owning service).
SUBJECTS = {
    "Outing": ("outing", "events"),
    "Listing": ("listing", "listings"),
    "Group": ("group", "members"),
    "Member": ("member", "members"),
}
TYPE_OF_KIND = {kind: type_name for type_name, (kind, _) in SUBJECTS.items()}


async def may_see_member(ctx: Context, member_id: str) -> bool:
    """A member's pictures are for signed-in viewers only, and never across a block either way:
    a member's face is not for whoever holds a link or scrapes signed out (protected mode)."""
    if ctx.viewer_id is None:
        return False
    return ctx.viewer_id == member_id or member_id not in await ctx.apart()


def members_only(type_name: str, subject: dict[str, Any]) -> bool:
    """A private group: anyone finds it, only its members see what is in it, pictures included."""
    return type_name == "Group" and subject.get("visibility") == "private"


def pictures_field(what: str) -> graphene.List:
    """The ``pictures`` field of a subject type (``what``: "the outing", ...)."""
    return graphene.List(
        graphene.NonNull(PICTURE),
        required=True,
        description=f"Pictures of {what}, oldest first; at most {picture_store.PER_SUBJECT}. "
        "Seen by whoever may see it.",
    )


def pictures_resolver(type_name: str) -> Any:
    """The resolver of ``pictures`` on ``type_name``: one call per page for each type."""
    kind = SUBJECTS[type_name][0]

    async def resolve(root: dict[str, Any], info: graphene.ResolveInfo) -> list[dict[str, Any]]:
        ctx: Context = info.context
        if members_only(type_name, root) and await ctx.group_role(root["id"]) is None:
            return []
        if type_name == "Member" and not await may_see_member(ctx, root["id"]):
            return []
        return [{**p, "__typename": "Picture"} for p in await ctx.loaders.pictures[kind].load(root["id"])]

    return staticmethod(resolve)
