"""One id per client request, carried from the gateway through every RPC and every event.

The gateway takes a client's ``X-Request-ID`` when it is well-formed, else makes one, and
binds it for the request (``bound``). The RPC client sends it as the ``x-request-id`` header,
which nameko hands the worker as context data (``parentnet_kit.nameko_observe`` binds it
there); an ``Event`` built while it is bound carries it in its envelope, so the outbox relay,
the search indexer and any other consumer log the same id. Every JSON log line written while
it is bound has it (``logging_setup``).

It is an opaque correlation id, nothing else: never a key of anything stored, never personal
data. A client's value is accepted only as 1 to 128 letters, digits and ``-_.:``, so it
cannot forge a log line or a header.

No I/O here, and no nameko: the gateway imports it too.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from contextvars import ContextVar, Token

# The HTTP header (the gateway's request and response) and the RPC message header.
HEADER = "x-request-id"
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")

# Per asyncio task in the gateway; per greenlet in a nameko service (each greenlet has a
# context of its own, and a new one starts empty).
_current: ContextVar[str | None] = ContextVar("parentnet_request_id", default=None)


def new() -> str:
    """A fresh id: 32 lowercase hex digits (a random UUID)."""
    return uuid.uuid4().hex


def accept(value: str | None) -> str:
    """``value`` when well-formed (1-128 of ``[A-Za-z0-9_.:-]``, starting with a letter or
    digit), else a fresh id."""
    if value is not None and WELL_FORMED.fullmatch(value):
        return value
    return new()


def current() -> str | None:
    """The id bound in this task or greenlet, or None outside any request."""
    return _current.get()


def bind(request_id: str | None) -> Token[str | None]:
    """Bind ``request_id`` here; ``unbind`` with the token returned."""
    return _current.set(request_id)


def unbind(token: Token[str | None]) -> None:
    _current.reset(token)


@contextlib.contextmanager
def bound(request_id: str | None) -> Iterator[str | None]:
    """``with bound(id):`` the id is current inside the block."""
    token = _current.set(request_id)
    try:
        yield request_id
    finally:
        _current.reset(token)
