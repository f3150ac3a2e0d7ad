"""The listings service's copy of moderation's decisions (``parentnet_kit.moderation_copy``):
hidden or removed listings and trusted contacts (a new version saying ``hidden``, published as
``listing_updated`` / ``contact_recommended``)
and suspended members (who cannot post a listing). Fed by queue ``listings.moderation``."""

from __future__ import annotations

from typing import Any

from parentnet_kit.moderation_copy import ModerationCopy

from . import domain


def copy(config: dict[str, Any]) -> ModerationCopy:
    subjects = {
        "listing": ("listings", "listings_outbox", "listing_updated", domain.public_view),
        "contact": ("contacts", "contacts_outbox", "contact_recommended", domain.contact_view),
    }
    return ModerationCopy(config, "LISTINGS_DB", "listings", subjects)
