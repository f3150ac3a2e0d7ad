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

# Listings: the listings service validates against these, the gateway exposes them as enums.
LISTING_OFFER_KINDS: tuple[str, ...] = ("give", "lend", "swap", "sell")
LISTING_KINDS: tuple[str, ...] = (*LISTING_OFFER_KINDS, "wanted")
LISTING_CATEGORIES: tuple[str, ...] = (
    "pram_stroller",
    "car_seat",
    "clothes",
    "shoes",
    "toys",
    "books",
    "furniture",
    "maternity",
    "babysitting",
    "tutoring",
    "other",
)
LISTING_CONDITIONS: tuple[str, ...] = ("new", "like_new", "good", "fair")
CONTACT_KINDS: tuple[str, ...] = (
    "paediatrician",
    "gp",
    "midwife",
    "nursery",
    "childminder",
    "babysitter",
    "speech_therapist",
    "psychologist",
    "other",
)

# The RPC header a caller sets to name one operation the client may retry (the gateway's
# ``Idempotency-Key``, scoped to one mutation); the services' ``@rpc`` takes it as the request id.
IDEMPOTENCY_HEADER = "x-parentnet-idempotency-key"
