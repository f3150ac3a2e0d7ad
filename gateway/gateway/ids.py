"""Opaque global IDs: URL-safe base64, unpadded, of ``<Type>:<id>``. Clients must treat them as opaque.

Why not graphql-relay's ``to_global_id``/``from_global_id`` (graphql-relay 3.2, already installed
with graphene; issue 21 asks for kept libraries where they do what this does): theirs is standard
padded base64, so an id may hold ``/``, ``+`` and ``=`` (``to_global_id("Outing", "a1b2?")`` is
``T3V0aW5nOmExYjI/``, ours ``T3V0aW5nOmExYjI_``). Our ids go into URL paths (calendar feeds,
pictures, links parents share) and every id already issued is in this form; switching would change
every id clients have stored. Their decoder also answers ``('', '')`` for garbage where this one
answers None, which the node resolvers rely on to say NOT_FOUND. Relay's connection helpers
(``connection_from_array``) slice an in-memory list by offset; our pages are keyset cursors from
the services (gateway/cursors.py), so they do not apply either. The schema's ``Node`` interface and connection
types are graphene types of its own base (with ``totalCount`` and descriptions that graphene's
``relay.Connection`` does not give); they follow the Relay specifications' shapes."""

from __future__ import annotations

import base64
import binascii


def to_global_id(type_name: str, local_id: str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{local_id}".encode()).decode().rstrip("=")


def from_global_id(global_id: str) -> tuple[str, str] | None:
    padded = global_id + "=" * (-len(global_id) % 4)
    try:
        decoded = base64.urlsafe_b64decode(padded.encode()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    type_name, sep, local_id = decoded.partition(":")
    if not sep or not type_name or not local_id:
        return None
    return type_name, local_id
