"""Accounts: signing up, in and out, tokens, and your own profile."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import graphene

from ..context import Context, context_of
from .base import (
    GeoPointInput,
    InputMutation,
    payload,
    require_viewer,
    typed,
    user_errors,
    user_errors_field,
)


class AuthPayload(graphene.ObjectType):
    """A signed-in session: send accessToken as a bearer token; trade refreshToken for new ones."""

    member = graphene.Field("gateway.schema.members.Member", description="You; null when userErrors is not empty.")
    access_token = graphene.String(description="Valid until accessTokenExpiresAt (minutes).")
    access_token_expires_at = graphene.DateTime(description="When accessToken stops working: refresh before.")
    refresh_token = graphene.String(description="Use once with memberTokenRefresh; a reused one ends the session.")
    retry_after_seconds = graphene.Int(description="Set when userErrors has THROTTLED: when to try again.")
    user_errors = user_errors_field()


def auth_payload(result: dict[str, Any], prefix: tuple[str, ...] = ("input",)) -> dict[str, Any]:
    if result.get("errors"):
        return {
            "user_errors": user_errors(result["errors"], prefix),
            "retry_after_seconds": result.get("retry_after_seconds"),
        }
    return {
        "member": typed("Member", result["member"]),
        "access_token": result["access_token"],
        "access_token_expires_at": result["access_token_expires_at"],
        "refresh_token": result["refresh_token"],
        "user_errors": [],
    }


class MemberRegisterInput(graphene.InputObjectType):
    """A new account."""

    email = graphene.String(required=True, description="Your email address; it signs you in.")
    password = graphene.String(required=True, description="10 to 128 characters.")
    display_name = graphene.String(required=True, description="How other parents see you; 1 to 60 characters.")
    city = graphene.String(required=True, description="A city slug, as in `cities`.")


class MemberRegister(InputMutation, input=MemberRegisterInput, about="The account to create.", output=AuthPayload):
    """Create an account and sign in."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        return auth_payload(await ctx.members.register(fields=dict(input), client=ctx.client))


class MemberLoginInput(graphene.InputObjectType):
    """Your email and password."""

    email = graphene.String(required=True, description="The email you registered with.")
    password = graphene.String(required=True, description="Your password.")


class MemberLogin(InputMutation, input=MemberLoginInput, about="Your email and password.", output=AuthPayload):
    """Sign in. Wrong email and wrong password give the same INVALID_CREDENTIALS; too many tries give THROTTLED."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        result = await ctx.members.login(email=input["email"], password=input["password"], client=ctx.client)
        return auth_payload(result)


class MemberTokenRefreshInput(graphene.InputObjectType):
    """The refresh token to trade."""

    refresh_token = graphene.String(required=True, description="The refreshToken of your last sign-in or refresh.")


class MemberTokenRefresh(
    InputMutation, input=MemberTokenRefreshInput, about="The refresh token to trade.", output=AuthPayload
):
    """Trade a refresh token for a new access token and a new refresh token."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        return auth_payload(await context_of(info).members.refresh(refresh_token=input["refresh_token"]))


class MemberLogoutInput(graphene.InputObjectType):
    """Which sessions to end."""

    everywhere = graphene.Boolean(default_value=False, description="End all your sessions, on every device.")


class MemberLogoutPayload(graphene.ObjectType):
    """What memberLogout ended."""

    sessions_ended = graphene.Int(required=True, description="How many sessions ended.")
    user_errors = user_errors_field()


class MemberLogout(
    InputMutation,
    input=MemberLogoutInput,
    about="Which sessions; this one when absent.",
    required=False,
    output=MemberLogoutPayload,
):
    """End this session (its tokens stop working at once), or all of them."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any] | None = None) -> dict[str, Any]:
        ctx: Context = info.context
        viewer = require_viewer(info)
        everywhere = bool((input or {}).get("everywhere"))
        ended = await ctx.members.logout(member_id=viewer, session_id=ctx.session_id or "", everywhere=everywhere)
        if ctx.authenticator is not None and ctx.session_id:
            ctx.authenticator.forget(ctx.session_id)
        return {"sessions_ended": ended, "user_errors": []}


class ChildInput(graphene.InputObjectType):
    """A child, by birth month only."""

    birth_year = graphene.Int(required=True, description="Four digits, not in the future.")
    birth_month = graphene.Int(required=True, description="1 to 12.")


class MemberUpdateProfileInput(graphene.InputObjectType):
    """Changes to your profile; fields left out stay as they are."""

    display_name = graphene.String(description="How other parents see you; 1 to 60 characters.")
    city = graphene.String(description="A city slug; moving city needs a home location there (or clearHomeLocation).")
    home_location = graphene.Field(
        GeoPointInput, description="Private: kept by the members service; others only ever learn a ~1 km cell."
    )
    clear_home_location = graphene.Boolean(description="true forgets your home location.")
    languages = graphene.List(graphene.NonNull(graphene.String), description="Language tags, e.g. fr, zh-Hant.")
    children = graphene.List(graphene.NonNull(ChildInput), description="Replaces the list; birth month and year only.")
    interests = graphene.List(graphene.NonNull(graphene.String), description="Replaces the list; in your words.")
    protected_mode = graphene.Boolean(description="Hide me from every discovery surface; place me at city level.")


class MemberProfilePayload(graphene.ObjectType):
    """Your profile after the change."""

    member = graphene.Field("gateway.schema.members.Member", description="You, as you are now.")
    user_errors = user_errors_field()


class MemberUpdateProfile(
    InputMutation, input=MemberUpdateProfileInput, about="What to change.", output=MemberProfilePayload
):
    """Change your profile; fields left out stay as they are. Nothing changes when userErrors is not empty."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        fields = {k: v for k, v in input.items() if v is not None}
        if "home_location" in fields:
            fields["home_location"] = {"lat": fields["home_location"].lat, "lon": fields["home_location"].lon}
        if "children" in fields:
            fields["children"] = [dict(c) for c in fields["children"]]
        result = await context_of(info).members.update_profile(member_id=viewer, fields=fields)
        if "protected_mode" in fields and not result["errors"]:
            await _place_what_they_posted(info, viewer, bool(fields["protected_mode"]))
        return payload(result, member="Member")


async def _place_what_they_posted(info: graphene.ResolveInfo, member_id: str, protected: bool) -> None:
    """Protected mode changed: what the member posted moves to city level (or back to its cells).

    Both calls are idempotent, so a client retrying the mutation after a failure completes them."""
    ctx = context_of(info)
    calls: list[Awaitable[int]] = [ctx.listings.place_owner(owner_id=member_id, protected=protected)]
    if protected:
        calls.append(ctx.events.coop_place_host(host_id=member_id))
    await asyncio.gather(*calls)


class AccountMutations(graphene.ObjectType):
    member_register = MemberRegister.Field()
    member_login = MemberLogin.Field()
    member_token_refresh = MemberTokenRefresh.Field()
    member_logout = MemberLogout.Field()
    member_update_profile = MemberUpdateProfile.Field()
