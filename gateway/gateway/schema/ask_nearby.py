"""Ask nearby in the schema: questions to the parents of a city or a neighbourhood, and answers
that may point to a trusted contact, a listing or an outing. The viewer is placed by their city and
coarse cell as the members service lets them out (the home's ~1 km cell, the city's centre in
protected mode)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import graphene
from graphql import GraphQLError

from parentnet_kit.geo import haversine_km
from parentnet_kit.i18n import t

from .. import cursors, ids
from ..context import context_of
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
    edge_type,
    enum,
    enum_value,
    first_argument,
    global_id_resolver,
    key_resolver,
    local_id,
    member_resolver,
    numbered_page,
    payload,
    refused,
    require_viewer,
    resolve_city,
    signed_in_place,
    time_resolver,
    user_errors_field,
    viewer_blocked,
    viewer_place,
)

SERVICE = "conversations"


QuestionScope = enum(
    "QuestionScope",
    "Who a question is asked to.",
    [
        ("CITY", "city", "The parents of the asker's city."),
        ("NEARBY", "nearby", "The parents within radiusKm of the asker's neighbourhood (~1 km cell, never a home)."),
    ],
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

    resolve_id = global_id_resolver("Answer")

    resolve_position = key_resolver("n")

    resolve_author = member_resolver("author_id")

    @staticmethod
    async def resolve_card(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        target = root.get("points_to") or {}
        loader = NODE_LOADERS.get(target.get("type", "").title())
        return await loader(info, target["id"]) if loader else None

    @staticmethod
    def resolve_recommended_contact(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return None if (root.get("points_to") or {}).get("type") == "contact" else root.get("contact")

    resolve_created_at = time_resolver("created_at")


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

    resolve_id = global_id_resolver("Question")

    resolve_asker = member_resolver("asker_id")

    resolve_city = staticmethod(resolve_city)

    resolve_created_at = time_resolver("created_at")

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
        return numbered_page(info, arguments, after, page, "Answer")


def as_question(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if view is None else {**view, "__typename": "Question"}


QuestionEdge = edge_type("QuestionEdge", Question, "questions")


QuestionConnection = connection_type("QuestionConnection", QuestionEdge, Question, "questions")


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
        return payload(result, question="Question")


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
        return payload(result, answer="Answer")


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
        return payload(result, answer="Answer")


NODE_TYPES.update(Question=Question, Answer=Answer)
NODE_LOADERS.update(Question=load_question, Answer=load_answer)


class QuestionMutations(graphene.ObjectType):
    question_ask = QuestionAsk.Field()
    question_answer = QuestionAnswer.Field()
    answer_mark_helpful = AnswerMarkHelpful.Field()


class QuestionQueries(graphene.ObjectType):
    questions_nearby = graphene.Field(
        QuestionConnection,
        first=first_argument(),
        after=after_argument(),
        description="Questions asked to you: your city's, and those asked within reach of your neighbourhood. "
        "Newest first. Signed in only.",
    )

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


class QuestionSubscriptions(graphene.ObjectType):
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

        async for event in ctx.listen("question_asked", reaches):
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
        async for event in ctx.listen("answer_posted", accept):
            view = (
                await ctx.conversations.get_answers(
                    answer_ids=[event["aggregate_id"]], viewer_id=ctx.viewer_id, city=city, cell=cell
                )
            )[0]
            if view is not None and view["author_id"] not in await viewer_blocked(ctx):
                yield as_answer(view)  # type: ignore[misc]
