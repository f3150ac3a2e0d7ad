"""The domain event envelope every service publishes and every consumer reads.

Events are past-tense facts. Those that feed a read model carry the whole public state of
their aggregate, so a consumer never calls back and recognises a stale or repeated event
by its ``version``. Consumers ignore fields they don't know; producers only add fields.

``request_id`` (added later, so optional on the wire) is the id of the client request that
caused the event (``request_ids``), taken when the event is built; None for a change no
request caused (a timer's). Consumers log it; nothing is keyed by it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import request_ids

ENVELOPE_FIELDS = ("event_id", "type", "occurred_at", "source", "aggregate_id", "version", "city", "data")
# Added after the first consumers were deployed: read when present, written when known.
OPTIONAL_FIELDS = ("request_id",)


class MalformedEvent(ValueError):
    """A message on the bus that is not a Parentnet event envelope."""


@dataclass(frozen=True)
class Event:
    type: str
    source: str
    aggregate_id: str
    version: int
    city: str | None
    data: dict[str, Any]
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: str = field(default_factory=lambda: utc_now_iso())
    request_id: str | None = field(default_factory=request_ids.current)

    @property
    def routing_key(self) -> str:
        """``<source service>.<event type>``, e.g. ``events.outing_published``."""
        return f"{self.source}.{self.type}"

    def to_dict(self) -> dict[str, Any]:
        """The envelope as JSON-ready dict; ``request_id`` only when there is one."""
        raw = {name: getattr(self, name) for name in ENVELOPE_FIELDS}
        if self.request_id is not None:
            raw["request_id"] = self.request_id
        return raw

    @classmethod
    def from_dict(cls, raw: Any) -> Event:
        if not isinstance(raw, dict):
            raise MalformedEvent("event body is not a JSON object")
        missing = [name for name in ENVELOPE_FIELDS if name not in raw]
        if missing:
            raise MalformedEvent(f"event lacks {', '.join(missing)}")
        version = raw["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise MalformedEvent("event version must be a positive integer")
        if not isinstance(raw["data"], dict):
            raise MalformedEvent("event data must be an object")
        request_id = raw.get("request_id")
        if request_id is not None and not isinstance(request_id, str):
            request_id = None  # a correlation id only: a bad one is dropped, the event is not
        # Unknown extra fields are ignored on purpose: producers may add fields.
        return cls(**{name: raw[name] for name in ENVELOPE_FIELDS}, request_id=request_id)


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
