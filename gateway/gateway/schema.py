"""The GraphQL schema: types, queries and mutations, shaped for front-end teams.

Conventions: ``Node`` with opaque global IDs; Relay connections with ``totalCount``;
object-first mutations taking one ``input`` and returning a payload with ``userErrors``.
Each domain's part lives in its own module; this one puts them together.
"""

from __future__ import annotations

from typing import Any

import graphene

from . import ids, scalars
from .calendar import CalendarMutations
from .cities import CityMutations, CityQueries
from .common import NODE_LOADERS, City, Node
from .community import CommunityMutations, CommunityQueries, CoopShift, Trip
from .conversations import (
    Answer,
    Conversation,
    ConversationMutations,
    ConversationQueries,
    DiscussionReply,
    DiscussionThread,
    Message,
    Question,
)
from .discovery import DiscoveryQueries
from .discussion_search import DiscussionSearchQueries
from .inbox import InboxMutations, InboxQueries, Notification
from .listings import Contact, Listing, ListingMutations, ListingQueries
from .members import Group, Member, MemberMutations, MemberQueries
from .moderation import ModerationMutations, ModerationQueries, Report
from .my_outings import MyOutingsQueries
from .outings import Outing, OutingMutations, OutingQueries
from .pictures import Picture, PictureMutations
from .subscriptions import Subscription


class RootQueries(graphene.ObjectType):
    node = graphene.Field(
        Node,
        id=graphene.ID(required=True, description="A global ID, as any object's id field gives it."),
        description="Any object by its global ID; null when it does not exist or you may not see it.",
    )

    @staticmethod
    async def resolve_node(root: None, info: graphene.ResolveInfo, id: str) -> dict[str, Any] | None:
        decoded = ids.from_global_id(id)
        if decoded is None or decoded[0] not in NODE_LOADERS:
            return None
        return await NODE_LOADERS[decoded[0]](info, decoded[1])


class Query(
    RootQueries,
    CityQueries,
    OutingQueries,
    ListingQueries,
    DiscoveryQueries,
    CommunityQueries,
    MemberQueries,
    MyOutingsQueries,
    InboxQueries,
    ModerationQueries,
    ConversationQueries,
    DiscussionSearchQueries,
    graphene.ObjectType,
):
    """What can be read: outings, listings and people near a point, groups, your inbox, any object by id."""


class Mutation(
    OutingMutations,
    ListingMutations,
    CommunityMutations,
    MemberMutations,
    InboxMutations,
    CalendarMutations,
    PictureMutations,
    CityMutations,
    ModerationMutations,
    ConversationMutations,
    graphene.ObjectType,
):
    """What can be changed. Each takes one input and answers a payload whose userErrors name the
    fields at fault; send an Idempotency-Key header to retry one safely."""


schema = graphene.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[
        Outing,
        Listing,
        Contact,
        Member,
        Group,
        Notification,
        CoopShift,
        Trip,
        Picture,
        City,
        DiscussionThread,
        DiscussionReply,
        Question,
        Answer,
        Conversation,
        Message,
        Report,
    ],
)
scalars.install(schema.graphql_schema)
