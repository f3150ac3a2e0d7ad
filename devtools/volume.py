"""Fill the services' databases with a realistic volume of *other* data, as months of use leave it.

Tests and benchmarks that care about how the store behaves as data grows run on stores that
already hold this (FerretDB 1.x reads whole collections for most queries, so an empty store
hides exactly the costs that grow). Documents are written directly (``insert_many``) in the
shapes the services store them — built with the services' own domain constructors where they
have one — so every read path finds what it would find after a year:

- events: outings (80 % over, some cancelled) with ``places`` tickets and attendance claims
  each, one outbox record per version (every join bumped the version), the attendance
  already derived, each joined outing's attendance snapshot (events.attendance); inbox
  notifications with their outbox records; co-op shifts and bookings.
- members: accounts with their email keys, sessions, refresh tokens (live and spent), two
  days of login attempts (per-key sequences in day collections); groups, memberships (most
  members in a few groups) and blocks (a few per tenth of the members), with the per-member
  sequences that index them (``parentnet_kit.sequences``); one outbox record per version.
- listings: listings (most closed or expired, all matched) with outbox records; inbox.
- inboxes (events and listings): notifications with their per-recipient index, in the shape
  ``kit.inbox`` gives notifications from before its sequences.

Every id starts with ``vol`` so nothing here collides with what a test creates, and nothing is
due: no unpublished outbox record, no open shift that ended, no unmatched listing. The scale is
one number, ``outings``: members and listings are as many, tickets ``places`` per outing.

Command line (database names default to ``EVENTS_DB``/``MEMBERS_DB``/``LISTINGS_DB``)::

    python -m devtools.volume --outings 100000 [--places 10] [--events-db X] [--members-db Y] [--listings-db Z]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from parentnet_kit import cities, config, contracts
from parentnet_kit.city_copy import CityCopy

from .world_cities import world

BATCH = 2_000
YEAR = timedelta(days=365)
# The 72 cities of bench/cities.csv, on every continent but Antarctica; written into each
# service's copy of the open cities (and members' open cities) before anything placed in them.
CITY_SLUGS = sorted(world())
# Cities no test meets or searches in: tests fill these so that nothing a test looks for near
# Paris, Saint-Denis or Annecy (members near me, nearby outings) is volume data.
FAR_FROM_TESTS = ("montreal", "chongqing", "shenzhen", "can-tho")
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$dm9sdW1lLW5vdC1hLXJlYWwtaGFzaA$dm9sdW1l"  # never verifies


@dataclass
class Filled:
    """How many documents went into each ``db.collection``, and how long it took (seconds)."""

    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    outbox_history: bool = True

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, name: str, n: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


class _Writer:
    """Buffers documents per collection and writes them with unordered ``insert_many``."""

    def __init__(self, db: Database, filled: Filled) -> None:
        self.db, self.filled = db, filled
        self.buffers: dict[str, list[dict[str, Any]]] = {}
        self.outbox_history = filled.outbox_history
        self.outboxes: set[str] = set()
        self.inbox: dict[str, list[tuple[datetime, str]]] = {}  # recipient -> (created_at, notification id)

    def put(self, collection: str, doc: dict[str, Any]) -> None:
        if not self.outbox_history and collection.endswith("outbox"):
            return
        if collection.endswith("outbox"):
            self.outboxes.add(collection)
        buffer = self.buffers.setdefault(collection, [])
        buffer.append(doc)
        if len(buffer) >= BATCH:
            self._flush(collection)

    def _flush(self, collection: str) -> None:
        docs = self.buffers.pop(collection, [])
        if not docs:
            return
        try:
            inserted = len(self.db[collection].insert_many(docs, ordered=False).inserted_ids)
        except BulkWriteError as exc:
            # Into a running stack, the services may have written a marker first (their adoption
            # of an empty store: ``sequences_adopted``, ``outbox_adopted``): that one is kept.
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
            inserted = exc.details.get("nInserted", 0)
        self.filled.add(f"{self.db.name}.{collection}", inserted)

    def close(self) -> None:
        if self.inbox:
            # Indexed as kit.inbox indexes notifications from before its sequences (start-up).
            for recipient, told in self.inbox.items():
                entries = [{"notification_id": i, "at": at} for at, i in sorted(told)]
                _sequence(self, "inbox_by_recipient", f"old:{recipient}", entries)
            self.put("sequences_adopted", {"_id": "inbox", "at": datetime.now(UTC)})
            self.inbox = {}
        for collection in list(self.buffers):
            self._flush(collection)
        # The history is as older code left it, after the one-time adoption of what it left
        # unpublished (nothing here): the sweepers do not read it again (kit.outbox.adopt).
        for outbox in sorted(self.outboxes):
            with contextlib.suppress(DuplicateKeyError):
                self.db["outbox_adopted"].insert_one({"_id": outbox, "at": datetime.now(UTC), "records": 0})


def _id(rng: random.Random) -> str:
    return f"vol{rng.getrandbits(116):029x}"


def _near(rng: random.Random, city: cities.City) -> dict[str, float]:
    return {"lat": round(city.lat + rng.uniform(-0.08, 0.08), 6), "lon": round(city.lon + rng.uniform(-0.08, 0.08), 6)}


def _outbox_record(
    aggregate_id: str,
    version: int,
    state: dict[str, Any],
    event_type: str,
    source: str,
    data: dict[str, Any],
    city: str | None,
    at: datetime,
) -> dict[str, Any]:
    """An outbox record as ``AggregateStore.commit`` leaves it once published."""
    iso = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "_id": f"{aggregate_id}:{version}",
        "aggregate_id": aggregate_id,
        "version": version,
        "state": state,
        "event": {
            "event_id": f"vol{aggregate_id[3:19]}{version:08d}",
            "type": event_type,
            "source": source,
            "occurred_at": iso,
            "aggregate_id": aggregate_id,
            "version": version,
            "city": city,
            "data": data,
        },
        "published": True,
        "created_at": at,
        "published_at": at + timedelta(milliseconds=40),
    }


def _member_ids(rng: random.Random, n: int) -> list[str]:
    return [_id(rng) for _ in range(n)]


def fill_events(
    db: Database,
    outings: int,
    places: int,
    members: list[str],
    rng: random.Random,
    now: datetime,
    filled: Filled,
    slugs: tuple[str, ...] = tuple(CITY_SLUGS),
) -> None:
    from events import domain  # the service's own constructors: the shapes it stores

    out = _Writer(db, filled)
    for _ in range(outings):
        city = world()[rng.choice(slugs)]
        created = now - YEAR * rng.random()
        starts = created + timedelta(days=rng.uniform(1, 60))
        if rng.random() < 0.2:  # a fifth still ahead
            starts = now + timedelta(days=rng.uniform(1, 90))
        capacity = rng.choice((None, 6, 10, 12, 20, 30))
        clean = {
            "title": f"Volume outing {rng.randrange(10**6)}",
            "description": "Sortie au parc avec les enfants, goûter partagé." * rng.randint(1, 4),
            "language": city.languages[0],
            "category": rng.choice(domain.CATEGORIES),
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=rng.choice((1, 2, 3))),
            "time_zone": city.time_zone,
            "venue_name": "Parc municipal",
            "location": _near(rng, city),
            "city": city.slug,
            "capacity": capacity,
        }
        state = domain.new_outing_state(clean, rng.choice(members), created)
        state["_id"] = outing_id = _id(rng)
        record_at = created
        out.put(
            "outbox",
            _outbox_record(
                outing_id, 1, dict(state), "outing_published", "events", domain.public_view(state), city.slug, record_at
            ),
        )
        joined = rng.randint(0, places * 2)
        live: list[dict[str, Any]] = []
        taken: list[dict[str, Any]] = []
        for n, member_id in enumerate(rng.sample(members, min(joined, len(members))), start=1):
            record_at = record_at + timedelta(minutes=rng.uniform(1, 600))
            left = rng.random() < 0.1
            ticket = {
                "_id": f"{outing_id}:{n:08d}",
                "outing_id": outing_id,
                "n": n,
                "member_id": member_id,
                "adults": 1,
                "children": rng.randint(0, 3),
                "left": left,
                "waitlisted": capacity is not None and len(live) >= capacity,
                "joined_at": record_at,
            }
            out.put("tickets", ticket)
            taken.append(ticket)
            if not left:
                live.append(ticket)
                out.put(
                    "attendance_claims",
                    {
                        "_id": f"{outing_id}:{member_id}",
                        "outing_id": outing_id,
                        "member_id": member_id,
                        "at": record_at,
                        "ticket_id": ticket["_id"],
                    },
                )
            confirmed = live if capacity is None else live[:capacity]
            state["attendance"] = {
                "families": len(confirmed),
                "adults": sum(t["adults"] for t in confirmed),
                "children": sum(t["children"] for t in confirmed),
                "waitlist": len(live) - len(confirmed),
                "places_left": None if capacity is None else max(0, capacity - len(confirmed)),
            }
            state["version"] += 1
            state["updated_at"] = record_at
            out.put(
                "outbox",
                _outbox_record(
                    outing_id,
                    state["version"],
                    dict(state),
                    "attendance_changed",
                    "events",
                    domain.public_view(state),
                    city.slug,
                    record_at,
                ),
            )
        if starts < now and rng.random() < 0.05:
            state.update(status="cancelled", version=state["version"] + 1)
            out.put(
                "outbox",
                _outbox_record(
                    outing_id,
                    state["version"],
                    dict(state),
                    "outing_cancelled",
                    "events",
                    domain.public_view(state),
                    city.slug,
                    record_at,
                ),
            )
        out.put("outings", state)
        if taken:  # as events.attendance leaves it once the outing was read (no leave records here)
            kept = [{k: v for k, v in t.items() if k != "joined_at"} for t in taken]
            out.put("attendance_snapshots", {"_id": outing_id, "tickets": kept, "leaves": 0, "left": []})
        for ticket in live[:2]:  # what the members were told: changes, promotions
            _notification(out, ticket["member_id"], outing_id, "outing_changed", "events", record_at, rng)
    for _ in range(max(1, outings // 20)):  # co-op childcare, all settled
        shift_id, group_id, city = _id(rng), _id(rng), world()[rng.choice(slugs)]
        starts = now - YEAR * rng.random()
        shift = {
            "_id": shift_id,
            "group_id": group_id,
            "host_id": rng.choice(members),
            "city": city.slug,
            "time_zone": city.time_zone,
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=2),
            "places": 4,
            "age_min": None,
            "age_max": None,
            "place_note": "",
            "area": None,
            "status": "done",
            "created_at": starts - timedelta(days=3),
            "version": 1,
        }
        out.put("coop_shifts", shift)
        for _ in range(rng.randint(0, 3)):
            out.put(
                "coop_bookings",
                {
                    "_id": _id(rng),
                    "shift_id": shift_id,
                    "group_id": group_id,
                    "member_id": rng.choice(members),
                    "children": 1,
                    "cost": 120,
                    "status": "confirmed",
                    "at": starts - timedelta(days=1),
                },
            )
    # Everything here is settled: the timers' due markers start as the migration leaves them.
    out.put("coop_due_adopted", {"_id": "v1", "at": now})
    out.put("trip_swaps_due_adopted", {"_id": "v1", "at": now})
    out.close()


def _notification(
    out: _Writer, recipient: str, about: str, kind: str, source: str, at: datetime, rng: random.Random
) -> None:
    notification_id = _id(rng)
    state = {
        "_id": notification_id,
        "version": 1,
        "recipient_id": recipient,
        "kind": kind,
        "message": "The time of “Volume outing” changed.",
        "subject": {"type": "Outing", "id": about},
        "read": rng.random() < 0.7,
        "created_at": at,
    }
    out.put("inbox", state)
    out.inbox.setdefault(recipient, []).append((at, notification_id))
    view = {
        **{k: v for k, v in state.items() if k not in ("_id", "version")},
        "id": notification_id,
        "created_at": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    out.put("inbox_outbox", _outbox_record(notification_id, 1, state, "member_notified", source, view, None, at))


def fill_members(
    db: Database,
    members: list[str],
    rng: random.Random,
    now: datetime,
    filled: Filled,
    slugs: tuple[str, ...] = tuple(CITY_SLUGS),
) -> None:
    from members import domain, nearby_cells

    out = _Writer(db, filled)
    attempts: list[tuple[datetime, str]] = []
    tiles: dict[str, list[dict[str, Any]]] = {}  # parents near me (members.nearby_cells)
    for member_id in members:
        city = world()[rng.choice(slugs)]
        created = now - YEAR * rng.random()
        email = f"{member_id}@volume.example"
        state = domain.new_member_state(
            {"email": email, "display_name": "Volume parent", "city": city.slug}, PASSWORD_HASH, created
        )
        state["_id"] = member_id
        out.put(
            "members_outbox",
            _outbox_record(
                member_id, 1, dict(state), "member_registered", "members", domain.event_view(state), city.slug, created
            ),
        )
        if rng.random() < 0.6:  # set a home: a second version
            state = domain.with_cell({**state, "home": _near(rng, city), "version": 2, "updated_at": created})
            out.put(
                "members_outbox",
                _outbox_record(
                    member_id, 2, dict(state), "member_updated", "members", domain.event_view(state), city.slug, created
                ),
            )
        out.put("members", state)
        if state["discoverable"]:
            key, entry = nearby_cells.entry_for(state)
            tiles.setdefault(key, []).append(entry)
        out.put("emails", {"_id": email, "member_id": member_id, "at": created})
        sessions = []
        for _ in range(2):
            session_id, at = _id(rng), now - timedelta(days=rng.uniform(0, 90))
            sessions.append({"session_id": session_id})
            out.put(
                "sessions", {"_id": session_id, "member_id": member_id, "created_at": at, "revoked": rng.random() < 0.5}
            )
            for spent in range(3):  # rotated twice: two spent, one live
                digest = f"vol{rng.getrandbits(232):058x}"
                out.put(
                    "refresh_tokens",
                    {
                        "_id": digest,
                        "session_id": session_id,
                        "member_id": member_id,
                        "expires_at": at + timedelta(days=30),
                    },
                )
                if spent < 2:
                    out.put("spent_refresh_tokens", {"_id": digest, "at": at})
            attempts.append((now - timedelta(days=rng.uniform(0, 2)), email))
        _sequence(out, "member_session_ids", member_id, sessions)
    _fill_attempts(out, attempts, rng)
    _fill_community(out, members, rng, now, slugs)
    for key, entries in tiles.items():
        _sequence(out, nearby_cells.COLLECTION, key, entries)
    # What the members service would otherwise index once at start-up is indexed already.
    for name in ("memberships", "blocks", "sessions", nearby_cells.MARKER):
        out.put("sequences_adopted", {"_id": name, "at": now})
    out.close()


def _sequence(out: _Writer, collection: str, key: str, entries: list[dict[str, Any]]) -> None:
    """``entries`` as ``kit.sequences`` stores them under ``key``: ``<key>:<n>`` and a head hint."""
    for n, fields in enumerate(entries, start=1):
        out.put(collection, {**fields, "_id": f"{key}:{n}", "n": n})
    if entries:
        out.put(collection, {"_id": f"{key}:head", "n": len(entries)})


def _fill_attempts(out: _Writer, attempts: list[tuple[datetime, str]], rng: random.Random) -> None:
    """Successful logins over the last two days, as ``members.security.Attempts`` keeps them:
    per UTC day, one entry under each of three keys, numbered in time order."""
    from members.security import digest

    keyed: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for at, email in sorted(attempts):
        account, client = digest(email), f"203.0.113.{rng.randrange(256)}"
        day = at.strftime("%Y%m%d")
        for key in (f"login|ac|{account}|{client}", f"login|c|{client}", f"login|a|{account}"):
            keyed.setdefault((day, key), []).append({"at": at, "outcome": "ok"})
    for (day, key), entries in keyed.items():
        _sequence(out, f"attempts_{day}", key, entries)


def _fill_community(
    out: _Writer, members: list[str], rng: random.Random, now: datetime, slugs: tuple[str, ...]
) -> None:
    """A group per 25 members; most members in one to four of them (the founder as admin, some
    left or pending); a tenth of the members block one to three others."""
    from members import domain

    groups = []
    for _ in range(max(1, len(members) // 25)):
        clean, _ = domain.validate_group({"name": f"Volume group {rng.randrange(10**6)}", "city": rng.choice(slugs)})
        creator, created = rng.choice(members), now - YEAR * rng.random()
        group = {**domain.new_group_state(clean, creator, created), "_id": _id(rng)}
        out.put("groups", group)
        out.put(
            "groups_outbox",
            _outbox_record(
                group["_id"], 1, dict(group), "group_created", "members", domain.group_view(group), None, created
            ),
        )
        groups.append((group, {creator: "admin"}))
    for member_id in members:
        for _group, joined in rng.sample(groups, min(len(groups), rng.choice((0, 1, 1, 2, 3, 4)))):
            joined.setdefault(member_id, "member")
    groups_of: dict[str, list[dict[str, Any]]] = {}
    for group, joined in groups:
        for member_id, role in joined.items():
            status = "active" if role == "admin" else rng.choices(("active", "left", "pending"), (85, 10, 5))[0]
            state = {
                "_id": f"gm:{group['_id']}:{member_id}",
                "version": 1,
                "group_id": group["_id"],
                "member_id": member_id,
                "role": role,
                "status": status,
                "updated_at": group["created_at"],
            }
            out.put("memberships", state)
            out.put(
                "memberships_outbox",
                _outbox_record(
                    state["_id"],
                    1,
                    dict(state),
                    "group_membership_changed",
                    "members",
                    domain.membership_view(state),
                    None,
                    group["created_at"],
                ),
            )
            groups_of.setdefault(member_id, []).append({"group_id": group["_id"]})
        admins = [{"member_id": m} for m, role in joined.items() if role == "admin"]
        _sequence(out, "group_admin_ids", group["_id"], admins)
        _sequence(out, "group_member_ids", group["_id"], [{"member_id": m} for m in joined])
    for member_id, entries in groups_of.items():
        _sequence(out, "member_group_ids", member_id, entries)
    blocks_of: dict[str, list[dict[str, Any]]] = {}
    for blocker in rng.sample(members, len(members) // 10):
        for blocked in rng.sample(members, min(len(members), rng.randint(1, 3))):
            block_id = f"block:{blocker}:{blocked}"
            if blocked == blocker or any(e["block_id"] == block_id for e in blocks_of.get(blocker, [])):
                continue
            at = now - YEAR * rng.random()
            state = {
                "_id": block_id,
                "version": 1,
                "blocker_id": blocker,
                "blocked_id": blocked,
                "active": rng.random() < 0.8,
                "updated_at": at,
            }
            out.put("blocks", state)
            for member_id in (blocker, blocked):
                blocks_of.setdefault(member_id, []).append({"block_id": block_id})
    for member_id, entries in blocks_of.items():
        _sequence(out, "member_block_ids", member_id, entries)


def fill_listings(
    db: Database,
    listings: int,
    members: list[str],
    rng: random.Random,
    now: datetime,
    filled: Filled,
    slugs: tuple[str, ...] = tuple(CITY_SLUGS),
) -> None:
    from listings import domain

    out = _Writer(db, filled)
    owned: dict[str, list[dict[str, Any]]] = {}
    for _ in range(listings):
        city = world()[rng.choice(slugs)]
        created = now - YEAR * rng.random()
        kind = rng.choice(contracts.LISTING_KINDS)
        clean = {
            "kind": kind,
            "category": "toys",
            "title": "Volume things",
            "description": "Bon état.",
            "language": city.languages[0],
            "city": city.slug,
            "size": None,
            "age_min_months": None,
            "age_max_months": None,
            "condition": None if kind == "wanted" else "good",
            "price": None,
            "photos": [],
            "pickup_address": None,
            "pickup_location": _near(rng, city),
            "match_radius_km": 3.0,
        }
        state = domain.new_listing_state(clean, rng.choice(members), created)
        state.update(_id=_id(rng), matched=True, owner_apart=[])
        out.put(
            "listings_outbox",
            _outbox_record(
                state["_id"],
                1,
                dict(state),
                "listing_posted",
                "listings",
                domain.public_view(state),
                city.slug,
                created,
            ),
        )
        if state["expires_at"] < now or rng.random() < 0.5:  # done with: closed, or expired by the sweep
            state.update(status="closed" if rng.random() < 0.5 else "expired", version=2, updated_at=created)
            out.put(
                "listings_outbox",
                _outbox_record(
                    state["_id"],
                    2,
                    dict(state),
                    "listing_closed",
                    "listings",
                    domain.public_view(state),
                    city.slug,
                    created,
                ),
            )
        out.put("listings", state)
        owned.setdefault(state["owner_id"], []).append({"listing_id": state["_id"]})
        if rng.random() < 0.3:
            _notification(out, state["owner_id"], state["_id"], "listing_matched", "listings", created, rng)
    for owner_id, entries in owned.items():  # "my listings", as ListingStore indexes them
        _sequence(out, "listings_by_owner", owner_id, entries)
    out.put("sequences_adopted", {"_id": "listings_by_owner", "at": now})
    out.close()


def _open_cities(db: Database, placed: list[cities.City], owner: bool, filled: Filled) -> None:
    """The cities the volume is placed in, open in this service's copy (and, for members, the
    owner's ``open_cities``, as ``CityDirectory`` stores them), as if ``city_opened`` had come."""
    filled.add(f"{db.name}.cities", CityCopy(db).apply_all(placed))
    if owner:
        for city in placed:
            if db["open_cities"].find_one({"_id": city.slug}, {"_id": 1}) is None:
                db["open_cities"].insert_one({"_id": city.slug, "version": city.version, "city": city.to_dict()})
                filled.add(f"{db.name}.open_cities", 1)


def fill(
    mongo_uri: str,
    outings: int,
    places: int = 10,
    events_db: str | None = None,
    members_db: str | None = None,
    listings_db: str | None = None,
    seed: int = 17,
    in_cities: tuple[str, ...] | None = None,
    outbox_history: bool = True,
) -> Filled:
    """Write the volume into the databases named (``None``: skip that service); returns counts.

    ``outings`` outings (and as many members and listings), up to ``2 * places`` tickets each.
    Roughly ``20 * outings`` documents for events, ``14 * outings`` for members and ``3 * outings``
    for listings. ``in_cities``: city slugs to place it in (default all; tests pass
    ``FAR_FROM_TESTS``). ``outbox_history``: also one outbox record per version ever written, as the
    outbox was before it kept only the recent past (what the first sweeps then compact); without
    it the outboxes are empty, as the services leave them once idle. Raises ``ValueError`` for an unknown city and
    ``pymongo.errors.PyMongoError`` if the server refuses a write."""
    started = time.monotonic()
    slugs = tuple(in_cities or CITY_SLUGS)
    unknown = [slug for slug in slugs if slug not in world()]
    if unknown:
        raise ValueError(f"in_cities: unknown cities {unknown}")
    # The services' domain constructors read this process's view of the open cities, which a
    # test or bench process has not loaded from any copy: it learns the ones filled here.
    cities.remember([world()[slug] for slug in slugs])
    rng, now, filled = random.Random(seed), datetime.now(UTC), Filled(outbox_history=outbox_history)
    members = _member_ids(rng, max(1, outings))
    client = MongoClient(mongo_uri, tz_aware=True)
    try:
        for name in (members_db, events_db, listings_db):
            if name:
                _open_cities(client[name], [world()[slug] for slug in slugs], name == members_db, filled)
        if members_db:
            fill_members(client[members_db], members, rng, now, filled, slugs)
        if events_db:
            fill_events(client[events_db], outings, places, members, rng, now, filled, slugs)
        if listings_db:
            fill_listings(client[listings_db], outings, members, rng, now, filled, slugs)
    finally:
        client.close()
    filled.seconds = time.monotonic() - started
    return filled


def fill_stack(mongo_uri: str, outings: int, env: dict[str, str], outbox_history: bool = False) -> Filled:
    """``fill`` the three databases a stack's ``env`` names (``EVENTS_DB``, ``MEMBERS_DB``,
    ``LISTINGS_DB``; ``devtools.isolated``), in ``FAR_FROM_TESTS``, before its processes start:
    a stack at volume for end-to-end tests and benches. Returns ``fill``'s counts; raises as it does."""
    return fill(
        mongo_uri,
        outings,
        events_db=env["EVENTS_DB"],
        members_db=env["MEMBERS_DB"],
        listings_db=env["LISTINGS_DB"],
        in_cities=FAR_FROM_TESTS,
        outbox_history=outbox_history,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outings", type=int, required=True, help="outings; as many members and listings")
    parser.add_argument("--places", type=int, default=10, help="tickets per outing: up to twice this")
    parser.add_argument("--events-db", default=os.environ.get("EVENTS_DB", "events"))
    parser.add_argument("--members-db", default=os.environ.get("MEMBERS_DB", "members"))
    parser.add_argument("--listings-db", default=os.environ.get("LISTINGS_DB", "listings"))
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--no-outbox-history", action="store_true", help="leave the outboxes empty")
    args = parser.parse_args(argv)
    if args.outings < 1:
        parser.error("--outings must be at least 1")
    filled = fill(
        config.mongo_uri(),
        args.outings,
        args.places,
        args.events_db,
        args.members_db,
        args.listings_db,
        args.seed,
        outbox_history=not args.no_outbox_history,
    )
    for name, n in sorted(filled.counts.items()):
        print(f"{n:>10,}  {name}")
    print(f"{filled.total:>10,}  documents in {filled.seconds:.1f} s ({filled.total / filled.seconds:,.0f}/s)")


if __name__ == "__main__":
    main()
