"""The GraphQL schema, put together: the only module that imports the others.

Conventions: ``Node`` with opaque global IDs; Relay connections with ``totalCount``;
object-first mutations taking one ``input`` and returning a payload with ``userErrors``
(``base.InputMutation``). Each bounded context's part lives in its own module; to add one, import
its Query, Mutation or Subscription part here and put it in the list below, where its fields
should print in ``schema.graphql`` (graphene lists a type's fields base by base).
"""

from __future__ import annotations

from typing import Any

import graphene

from .. import ids, scalars
from .accounts import AccountMutations
from .answer_contacts import AnswerContactMutations
from .ask_nearby import Answer, Question, QuestionMutations, QuestionQueries, QuestionSubscriptions
from .attendance import AttendanceMutations
from .base import NODE_LOADERS, City, Node
from .calendar import CalendarMutations
from .cities import CityMutations, CityQueries
from .community import CommunityQueries
from .contacts import Contact, ContactMutations, ContactQueries
from .coop import CoopMutations, CoopShift
from .discovery import DiscoveryQueries
from .discussion_search import DiscussionSearchQueries
from .groups import Group, GroupMutations, GroupQueries
from .inbox import InboxMutations, InboxQueries, Notification
from .listings import Listing, ListingMutations, ListingQueries
from .members import Member, MemberMutations, MemberQueries
from .messages import Conversation, Message, MessageMutations, MessageQueries, MessageSubscriptions
from .moderation import ModerationMutations, Report
from .moderation_queue import ModerationQueries
from .my_outings import MyOutingsQueries
from .outing_changes import OutingChangeMutations
from .outings import Outing, OutingQueries
from .pictures import Picture, PictureMutations
from .subscriptions import OutingSubscriptions
from .suggestions import SuggestionMutations
from .threads import (
    DiscussionReply,
    DiscussionThread,
    ThreadMutations,
    ThreadQueries,
    ThreadSubscriptions,
)
from .trips import Trip, TripMutations


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


# The parts of each root type, in the order schema.graphql prints their fields.
QUERIES: list[type[graphene.ObjectType]] = [
    DiscussionSearchQueries,
    ThreadQueries,
    QuestionQueries,
    MessageQueries,
    ModerationQueries,
    InboxQueries,
    MyOutingsQueries,
    MemberQueries,
    GroupQueries,
    CommunityQueries,
    DiscoveryQueries,
    ListingQueries,
    ContactQueries,
    OutingQueries,
    CityQueries,
    RootQueries,
]
MUTATIONS: list[type[graphene.ObjectType]] = [
    ThreadMutations,
    SuggestionMutations,
    QuestionMutations,
    AnswerContactMutations,
    MessageMutations,
    ModerationMutations,
    CityMutations,
    PictureMutations,
    CalendarMutations,
    InboxMutations,
    AccountMutations,
    MemberMutations,
    GroupMutations,
    CoopMutations,
    TripMutations,
    ListingMutations,
    ContactMutations,
    OutingChangeMutations,
    AttendanceMutations,
]
SUBSCRIPTIONS: list[type[graphene.ObjectType]] = [
    ThreadSubscriptions,
    QuestionSubscriptions,
    MessageSubscriptions,
    OutingSubscriptions,
]


def root_type(name: str, parts: list[type[graphene.ObjectType]], doc: str) -> type[graphene.ObjectType]:
    """One root type of ``parts``: graphene collects fields from the last base first, so the
    bases are the parts reversed."""
    return type(name, (*reversed(parts), graphene.ObjectType), {"__doc__": doc})


Query = root_type(
    "Query",
    QUERIES,
    "What can be read: outings, listings and people near a point, groups, your inbox, any object by id.",
)
Mutation = root_type(
    "Mutation",
    MUTATIONS,
    "What can be changed. Each takes one input and answers a payload whose userErrors name the\n"
    "fields at fault; send an Idempotency-Key header to retry one safely.",
)
Subscription = root_type(
    "Subscription",
    SUBSCRIPTIONS,
    "What is pushed as it happens, over the websocket (graphql-transport-ws) on /graphql.",
)

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
