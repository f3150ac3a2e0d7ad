"""The events service's entrypoints: thin, validating, calling one dependency."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from nameko.rpc import rpc
from nameko.timer import timer

from . import domain
from .dependencies import NotFound, Outings

SWEEP_SECONDS = float(os.environ.get("OUTBOX_SWEEP_SECONDS", "2"))
EXPORT_PAGE_MAX = 1_000


class EventsService:
    name = "events"

    outings = Outings()

    @rpc
    def ping(self) -> str:
        return "pong"

    @rpc
    def create_outing(self, fields: dict[str, Any], organizer_id: str | None = None) -> dict[str, Any]:
        """Propose an outing. Returns ``{"outing": ..., "errors": []}``; nothing is stored on errors."""
        clean, errors = domain.validate_new_outing(fields or {}, datetime.now(UTC))
        if errors:
            return {"outing": None, "errors": [e.to_dict() for e in errors]}
        return {"outing": self.outings.create(clean, organizer_id), "errors": []}

    @rpc
    def get_outing(self, outing_id: str) -> dict[str, Any] | None:
        try:
            return self.outings.get(outing_id)
        except NotFound:
            return None

    @rpc
    def get_outings(self, outing_ids: list[str]) -> list[dict[str, Any] | None]:
        """Batch lookup for the gateway's DataLoader; answers in the order asked."""
        return self.outings.get_many(outing_ids)

    @rpc
    def export_outings(self, after: str | None = None, size: int = 500) -> list[dict[str, Any]]:
        """A page of outings in id order, for the search backfill."""
        return self.outings.export_page(after, max(1, min(size, EXPORT_PAGE_MAX)))

    @timer(interval=SWEEP_SECONDS)
    def sweep_outbox(self) -> None:
        self.outings.relay_pending()
