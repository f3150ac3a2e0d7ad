"""Faults a resolver raises on purpose; the HTTP layer turns each into ``extensions.code``."""

from __future__ import annotations


class Unauthenticated(Exception):
    """The request needs a signed-in member (code UNAUTHENTICATED)."""


class Forbidden(Exception):
    """The viewer may not see or do this (code FORBIDDEN)."""
