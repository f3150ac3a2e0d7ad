"""Faults a resolver raises on purpose; the HTTP layer turns each into ``extensions.code``; and
``bad_input``, the top-level BAD_USER_INPUT error a query-argument mistake becomes."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLError

from parentnet_kit import i18n


class Unauthenticated(Exception):
    """The request needs a signed-in member (code UNAUTHENTICATED)."""


class Forbidden(Exception):
    """The viewer may not see or do this (code FORBIDDEN)."""


def header_language(info: Any) -> str:
    """The caller's language (``Context.caller_language``: Accept-Language, else English)."""
    return i18n.negotiate(i18n.accept_language(getattr(getattr(info, "context", None), "accept_language", None)))


def bad_input(info: graphene.ResolveInfo, field: str, message: str) -> GraphQLError:
    """A query-argument mistake: a top-level error at this field's path, with
    ``extensions = {code: BAD_USER_INPUT, field: <argument path, e.g. near.lat>}``. A marked
    ``message`` (``i18n.t``) is written in the caller's Accept-Language."""
    language = header_language(info)
    return GraphQLError(
        i18n.render(message, language) if isinstance(message, i18n.Message) else message,
        nodes=info.field_nodes,
        path=info.path.as_list(),
        extensions={"code": "BAD_USER_INPUT", "field": field},
    )
