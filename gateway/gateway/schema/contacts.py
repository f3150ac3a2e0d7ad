"""The directory of trusted contacts in the schema (paediatricians, nurseries, childminders...):
a city's and your groups', most recommended first; adding and recommending one."""

from __future__ import annotations

from typing import Any

import graphene

from parentnet_kit import contracts
from parentnet_kit.i18n import t

from .. import cursors, open_cities
from ..context import Context, context_of
from .base import (
    NODE_LOADERS,
    NODE_TYPES,
    City,
    GeoPoint,
    GeoPointInput,
    InputMutation,
    Node,
    after_argument,
    bad_input,
    check_first,
    connection,
    connection_type,
    deprecated_user_errors,
    edge_type,
    enum,
    enum_value,
    first_argument,
    global_id_resolver,
    group_of,
    local_id,
    payload,
    require_viewer,
    resolve_city,
    user_errors_field,
)

_CONTACT_DOCS = {
    "paediatrician": "A paediatrician.",
    "gp": "A general practitioner (family doctor).",
    "midwife": "A midwife.",
    "nursery": "A nursery or a day-care centre.",
    "childminder": "A childminder.",
    "babysitter": "A babysitter.",
    "speech_therapist": "A speech therapist.",
    "psychologist": "A psychologist.",
    "other": "Anyone else.",
}


ContactKind = enum(
    "ContactKind",
    "Who a trusted contact is.",
    [(name.upper(), name, _CONTACT_DOCS[name]) for name in contracts.CONTACT_KINDS],
)


class Contact(graphene.ObjectType):
    """A trusted contact (paediatrician, nursery, childminder...) recommended by members."""

    class Meta:
        interfaces = (Node,)

    kind = graphene.Field(ContactKind, required=True, description="Who they are.")
    name = graphene.String(required=True, description="A person's or a place's name.")
    description = graphene.String(required=True, description="What members say about it; may be empty.")
    phone = graphene.String(description="A phone number, as given.")
    email = graphene.String(description="An email address.")
    website = graphene.String(description="An https:// URL.")
    address = graphene.String(description="A street address (a practice, a nursery: never a member's home).")
    location = graphene.Field(GeoPoint, description="Where it is on the map, when given.")
    city = graphene.Field(City, required=True, description="The city it serves.")
    languages = graphene.List(graphene.NonNull(graphene.String), required=True, description="Languages spoken there.")
    recommendations = graphene.Int(required=True, description="Members who recommend it (one each).")
    group = graphene.Field("gateway.schema.groups.Group", description="Set when only that group's members see it.")

    resolve_id = global_id_resolver("Contact")

    resolve_city = staticmethod(resolve_city)

    @staticmethod
    async def resolve_group(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        if not root.get("group_id"):
            return None
        return await group_of(info, root["group_id"])


def as_contact(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if view is None else {**view, "__typename": "Contact"}


async def load_contact(info: graphene.ResolveInfo, contact_id: str) -> dict[str, Any] | None:
    ctx: Context = info.context
    view = (await ctx.listings.get_contacts(contact_ids=[contact_id]))[0]
    if view is None or (view.get("group_id") and await ctx.group_role(view["group_id"]) is None):
        return None
    if view.get("hidden") and view.get("added_by") != ctx.viewer_id:  # hidden by a moderator
        return None
    return as_contact(view)


ContactEdge = edge_type("ContactEdge", Contact, "trusted contacts")


ContactConnection = connection_type(
    "ContactConnection", ContactEdge, Contact, "trusted contacts", user_errors=deprecated_user_errors()
)


class ContactCreateInput(graphene.InputObjectType):
    """A trusted contact to add."""

    kind = graphene.Field(ContactKind, required=True, description="Who they are.")
    name = graphene.String(required=True, description="A person's or a place's name, 1 to 140 characters.")
    city = graphene.String(required=True, description="A city slug, as in `cities`.")
    description = graphene.String(description="What you would tell another parent about it.")
    phone = graphene.String(description="A phone number.")
    email = graphene.String(description="An email address.")
    website = graphene.String(description="An https:// URL.")
    address = graphene.String(description="A street address of a practice or a place (never a home).")
    location = graphene.Field(GeoPointInput, description="Where it is on the map.")
    languages = graphene.List(graphene.NonNull(graphene.String), description="Language tags spoken there.")
    group_id = graphene.ID(description="Only this group's members see it (you must be one).")


class ContactPayload(graphene.ObjectType):
    """The contact after the mutation."""

    contact = graphene.Field(Contact, description="The contact as it is now; null when nothing was found or made.")
    user_errors = user_errors_field()


class ContactCreate(InputMutation, input=ContactCreateInput, about="The contact.", output=ContactPayload):
    """Add a trusted contact; you are its first recommendation."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        viewer = require_viewer(info)
        fields: dict[str, Any] = {k: enum_value(v) for k, v in input.items() if v is not None}
        if "location" in fields:
            fields["location"] = {"lat": input["location"].lat, "lon": input["location"].lon}
        if "group_id" in fields:
            group_id = local_id(fields["group_id"], "Group")
            if group_id is None or await ctx.group_role(group_id) is None:
                message = t("Choose a group you are a member of.")
                return {
                    "contact": None,
                    "user_errors": [{"field": ["input", "groupId"], "message": message, "code": "NOT_MEMBER"}],
                }
            fields["group_id"] = group_id
        result = await ctx.listings.using(headers=ctx.once(info)).add_contact(fields=fields, member_id=viewer)
        return payload(result, contact="Contact")


class ContactRecommendInput(graphene.InputObjectType):
    """Which contact."""

    contact_id = graphene.ID(required=True, description="The contact's ID.")


class ContactRecommend(InputMutation, input=ContactRecommendInput, about="Which contact.", output=ContactPayload):
    """Recommend a contact (once per member)."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        contact_id = local_id(input["contact_id"], "Contact")
        if contact_id is None or await load_contact(info, contact_id) is None:
            return {
                "contact": None,
                "user_errors": [
                    {"field": ["input", "contactId"], "message": t("No such contact."), "code": "NOT_FOUND"}
                ],
            }
        result = await context_of(info).listings.recommend_contact(contact_id=contact_id, member_id=viewer)
        return payload(result, contact="Contact")


NODE_TYPES.update(Contact=Contact)
NODE_LOADERS.update(Contact=load_contact)


class ContactQueries(graphene.ObjectType):
    contacts = graphene.Field(
        ContactConnection,
        city=graphene.Argument(graphene.String, required=True, description="A city slug, as in `cities`."),
        kind=graphene.Argument(ContactKind, description="Only contacts of this kind."),
        language=graphene.Argument(graphene.String, description="Only contacts speaking it."),
        first=first_argument(),
        after=after_argument(),
        last=graphene.Argument(
            graphene.Int, description="Page backwards: the last items before `before`, 1 to 100 (with before)."
        ),
        before=graphene.Argument(
            graphene.String, description="startCursor of the page after the one wanted (with last)."
        ),
        description="Trusted contacts of a city (and of your groups), most recommended first.",
    )

    @staticmethod
    async def resolve_contacts(
        root: None,
        info: graphene.ResolveInfo,
        city: str,
        kind: Any = None,
        language: str | None = None,
        first: int = 20,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> dict[str, Any]:
        ctx: Context = info.context
        if await open_cities.DIRECTORY.get(city) is None:
            raise bad_input(
                info, "city", t("city must be a city slug, as in cities; {city} is not one.", city=repr(city))
            )
        shape = {"city": city, "kind": enum_value(kind), "language": language}
        groups = list((await ctx.viewer_context())["groups"])

        async def contacts_page(size: int, offset: int) -> dict[str, Any]:
            return await ctx.listings.list_contacts(
                city=city, kind=enum_value(kind), language=language, viewer_groups=groups, first=size, offset=offset
            )

        # A cursor holds the item's 1-based rank in the list: paging back is an offset too.
        if last is None and before is None:
            offset = cursors.decode(info, after, shape, cursors.is_count) or 0
            page = await contacts_page(check_first(info, first), offset)
            has_next = page["has_next_page"]
        else:
            if after is not None:
                raise bad_input(info, "after", t("Give after (with first) or before (with last), not both."))
            last = check_first(info, last, name="last")
            rank = cursors.decode(info, before, shape, cursors.is_count, "before")
            end = rank - 1 if rank is not None else (await contacts_page(1, 0))["total"]
            offset = max(0, end - last)
            page = await contacts_page(max(1, end - offset), offset)
            page["contacts"] = page["contacts"][: max(0, end - offset)]
            has_next = rank is not None
        cursor = cursors.encoder(info, shape)
        edges = [{"cursor": cursor(offset + i + 1), "node": as_contact(c)} for i, c in enumerate(page["contacts"])]
        return connection(edges, has_next, after, page["total"], offset > 0, user_errors=[], facets=[])


class ContactMutations(graphene.ObjectType):
    contact_create = ContactCreate.Field()
    contact_recommend = ContactRecommend.Field()
