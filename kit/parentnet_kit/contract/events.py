"""Every domain event type, ``<source service>.<event type>``, with the schema of its ``data``.

Producers build an ``envelope.Event`` as before; ``EventPublisher.publish`` checks every event
against this catalogue (``check``) before it goes out, and consumers read through it
(``parse``). The rule of ``envelope`` holds here too: consumers ignore fields they don't know
and producers only add fields, so every payload allows extra fields, and a field may be added
to a schema but never removed, renamed or made required (``tests/contract`` compares the
catalogue with ``snapshot.json``).

An event off the catalogue (an unknown type, or data that does not fit its schema) is still
published: its aggregate is committed and consumers are tolerant. It is logged at ERROR as
``event off contract`` and counted (``parentnet_events_off_contract_total``); the end-to-end
suite fails when any process logged one.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from .. import metrics
from ..envelope import Event

log = logging.getLogger(__name__)

OFF_CONTRACT = "event off contract"


class Payload(BaseModel):
    """An event's ``data``: the fields every consumer may rely on; more may come."""

    model_config = ConfigDict(extra="allow")


class GeoPoint(BaseModel):
    """A WGS 84 point, degrees."""

    model_config = ConfigDict(extra="allow")
    lat: float
    lon: float


class Area(GeoPoint):
    """A fixed map cell standing in for a private point (``parentnet_kit.cells``)."""

    id: str


# -- conversations (issue 19) ----------------------------------------------------------------


class Thread(Payload):
    """A group discussion thread (``conversations.domain.thread_view``) with its group's
    ``visibility`` (``public``: search may index it); ``answer``: a suggestion's answer by the
    admins, ``{text, by, at}`` or None. ``hidden`` comes after a moderator's decision."""

    id: str
    group_id: str
    author_id: str
    kind: str
    title: str
    body: str
    pinned: bool
    locked: bool
    answer: dict[str, Any] | None
    created_at: str
    version: int
    visibility: str
    hidden: bool = False


class Reply(Payload):
    """A reply to a thread (``conversations.domain.reply_view``), ``n`` its place in the thread
    (1, 2, ...), with its group's ``visibility``; ``hidden`` after a moderator's decision."""

    id: str
    thread_id: str
    group_id: str
    author_id: str
    text: str
    n: int
    created_at: str
    version: int
    visibility: str
    hidden: bool = False


class Question(Payload):
    """A question asked nearby (``conversations.domain.question_view``): ``scope`` ``city`` or
    ``nearby`` (within ``radius_km`` km). ``question_asked`` carries ``cell``, the centre of the
    asker's coarse cell (never a home), for the gateway's live filter; ``hidden`` after a
    moderator's decision."""

    id: str
    asker_id: str
    city: str
    scope: str
    radius_km: float
    text: str
    created_at: str
    version: int
    cell: GeoPoint | None = None
    hidden: bool = False


class Answer(Payload):
    """An answer to a question (``conversations.domain.answer_view``): ``points_to`` ``{type, id}``
    (a contact, a listing or an outing) or None, ``contact`` a recommended contact's fields or None,
    ``n`` its place among the answers; ``hidden`` after a moderator's decision."""

    id: str
    question_id: str
    author_id: str
    text: str
    points_to: dict[str, Any] | None
    contact: dict[str, Any] | None
    helpful: bool
    n: int
    created_at: str
    version: int
    hidden: bool = False


class Conversation(Payload):
    """Two members' conversation: its ``members`` (ids, sorted), what it is ``about`` (``{type, id}``
    or None) and its ``status`` (``request``, ``open``, ...). Never a message's text."""

    id: str
    members: list[str]
    about: dict[str, Any] | None
    status: str


class Message(Payload):
    """A message was sent: ids only, never its text (subscribers load it by RPC); ``deliver_to``:
    whom it reached (empty while held or blocked)."""

    id: str
    conversation_id: str
    sender_id: str
    deliver_to: list[str]
    created_at: str


# -- events ----------------------------------------------------------------------------------


class Outing(Payload):
    """The public state of an outing (``events.domain.public_view``); times are ISO 8601 with
    their offset, ``time_zone`` an IANA name, ``attendance`` its counts."""

    id: str
    version: int
    status: str
    title: str
    description: str
    language: str | None
    category: str
    starts_at: str
    ends_at: str
    time_zone: str
    venue_name: str
    location: GeoPoint
    city: str
    organizer_id: str | None
    capacity: int | None
    group_id: str | None
    group_visibility: str | None
    series_id: str | None
    occurrence: int | None
    attendance: dict[str, Any]
    created_at: str
    updated_at: str
    # Hidden or removed by a moderator (moderation_copy): shown to nobody, search keeps a tombstone.
    hidden: bool = False


class CoopShift(Payload):
    """A babysitting-coop shift offered in a group (``events.coop``); ``area`` is where it is on
    the map (None: not on the map)."""

    id: str
    group_id: str
    host_id: str
    city: str
    time_zone: str
    starts_at: str
    ends_at: str
    places: int
    status: str
    area: Area | None


class Trip(Payload):
    """A school-run trip of a group (``events.trips``)."""

    id: str
    group_id: str
    title: str
    city: str
    time_zone: str
    meeting_location: GeoPoint | None
    created_by: str


class Notification(Payload):
    """One notification for one member (``parentnet_kit.inbox.view``)."""

    id: str
    recipient_id: str
    kind: str
    message: str
    subject: dict[str, Any]
    read: bool
    created_at: str


# -- listings --------------------------------------------------------------------------------


class Listing(Payload):
    """The public state of a listing (``listings.domain.public_view``): its pickup *area*, never
    the address or the point."""

    id: str
    version: int
    kind: str
    category: str
    title: str
    description: str
    language: str | None
    city: str
    pickup_area: Area
    owner_id: str
    status: str
    reservation_status: str | None
    created_at: str
    updated_at: str
    expires_at: str
    # Hidden or removed by a moderator (moderation_copy): shown to nobody, search keeps a tombstone.
    hidden: bool = False


class ListingMatch(Payload):
    """A wanted listing matched an offer (the match's id is the aggregate id)."""

    wanted_id: str
    offer_id: str
    wanted_owner_id: str
    offer_owner_id: str
    category: str


class Contact(Payload):
    """A recommended contact (``listings.domain.contact_view``)."""

    id: str
    version: int
    kind: str
    name: str
    city: str
    group_id: str | None
    location: GeoPoint | None
    languages: list[str]
    recommendations: int
    added_by: str
    # Hidden or removed by a moderator (moderation_copy): out of the directory and search.
    hidden: bool = False


# -- members ---------------------------------------------------------------------------------


class Member(Payload):
    """The public fields of a member other services may keep (``members.domain.event_view``)."""

    id: str
    display_name: str
    city: str
    languages: list[str]
    discoverable: bool


class Block(Payload):
    """``blocker_id`` blocked (``active``) or stopped blocking ``blocked_id``."""

    blocker_id: str
    blocked_id: str
    active: bool


class Group(Payload):
    """A group (``members.domain.group_view``)."""

    id: str
    name: str
    city: str
    languages: list[str]
    visibility: str
    join_policy: str
    created_at: str


class Membership(Payload):
    """A member's place in a group (``members.domain.membership_view``)."""

    group_id: str
    member_id: str
    role: str
    status: str


class City(Payload):
    """An open city (``parentnet_kit.cities.City.to_dict``); ``radius_km`` in km."""

    slug: str
    name: str
    country: str
    time_zone: str
    languages: list[str]
    lat: float
    lon: float
    radius_km: float
    version: int


# -- moderation ------------------------------------------------------------------------------


class ModeratedContent(Payload):
    """A moderator hid, removed or restored content (aggregate id: the subject's id; version: its
    moderation version). ``subject_type`` is moderation's (``outing``, ``listing``, ``contact``,
    ``thread``, ...): a consumer applies what it owns and ignores the rest."""

    subject_type: str
    subject_id: str
    action_id: str


class MemberAction(Payload):
    """A moderator warned, unsuspended or released a member (aggregate id: the member's id)."""

    member_id: str
    action_id: str


class MemberSuspended(MemberAction):
    """A moderator suspended a member until ``until`` (ISO 8601, UTC)."""

    until: str


class MemberHeld(Payload):
    """A member reported by several others is held for review until a network moderator
    releases them (``member_released``); no moderator acted, so no ``action_id``."""

    member_id: str


class ReportFiled(Payload):
    """A report was filed (ids only: the reporter, note and snapshot stay in moderation)."""

    report_id: str
    subject_type: str
    subject_id: str


class ReportResolved(Payload):
    """A moderator's action closed a report; ``outcome`` is the action (``hide``, ``dismiss``, ...)."""

    report_id: str
    outcome: str
    action_id: str


CATALOGUE: dict[str, type[Payload]] = {
    "conversations.thread_posted": Thread,
    "conversations.thread_updated": Thread,
    "conversations.reply_posted": Reply,
    "conversations.reply_updated": Reply,
    "conversations.question_asked": Question,
    "conversations.question_updated": Question,
    "conversations.answer_posted": Answer,
    "conversations.answer_updated": Answer,
    "conversations.conversation_started": Conversation,
    "conversations.conversation_changed": Conversation,
    "conversations.message_sent": Message,
    "conversations.member_notified": Notification,
    "events.outing_published": Outing,
    "events.outing_updated": Outing,
    "events.outing_cancelled": Outing,
    "events.attendance_changed": Outing,
    "events.coop_shift_offered": CoopShift,
    "events.coop_shift_moved": CoopShift,
    "events.trip_created": Trip,
    "events.member_notified": Notification,
    "listings.listing_posted": Listing,
    "listings.listing_updated": Listing,
    "listings.listing_reserved": Listing,
    "listings.listing_closed": Listing,
    "listings.listing_matched": ListingMatch,
    "listings.contact_recommended": Contact,
    "listings.member_notified": Notification,
    "members.member_registered": Member,
    "members.member_updated": Member,
    "members.member_blocked": Block,
    "members.member_unblocked": Block,
    "members.group_created": Group,
    "members.group_membership_changed": Membership,
    "members.city_opened": City,
    "moderation.content_hidden": ModeratedContent,
    "moderation.content_removed": ModeratedContent,
    "moderation.content_restored": ModeratedContent,
    "moderation.member_warned": MemberAction,
    "moderation.member_suspended": MemberSuspended,
    "moderation.member_unsuspended": MemberAction,
    "moderation.member_held": MemberHeld,
    "moderation.member_released": MemberAction,
    "moderation.report_filed": ReportFiled,
    "moderation.report_resolved": ReportResolved,
    "moderation.member_notified": Notification,
}


class OffContract(ValueError):
    """An event whose type the catalogue lacks, or whose data does not fit its schema."""


def key_of(event: Event) -> str:
    """The catalogue key of an event: its routing key, ``<source>.<type>``."""
    return event.routing_key


def parse(event: Event) -> Payload:
    """The event's data read through its schema. Raises ``OffContract``."""
    schema = CATALOGUE.get(key_of(event))
    if schema is None:
        raise OffContract(f"{key_of(event)} is not in the event catalogue (parentnet_kit.contract.events)")
    try:
        return schema.model_validate(event.data)
    except ValidationError as exc:
        raise OffContract(f"{key_of(event)}'s data does not fit {schema.__name__}: {exc}") from exc


def check(event: Event, role: str) -> bool:
    """Whether the event is on the catalogue; when not, log ``OFF_CONTRACT`` at ERROR and count it
    (``role``: ``"published"`` or ``"consumed"``). Never raises: the event still flows."""
    try:
        parse(event)
    except OffContract as exc:
        metrics.EVENTS_OFF_CONTRACT.labels(key_of(event), role).inc()
        log.error(
            "%s (%s): %s",
            OFF_CONTRACT,
            role,
            str(exc).replace("\n", " "),
            extra={
                "request_id": event.request_id,
                "fields": {"event_type": key_of(event), "role": role, "event_id": event.event_id, "why": str(exc)},
            },
        )
        return False
    return True
