"""Opaque global IDs: base64 of ``<Type>:<id>``. Clients must treat them as opaque."""

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
