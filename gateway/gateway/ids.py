"""Opaque global IDs: base64url without padding of ``<Type>:<id>``. Clients must treat them as opaque.

Why not graphql-relay's ``to_global_id``/``from_global_id`` (issue 21 asked; it ships with
graphene): it writes standard base64 with padding (``T3V0aW5nOmE/Pg==`` where ours is
``T3V0aW5nOmE_Pg``). Our ids go in URL paths (the calendar feeds, ``/groups/<id>``...) and in
query strings, where ``/``, ``+`` and ``=`` need escaping; and the ids already issued must keep
resolving. Its decoder cannot read them: it wants the padding ("Incorrect padding" -> an empty
answer) and drops ``-``/``_`` as non-alphabet; of 2,000 of our ids it decoded 1,920 wrongly or
not at all (the 80 others happened to need no padding and hold no ``-``/``_``). Using it would
change every id the API emits, so these two functions stay. Its connection helpers don't fit
either: their cursors are array offsets (``arrayconnection:<n>``) and ours are keyset positions
bound to the query that made them (cursors.py).
"""

from __future__ import annotations

import base64
import binascii


def to_global_id(type_name: str, local_id: str) -> str:
    """``base64url("<type_name>:<local_id>")`` without ``=`` padding."""
    return base64.urlsafe_b64encode(f"{type_name}:{local_id}".encode()).decode().rstrip("=")


def from_global_id(global_id: str) -> tuple[str, str] | None:
    """``(type_name, local_id)`` of an id ``to_global_id`` made (padding optional), None for
    anything else."""
    padded = global_id + "=" * (-len(global_id) % 4)
    try:
        decoded = base64.urlsafe_b64decode(padded.encode()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    type_name, sep, local_id = decoded.partition(":")
    if not sep or not type_name or not local_id:
        return None
    return type_name, local_id
