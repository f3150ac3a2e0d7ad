"""Vocabularies shared by a producer and the gateway that exposes them."""

from __future__ import annotations

# What kind of outing it is: the events service validates against it, the gateway exposes
# it as the OutingCategory enum. Add values only; never rename or remove one.
OUTING_CATEGORIES: tuple[str, ...] = (
    "zoo",
    "swimming_pool",
    "museum",
    "exhibition",
    "cafe",
    "park",
    "playgroup",
    "barter_party",
    "clothing_sale",
    "workshop",
    "debate",
    "support_group",
    "school_run",
    "other",
)
