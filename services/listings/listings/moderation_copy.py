"""The listings service's copy of moderation's decisions (``parentnet_kit.moderation_copy``):
hidden or removed listings and trusted contacts (a new version saying ``hidden``, published as
``listing_updated`` / ``contact_recommended``)
and suspended members (who cannot post a listing). Fed by queue ``listings.moderation``."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from parentnet_kit.moderation_copy import ModerationCopy
from parentnet_kit.sequences import Sequences

from . import domain
from .store import directory_entry


def _list_in_directory(db: Database, kind: str, state: dict[str, Any]) -> None:
    """A hidden, removed or restored contact's new version goes into its city's directory, so
    the directory's page leaves it out (or shows it again) by what it reads there."""
    if kind == "contact":
        Sequences(db["contacts_by_city"]).append(state["city"], directory_entry(state))


def copy(config: dict[str, Any]) -> ModerationCopy:
    subjects = {
        "listing": ("listings", "listings_outbox", "listing_updated", domain.public_view),
        "contact": ("contacts", "contacts_outbox", "contact_recommended", domain.contact_view),
    }
    return ModerationCopy(config, "LISTINGS_DB", "listings", subjects, after_commit=_list_in_directory)
