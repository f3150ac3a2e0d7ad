"""The events service's copy of moderation's decisions (``parentnet_kit.moderation_copy``): hidden
or removed outings (a new version saying ``hidden``, published as ``outing_updated``) and
suspended members (who cannot propose an outing). Fed by queue ``events.moderation``."""

from __future__ import annotations

from typing import Any

from parentnet_kit.moderation_copy import ModerationCopy

from . import domain


def copy(config: dict[str, Any]) -> ModerationCopy:
    return ModerationCopy(
        config, "EVENTS_DB", "events", {"outing": ("outings", "outbox", "outing_updated", domain.public_view)}
    )
