"""A group's suggestion box: members support a suggestion thread, the admins answer it."""

from __future__ import annotations

from typing import Any

import graphene

from parentnet_kit.i18n import t

from ..context import context_of
from .base import (
    InputMutation,
    local_id,
    payload,
    refused,
    require_viewer,
)


class DiscussionSuggestionSupport(
    InputMutation,
    input="gateway.schema.threads.DiscussionThreadRefInput",
    about="Which suggestion.",
    output="gateway.schema.threads.DiscussionThreadPayload",
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
        return payload(result, thread="DiscussionThread")


class DiscussionSuggestionAnswerInput(graphene.InputObjectType):
    """The admins' answer."""

    thread_id = graphene.ID(required=True, description="The suggestion's ID.")
    text = graphene.String(required=True, description="1 to 5,000 characters.")


class DiscussionSuggestionAnswer(
    InputMutation,
    input=DiscussionSuggestionAnswerInput,
    about="The answer.",
    output="gateway.schema.threads.DiscussionThreadPayload",
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
        return payload(result, thread="DiscussionThread")


class SuggestionMutations(graphene.ObjectType):
    discussion_suggestion_support = DiscussionSuggestionSupport.Field()
    discussion_suggestion_answer = DiscussionSuggestionAnswer.Field()
