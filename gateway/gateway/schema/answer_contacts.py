"""Saving the trusted contact an answer recommends into the contacts directory, in one step."""

from __future__ import annotations

from typing import Any

import graphene

from parentnet_kit.i18n import t

from ..context import context_of
from .base import (
    NODE_LOADERS,
    NODE_TYPES,
    InputMutation,
    local_id,
    refused,
    require_viewer,
    typed,
    user_errors,
    user_errors_field,
)


class AnswerContactSaveInput(graphene.InputObjectType):
    """Which answer's recommended contact."""

    answer_id = graphene.ID(required=True, description="An answer to your question recommending a contact.")


class AnswerContactSavePayload(graphene.ObjectType):
    """The contact in the directory, and the answer now pointing to it."""

    contact = graphene.Field(lambda: NODE_TYPES["Contact"], description="The contact in the directory.")
    answer = graphene.Field("gateway.schema.ask_nearby.Answer", description="The answer, its card now the contact.")
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
            "answer": typed("Answer", linked["answer"]),
            "user_errors": user_errors(linked["errors"], ("input",)),
        }


class AnswerContactMutations(graphene.ObjectType):
    answer_contact_save = AnswerContactSave.Field()
