"""The listings service's storage and the rules that need it: lifecycle, reservations,
matching, expiry and trusted contacts. Correct on FerretDB and MongoDB alike: anything
that can race is an insert with a unique key (a reservation round, a match, a recommendation)
or an outbox insert of the next version.
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from parentnet_kit import cells, upserts
from parentnet_kit.clock import aware as _aware
from parentnet_kit.envelope import Event
from parentnet_kit.expiry import markers_database
from parentnet_kit.fields import FieldError
from parentnet_kit.fields import field_error as error
from parentnet_kit.i18n import t, tn
from parentnet_kit.inbox import Inbox
from parentnet_kit.lookups import by_ids
from parentnet_kit.moderation_copy import is_hidden
from parentnet_kit.outbox import AggregateStore, ConcurrencyConflict, retry_on_conflict
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.sequences import Sequences

from . import domain
from .buckets import MatchIndex

SOURCE = "listings"
EDIT_ATTEMPTS, BACKOFF = 20, 0.01
DAY = timedelta(days=1)
MATCH_SWEEP_AFTER = timedelta(seconds=5)
# Each wanted request is a probe of who offers what within a radius of a point its owner
# chooses; posts in the last 24 h count whatever became of them (a withdrawn-and-reposted
# request is a new one), so a sweep of points and radii is slow even where it learns nothing.
WANTED_PER_DAY = 10
ORPHAN_MARKER_AFTER = timedelta(minutes=5)
# A new listing is matched with at most this many listings of the other side, the nearest first
# (by published area): an offer posted into a popular category near many wanted requests tells
# these, not all of them, and its poster is told once how many (the others can find it in
# search). Bounds the work of one posting and what it sends to inboxes.
MATCHES_PER_LISTING = 20
FINAL_STATUSES = ("completed", "withdrawn")
CLOSED_REMEMBERED = 50_000  # closed listings a process remembers not to read again (ids only)
log = logging.getLogger(__name__)

Decision = Callable[[dict[str, Any]], tuple[dict[str, Any] | None, str | None, list[dict[str, Any]]]]


def _open_marker(state: dict[str, Any]) -> dict[str, Any]:
    """An active listing's marker: its expiry, for the expiry sweep, and what matching compares
    (kind, category, owner, area, radius, size, ages), so that matching reads the active
    listings' markers instead of every listing ever posted. No text, no address, no point."""
    fields = ("kind", "category", "owner_id", "match_radius_km", "size", "age_min_months", "age_max_months")
    return {
        "expires_at": state["expires_at"],
        "pickup_area": dict(state["pickup_area"]),
        "owner_apart": list(state.get("owner_apart", [])),
        **{name: state.get(name) for name in fields},
    }


def _same_marker(stored: dict[str, Any] | None, marker: dict[str, Any]) -> bool:
    """A stored marker says what ``marker`` says (times compared to the millisecond the store keeps)."""
    if stored is None:
        return False

    def plain(doc: dict[str, Any]) -> dict[str, Any]:
        at = _aware(doc["expires_at"]).astimezone(UTC)
        return {**doc, "expires_at": at.replace(microsecond=at.microsecond // 1000 * 1000)}

    return plain({k: v for k, v in stored.items() if k != "_id"}) == plain(marker)


def _nearest_first(state: dict[str, Any], marker: dict[str, Any], listing_id: str) -> tuple[float, float, str]:
    """The order in which a posting's candidates are matched: nearest published area first
    (areas are fixed ~1 km cells or city centres, never points), then the one expiring last
    (the most recently posted or renewed), then by id."""
    return (domain.area_distance_km(state, marker), -_aware(marker["expires_at"]).timestamp(), listing_id)


def directory_entry(contact: dict[str, Any]) -> dict[str, Any]:
    """What the directory's page sorts and filters a contact by, as of this version."""
    return {
        "contact_id": contact["_id"],
        "version": contact["version"],
        "kind": contact["kind"],
        "group_id": contact.get("group_id"),
        "languages": list(contact.get("languages", [])),
        "recommendations": contact.get("recommendations", 0),
        "hidden": is_hidden(contact),
    }


class ListingStore:
    def __init__(self, db: Database, publisher: EventPublisher | None, wanted_per_day: int = WANTED_PER_DAY) -> None:
        self.wanted_per_day = wanted_per_day
        self.listings = AggregateStore(db, "listings", publisher, outbox="listings_outbox")
        self.matches = AggregateStore(db, "matches", publisher, outbox="matches_outbox")
        self.contacts = AggregateStore(db, "contacts", publisher, outbox="contacts_outbox")
        self.inbox = Inbox(AggregateStore(db, "inbox", publisher, outbox="inbox_outbox"), SOURCE)
        self.reservations = db["reservations"]
        self.recommendations = db["recommendations"]
        # What the timers look at, kept small (docs/store.md: FerretDB reads a whole collection
        # for any filter but {_id}): a marker per listing posted and not matched yet, and one per
        # active listing with its expiry. The listings collection itself is never scanned by a timer.
        self.unmatched = db["listings_unmatched"]
        self.wanted_posts = db["wanted_posts"]
        self.expiring = db["listings_expiring"]
        # The expiry sweep reads only what falls due: a marker per active listing in the
        # collection of the hour it expires (``listings_due_<YYYYMMDDHH>``), never the markers of
        # every active listing (docs/store.md; a fresh review found that read the largest part
        # of the idle store's time at 12,000 listings). Those hours (up to 720 ahead: a listing
        # lives 30 days) are in the expiry markers' database, not here: FerretDB lists every
        # collection of a database on each find (parentnet_kit.expiry). Hours written here by
        # earlier code are still swept, and dropped once past and empty.
        self.db = db
        self.due_db = markers_database(db)
        # owner -> {listing_id} ever posted, appended before the commit (a crash or a repeated
        # delivery leaves an entry counted once or not at all): "my listings" reads it by _id.
        self.by_owner = Sequences(db["listings_by_owner"], cache_keys=10_000)
        # Matching's candidates: active listings in buckets by category, side and tile, per
        # period of expiry (buckets.py), read by _id, never the markers of every active listing.
        self.matching = MatchIndex(db)
        self._closed: OrderedDict[str, None] = OrderedDict()  # listings found completed or withdrawn
        self._buckets_adopted = False
        # city -> the contacts' versions as committed ({contact_id, version, kind, group_id,
        # languages, recommendations}), appended after each commit: the directory's page folds
        # them (the newest version of each) instead of filtering every contact ever added.
        self.contacts_by_city = Sequences(db["contacts_by_city"], cache_keys=1_000)
        # contact -> who recommended it ({member_id}), appended before the unique insert: the
        # count is how many members it holds, not a count over every recommendation.
        self.recommenders = Sequences(db["contact_recommenders"], cache_keys=10_000)

    def ensure_indexes(self) -> None:
        for store in (self.listings, self.matches, self.contacts):
            store.ensure_indexes()
        self.inbox.ensure_indexes()
        coll = self.listings.aggregates
        coll.create_index([("status", ASCENDING), ("category", ASCENDING), ("pickup_area.lat", ASCENDING)])
        coll.create_index([("status", ASCENDING), ("expires_at", ASCENDING)])
        coll.create_index([("matched", ASCENDING), ("created_at", ASCENDING)])
        self.contacts.aggregates.create_index([("city", ASCENDING), ("recommendations", DESCENDING)])
        self._adopt_markers()
        self._adopt_owner_index()
        self._adopt_due()
        if self.expiring.find_one({}, {"_id": 1}) is None:
            self.adopt_buckets()  # a new database: nothing to enter, matching reads buckets at once
        self._adopt_contacts()

    def _adopt_contacts(self) -> None:
        """Once per database: index the contacts and recommendations stored before
        ``contacts_by_city`` and ``contact_recommenders`` (one read of each). Running twice or
        concurrently only adds entries that readers fold away."""
        adopted = self.db["sequences_adopted"]
        if adopted.find_one({"_id": "contacts_by_city"}) is None:
            by_city: dict[str, list[dict[str, Any]]] = {}
            for doc in self.contacts.aggregates.find({}):
                by_city.setdefault(doc["city"], []).append(directory_entry(doc))
            for city, entries in by_city.items():
                self.contacts_by_city.extend(city, entries)
            with contextlib.suppress(DuplicateKeyError):
                adopted.insert_one({"_id": "contacts_by_city", "at": datetime.now(UTC)})
        if adopted.find_one({"_id": "contact_recommenders"}) is None:
            by_contact: dict[str, list[dict[str, Any]]] = {}
            for doc in self.recommendations.find({}):
                member_id = doc["_id"][len(doc["contact_id"]) + 1 :]
                by_contact.setdefault(doc["contact_id"], []).append({"member_id": member_id})
            for contact_id, entries in by_contact.items():
                self.recommenders.extend(contact_id, entries)
            with contextlib.suppress(DuplicateKeyError):
                adopted.insert_one({"_id": "contact_recommenders", "at": datetime.now(UTC)})

    def buckets_adopted(self) -> bool:
        """Whether every listing active before the buckets is in them (a flag read by ``_id``,
        remembered once true)."""
        if not self._buckets_adopted:
            flag = self.db["listings_markers_adopted"].find_one({"_id": "match-buckets"})
            self._buckets_adopted = flag is not None
        return self._buckets_adopted

    def adopt_buckets(self) -> None:
        """Once per database, from the sweep timer (never before the service answers: at 100,000
        active listings it takes minutes): enter every active listing's marker in matching's
        buckets (one read of the markers). Until it is done, matching reads the markers as before
        (``_candidates_by_scan``). Running twice or concurrently only enters a listing twice,
        which matching reads twice and matches once."""
        if self.buckets_adopted():
            return
        entered = self.matching.enter_many(self.expiring.find({}))  # none in a new database
        log.info("entered %d bucket entries for the active listings", entered)
        with contextlib.suppress(DuplicateKeyError):
            self.db["listings_markers_adopted"].insert_one({"_id": "match-buckets", "at": datetime.now(UTC)})
        self._buckets_adopted = True

    def _candidates_by_scan(self, state: dict[str, Any], now: datetime) -> Any:
        """The active listings' markers that may match ``state``: a filter over every marker (a
        whole-collection read on FerretDB), only while the buckets are being adopted."""
        radius = state["match_radius_km"] if state["kind"] == "wanted" else domain.RADIUS_MAX_KM
        box = cells.search_box(state["pickup_area"], radius)
        query = {
            "category": state["category"],
            "kind": {"$in": list(domain.OFFER_KINDS)} if state["kind"] == "wanted" else "wanted",
            "expires_at": {"$gt": now},
            "pickup_area.lat": {"$gte": box["lat"][0], "$lte": box["lat"][1]},
            "pickup_area.lon": {"$gte": box["lon"][0], "$lte": box["lon"][1]},
        }
        for marker in self.expiring.find(query):
            yield marker["_id"], marker

    def _due(self, expires_at: datetime) -> Any:
        return self.due_db[f"listings_due_{_aware(expires_at).astimezone(UTC):%Y%m%d%H}"]

    def _mark_due(self, listing_id: str, expires_at: datetime) -> None:
        with contextlib.suppress(DuplicateKeyError):  # marked already
            self._due(expires_at).insert_one({"_id": listing_id, "expires_at": expires_at})

    def _adopt_due(self) -> None:
        """Once per database: an hour marker for every active listing's expiry (one read of the
        active listings' markers)."""
        adopted = self.db["listings_markers_adopted"]
        if adopted.find_one({"_id": "due-hours"}) is not None:
            return
        for marker in self.expiring.find({}, {"expires_at": 1}):
            self._mark_due(marker["_id"], marker["expires_at"])
        with contextlib.suppress(DuplicateKeyError):
            adopted.insert_one({"_id": "due-hours", "at": datetime.now(UTC)})

    def _adopt_owner_index(self) -> None:
        """Once per database: index the listings posted before ``by_owner`` (one read). Running
        twice or concurrently only adds duplicate entries, which readers skip."""
        adopted = self.listings.aggregates.database["sequences_adopted"]
        if adopted.find_one({"_id": "listings_by_owner"}) is not None:
            return
        owned: dict[str, list[dict[str, Any]]] = {}
        for doc in self.listings.aggregates.find({}, {"owner_id": 1}):
            owned.setdefault(doc["owner_id"], []).append({"listing_id": doc["_id"]})
        for owner_id, entries in owned.items():
            self.by_owner.extend(owner_id, entries)
        with contextlib.suppress(DuplicateKeyError):
            adopted.insert_one({"_id": "listings_by_owner", "at": datetime.now(UTC)})

    def _adopt_markers(self) -> None:
        """Once per database: markers for listings written before the markers existed."""
        adopted = self.listings.aggregates.database["listings_markers_adopted"]
        if adopted.find_one({"_id": "v2"}) is not None:
            return
        for doc in self.listings.aggregates.find({"status": "active"}):
            upserts.replace(self.expiring, doc["_id"], _open_marker(doc))
            if doc.get("matched") is False:
                with contextlib.suppress(DuplicateKeyError):
                    self.unmatched.insert_one({"_id": doc["_id"], "at": datetime.now(UTC)})
        with contextlib.suppress(DuplicateKeyError):
            adopted.insert_one({"_id": "v2", "at": datetime.now(UTC)})

    def relay_pending(self) -> int:
        stores = (self.listings, self.matches, self.contacts, self.inbox.store)
        return sum(store.relay_pending() for store in stores)

    def _event(self, type_: str, state: dict[str, Any], data: dict[str, Any]) -> Event:
        return Event(type_, SOURCE, state["_id"], state["version"], state.get("city"), data)

    def _commit_listing(self, state: dict[str, Any], type_: str) -> dict[str, Any]:
        view = domain.public_view(state)
        active = state["status"] == "active"
        if active:  # before: an active listing always has its markers (the sweep re-reads the listing)
            marker = _open_marker(state)
            # Entered in matching's buckets before its marker is written: a crash between the two
            # leaves the old marker, so a retry enters it again (an entry too many is harmless).
            if not _same_marker(self.expiring.find_one({"_id": state["_id"]}), marker):
                self.matching.enter(state["_id"], marker)
            upserts.replace(self.expiring, state["_id"], marker)
            self._mark_due(state["_id"], state["expires_at"])
        self.listings.commit(state, self._event(type_, state, view))
        if not active:  # after: a failed commit leaves the listing as it was, marker included
            self.expiring.delete_one({"_id": state["_id"]})
        return view

    # -- posting -------------------------------------------------------------------------
    def create(
        self,
        raw: dict[str, Any],
        owner_id: str,
        apart: list[str],
        listing_id: str | None = None,
        protected: bool = False,
    ) -> dict[str, Any]:
        """Post a listing and match it. ``apart``: members the owner blocked or was blocked by
        (given by the gateway, kept with the listing, never shown): they are never matched.
        ``listing_id`` (``once_id``): a request delivered twice returns the listing it posted.
        ``protected``: the owner is in protected mode, so the listing is placed, shown and
        matched at city level. A wanted request beyond ``wanted_per_day`` in 24 hours is
        refused with ``RATE_LIMITED`` on ``kind``."""
        now = datetime.now(UTC)
        if listing_id and (posted := self.listings.get(listing_id)) is not None:
            return {"listing": domain.view_for(posted, owner_id), "errors": []}
        clean, errors = domain.validate_listing(raw, now)
        wanted = not errors and clean["kind"] == "wanted"
        recent = self._wanted_recently(owner_id, now) if wanted else []
        if wanted and len(recent) >= self.wanted_per_day:
            message = t(
                "You can post {wanted_per_day} wanted requests a day; try again tomorrow.",
                wanted_per_day=self.wanted_per_day,
            )
            errors = [FieldError(("kind",), message, "RATE_LIMITED")]
        if errors:
            return {"listing": None, "errors": [e.to_dict() for e in errors]}
        state = domain.new_listing_state(clean, owner_id, now, protected)
        if listing_id:
            state["_id"] = listing_id
        state["matched"] = False
        state["owner_apart"] = sorted(set(apart or []))
        if wanted:  # the last wanted_per_day posting times are all the check needs
            kept = [*recent, now][-self.wanted_per_day :]
            upserts.replace(self.wanted_posts, owner_id, {"at": kept})
        with contextlib.suppress(DuplicateKeyError):
            self.unmatched.insert_one({"_id": state["_id"], "at": now})
        self.by_owner.append(owner_id, {"listing_id": state["_id"]})
        try:
            self._commit_listing(state, "listing_posted")
        except ConcurrencyConflict:
            # Posted by this request's first delivery; an unmatched one is matched by the sweep.
            state = self.listings.get(state["_id"]) or state
            return {"listing": domain.view_for(state, owner_id), "errors": []}
        self.match(state["_id"])
        self.unmatched.delete_one({"_id": state["_id"]})
        return {"listing": domain.view_for(state, owner_id), "errors": []}

    def _wanted_recently(self, owner_id: str, now: datetime) -> list[datetime]:
        """When the member posted wanted requests in the last 24 h, oldest first. One document per
        member, read by _id: FerretDB serves only {_id} from an index (docs/store.md), and a
        count over listings grew with every listing ever posted."""
        doc = self.wanted_posts.find_one({"_id": owner_id}) or {}
        return [at for at in doc.get("at", []) if _aware(at) >= now - DAY]

    def get_many(self, listing_ids: list[str], viewer_id: str | None) -> list[dict[str, Any] | None]:
        found = by_ids(self.listings.aggregates, listing_ids)
        return [domain.view_for(found[i], viewer_id) if i in found else None for i in listing_ids]

    def of_owner(self, owner_id: str, first: int, after: str | None) -> dict[str, Any]:
        """The owner's listings, newest first (in the order posted), after the listing ``after``:
        ``{listings: [view], has_next_page, total}``. Reads the owner's sequence (kept by this
        process, so read once, then only what came after) and, by ``_id``, only the listings of
        the page and the one after it: a page costs ``first + 1`` lookups, however many the
        owner ever posted. ``total`` counts what the sequence names (a listing whose post
        crashed before it was stored would be counted, never shown)."""
        ids = list(dict.fromkeys(e["listing_id"] for e in self.by_owner.all(owner_id)))
        ids.reverse()
        start = 0
        if after:
            position = next((k for k, listing_id in enumerate(ids) if listing_id == after), None)
            start = len(ids) if position is None else position + 1
        docs: list[dict[str, Any]] = []
        for listing_id in ids[start:]:
            doc = self.listings.get(listing_id)
            if doc is None or doc["owner_id"] != owner_id:
                continue
            docs.append(doc)
            if len(docs) > first:
                break
        return {
            "listings": [domain.view_for(d, owner_id) for d in docs[:first]],
            "has_next_page": len(docs) > first,
            "total": len(ids),
        }

    def export_page(self, after: str | None, size: int) -> list[dict[str, Any]]:
        query = {"_id": {"$gt": after}} if after else {}
        return [domain.public_view(d) for d in self.listings.aggregates.find(query).sort("_id", 1).limit(size)]

    # -- matching ------------------------------------------------------------------------
    def match(self, listing_id: str) -> int:
        """Match a listing with at most ``MATCHES_PER_LISTING`` listings of the other side, the
        nearest first (by their published areas; the freshest first among equals), record each
        match once (``listing_matched``), tell each of their owners, and tell the poster once
        how many (``_tell_poster``). Returns how many matches this run recorded or found
        recorded. Safe to run again: nobody is told of a match twice, nor the poster twice."""
        state = self.listings.get(listing_id)
        if state is None or state["status"] != "active":
            return 0
        now = datetime.now(UTC)
        wanted_side = state["kind"] == "wanted"
        apart = set(state.get("owner_apart", []))
        # Candidates from the buckets of the tiles around the listing's area (buckets.py), each
        # with the marker it was entered with (no text, no point), compared in memory; a
        # listing's later entry is its fresher one. Only the nearest are read, until enough
        # still match as they are now (active, unexpired, nobody apart, ``domain.matches``).
        fitting: dict[str, dict[str, Any]] = {}
        found = self.matching.candidates(state, now) if self.buckets_adopted() else self._candidates_by_scan(state, now)
        for other_id, marker in found:
            if other_id == listing_id or other_id in self._closed:
                continue
            if _aware(marker["expires_at"]) <= now or not self._fits(state, marker, apart):
                continue  # a stale entry of a listing entered again is judged by its fresher one
            fitting[other_id] = marker
        matched: list[dict[str, Any]] = []
        for other_id in sorted(fitting, key=lambda i: _nearest_first(state, fitting[i], i)):
            if len(matched) >= MATCHES_PER_LISTING:
                break  # the others can still find it in search (README)
            other = self.listings.get(other_id)
            if other is not None and other["status"] in FINAL_STATUSES:
                self._remember_closed(other_id)
            if other is None or other["status"] != "active" or _aware(other["expires_at"]) <= now:
                continue
            if not self._fits(state, other, apart):
                continue
            wanted, offer = (state, other) if wanted_side else (other, state)
            self._record_match(wanted, offer, other)
            matched.append(other)
        self._tell_poster(state, matched)
        self.listings.aggregates.update_one({"_id": listing_id}, {"$set": {"matched": True}})
        return len(matched)

    def _remember_closed(self, listing_id: str) -> None:
        """A listing completed or withdrawn stays so: its bucket entries are never read again by
        this process (at most ``CLOSED_REMEMBERED`` remembered, the oldest forgotten first)."""
        self._closed[listing_id] = None
        while len(self._closed) > CLOSED_REMEMBERED:
            self._closed.popitem(last=False)

    @staticmethod
    def _fits(state: dict[str, Any], other: dict[str, Any], apart: set[str]) -> bool:
        """``other`` (a listing or its marker) matches ``state``, and neither owner is apart from the other."""
        if other["owner_id"] in apart or state["owner_id"] in other.get("owner_apart", []):
            return False
        wanted, offer = (state, other) if state["kind"] == "wanted" else (other, state)
        return domain.matches(wanted, offer)

    def _record_match(self, wanted: dict[str, Any], offer: dict[str, Any], other: dict[str, Any]) -> None:
        """Record the match (once) and tell the owner of ``other`` (the side that was there
        before), once per match."""
        match_id = f"match:{wanted['_id']}:{offer['_id']}"
        data = {
            "wanted_id": wanted["_id"],
            "offer_id": offer["_id"],
            "wanted_owner_id": wanted["owner_id"],
            "offer_owner_id": offer["owner_id"],
            "category": wanted["category"],
        }
        state = {"_id": match_id, "version": 1, **data, "created_at": datetime.now(UTC)}
        # Recorded by an earlier run already? The notices below are told once anyway.
        with contextlib.suppress(ConcurrencyConflict):
            self.matches.commit(state, Event("listing_matched", SOURCE, match_id, 1, wanted["city"], data))
        new = offer if other is wanted else wanted
        message = t("A match for “{title}”: “{their_title}” nearby.", title=other["title"], their_title=new["title"])
        subject = {"type": "Listing", "id": new["_id"]}
        self.inbox.notify(other["owner_id"], match_id, "listing_matched", message, subject, other["city"])

    def _tell_poster(self, state: dict[str, Any], matched: list[dict[str, Any]]) -> None:
        """One notice to the poster, whatever the number of matches: with one, the match itself
        (``listing_matched``, about the other listing, as each match was told before); with more,
        how many (``listing_matches``, about the poster's own listing). Told once per version
        of the listing (a listing moved by protected mode is matched again from its new area)."""
        if not matched:
            return
        if len(matched) == 1:
            (other,) = matched
            wanted, offer = (state, other) if state["kind"] == "wanted" else (other, state)
            key, kind = f"match:{wanted['_id']}:{offer['_id']}", "listing_matched"
            message = t(
                "A match for “{title}”: “{their_title}” nearby.", title=state["title"], their_title=other["title"]
            )
            subject = {"type": "Listing", "id": other["_id"]}
        else:
            key, kind = f"listing:{state['_id']}:matches:v{state['version']}", "listing_matches"
            message = tn(
                "“{title}” matches {count} listing nearby; their owners were told.",
                "“{title}” matches {count} listings nearby; their owners were told.",
                len(matched),
                title=state["title"],
            )
            subject = {"type": "Listing", "id": state["_id"]}
        self.inbox.notify(state["owner_id"], key, kind, message, subject, state["city"])

    def sweep_unmatched(self) -> int:
        """Match what a crash between posting and matching left behind."""
        now = datetime.now(UTC)
        done = 0
        for marker in list(self.unmatched.find({}))[:100]:
            at = _aware(marker["at"])
            if at > now - MATCH_SWEEP_AFTER:
                continue
            listing = self.listings.get(marker["_id"])
            if listing is None and at > now - ORPHAN_MARKER_AFTER:
                continue  # its posting may still be on its way
            if listing is not None and not listing.get("matched"):
                self.match(marker["_id"])
                done += 1
            self.unmatched.delete_one({"_id": marker["_id"]})
        return done

    # -- lifecycle -----------------------------------------------------------------------
    def _change(
        self,
        listing_id: Any,
        actor_id: str,
        decide: Decision,
    ) -> dict[str, Any]:
        """Apply ``decide(current) -> (new state or None, event type, errors)``.

        Run again on fresh state when a racing change took the version first."""
        if not isinstance(listing_id, str) or self.listings.get(listing_id) is None:
            return {"listing": None, "errors": [error(("listing_id",), t("No such listing."), "NOT_FOUND")]}

        def attempt() -> dict[str, Any]:
            current = self.listings.get(listing_id)
            assert current is not None
            state, event_type, errors = decide(current)
            if errors or state is None or event_type is None:
                return {"listing": domain.view_for(current, actor_id), "errors": errors}
            state = {**state, "version": current["version"] + 1, "updated_at": datetime.now(UTC)}
            self._commit_listing(state, event_type)
            return {"listing": domain.view_for(state, actor_id), "errors": []}

        return retry_on_conflict(EDIT_ATTEMPTS, attempt, backoff=BACKOFF)

    @staticmethod
    def _owner_only(current: dict[str, Any], actor_id: str) -> list[dict[str, Any]]:
        if current["owner_id"] != actor_id:
            return [error(("listing_id",), t("Only the owner can do that."), "FORBIDDEN")]
        return []

    def renew(self, listing_id: Any, owner_id: str) -> dict[str, Any]:
        def decide(current: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None, list[dict[str, Any]]]:
            errors = self._owner_only(current, owner_id)
            if not errors and current["status"] not in ("active", "expired", "reserved"):
                errors = [
                    error(
                        ("listing_id",), t("A {status} listing cannot be renewed.", status=current["status"]), "CLOSED"
                    )
                ]
            if errors:
                return None, None, errors
            status = "active" if current["status"] == "expired" else current["status"]
            expires = datetime.now(UTC) + domain.DEFAULT_LIFETIME
            return {**current, "status": status, "expires_at": expires}, "listing_updated", []

        return self._change(listing_id, owner_id, decide)

    def reserve(self, listing_id: Any, member_id: str, apart: list[str]) -> dict[str, Any]:
        """Ask for an offer. The first asker of a round wins; the others are told so."""
        current = self.listings.get(listing_id) if isinstance(listing_id, str) else None
        if current is None or current["owner_id"] in set(apart or []):
            return {"listing": None, "errors": [error(("listing_id",), t("No such listing."), "NOT_FOUND")]}
        if current["owner_id"] == member_id:
            return {
                "listing": domain.view_for(current, member_id),
                "errors": [error(("listing_id",), t("This is your own listing."), "OWN_LISTING")],
            }
        if current["kind"] == "wanted":
            return {
                "listing": domain.view_for(current, member_id),
                "errors": [error(("listing_id",), t("A wanted request cannot be reserved."), "INVALID")],
            }
        if current["status"] != "active" or _aware(current["expires_at"]) <= datetime.now(UTC):
            code = "ALREADY_RESERVED" if current["status"] == "reserved" else "NOT_AVAILABLE"
            return {
                "listing": domain.view_for(current, member_id),
                "errors": [
                    error(
                        ("listing_id",),
                        t("Somebody reserved it first.")
                        if code == "ALREADY_RESERVED"
                        else t("It is no longer available."),
                        code,
                    )
                ],
            }
        round_ = current.get("reservation_round", 1)
        try:
            self.reservations.insert_one(
                {"_id": f"{listing_id}:{round_}", "member_id": member_id, "at": datetime.now(UTC)}
            )
        except DuplicateKeyError:
            return {
                "listing": domain.view_for(current, member_id),
                "errors": [error(("listing_id",), t("Somebody reserved it first."), "ALREADY_RESERVED")],
            }

        def decide(latest: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None, list[dict[str, Any]]]:
            reservation = {"member_id": member_id, "status": "requested", "round": round_, "at": datetime.now(UTC)}
            return {**latest, "status": "reserved", "reservation": reservation}, "listing_reserved", []

        result = self._change(listing_id, member_id, decide)
        self.inbox.notify(
            current["owner_id"],
            f"listing:{listing_id}:reserve:{round_}",
            "listing_reservation_requested",
            t("Someone would like “{title}”: accept or decline.", title=current["title"]),
            {"type": "Listing", "id": listing_id},
            current["city"],
        )
        return result

    def decide_reservation(self, listing_id: Any, owner_id: str, accept: bool) -> dict[str, Any]:
        told: dict[str, Any] = {}

        def decide(current: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None, list[dict[str, Any]]]:
            errors = self._owner_only(current, owner_id)
            reservation = current.get("reservation")
            if not errors and (
                current["status"] != "reserved" or not reservation or reservation["status"] != "requested"
            ):
                errors = [error(("listing_id",), t("There is no reservation waiting for an answer."), "NO_RESERVATION")]
            if errors:
                return None, None, errors
            told.update(reservation)
            if accept:
                return {**current, "reservation": {**reservation, "status": "accepted"}}, "listing_reserved", []
            again = {**current, "status": "active", "reservation": None, "reservation_round": reservation["round"] + 1}
            return again, "listing_updated", []

        result = self._change(listing_id, owner_id, decide)
        if not result["errors"] and told:
            listing = result["listing"]
            message = (
                t(
                    "Your reservation of “{title}” was accepted: the pickup address is on the listing.",
                    title=listing["title"],
                )
                if accept
                else t("Your reservation of “{title}” was declined.", title=listing["title"])
            )
            kind = "listing_reservation_accepted" if accept else "listing_reservation_declined"
            key = f"listing:{listing['id']}:{kind}:{told['round']}"
            self.inbox.notify(
                told["member_id"], key, kind, message, {"type": "Listing", "id": listing["id"]}, listing["city"]
            )
        return result

    def place_owner(self, owner_id: str, protected: bool) -> int:
        """Re-place an owner's open listings after their protected mode changed: at city level
        when on, back at their pickup cells when off. Idempotent; returns how many moved."""

        def area(state: dict[str, Any]) -> dict[str, Any]:
            return cells.placement(state["pickup_location"], state["city"], protected).to_dict()

        def decide(current: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None, list[dict[str, Any]]]:
            if current["pickup_area"] == area(current):
                return None, None, []
            # Matched again from the new area by the sweep; nobody is told of a match twice.
            return {**current, "pickup_area": area(current), "matched": False}, "listing_updated", []

        moved = 0
        for doc in self.listings.aggregates.find({"owner_id": owner_id}):
            if doc["status"] not in ("completed", "withdrawn") and doc["pickup_area"] != area(doc):
                with contextlib.suppress(DuplicateKeyError):
                    self.unmatched.insert_one({"_id": doc["_id"], "at": datetime.now(UTC)})
                self._change(doc["_id"], owner_id, decide)
                moved += 1
        return moved

    def close(self, listing_id: Any, owner_id: str, status: str) -> dict[str, Any]:
        """completed (given, lent, sold...) or withdrawn; either way it leaves search."""

        def decide(current: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None, list[dict[str, Any]]]:
            errors = self._owner_only(current, owner_id)
            if not errors and current["status"] in ("completed", "withdrawn"):
                errors = [error(("listing_id",), t("It is {status} already.", status=current["status"]), "CLOSED")]
            if errors:
                return None, None, errors
            return {**current, "status": status}, "listing_closed", []

        return self._change(listing_id, owner_id, decide)

    def expire_due(self, limit: int = 200) -> int:
        """Active listings past their expiry become expired (and leave search), with nobody
        acting. Reads the hour collections of due markers up to this hour's, and drops the past
        hours once empty. Returns how many expired."""
        now = datetime.now(UTC)
        self.matching.drop_ended(now)
        expired, looked = 0, 0
        this_hour = f"listings_due_{now:%Y%m%d%H}"
        hours = sorted(
            (
                (name, db)
                for db in (self.due_db, self.db)  # the markers' database, then hours of earlier code
                for name in db.list_collection_names()
                if name.startswith("listings_due_") and name <= this_hour
            ),
            key=lambda hour: hour[0],
        )
        for hour, db in hours:
            left = 0
            for marker in db[hour].find({}):
                if _aware(marker["expires_at"]) > now or looked >= limit:
                    left += 1  # later this hour, or the next sweep's
                    continue
                looked += 1
                expired += self._expire_one(marker["_id"], now)
                db[hour].delete_one({"_id": marker["_id"]})
            if hour < this_hour and left == 0:
                db.drop_collection(hour)
        return expired

    def _expire_one(self, listing_id: str, now: datetime) -> int:
        """1 if the listing expired now; 0 if it was gone, closed or renewed (then marked again)."""
        current = self.listings.get(listing_id)
        if current is None or current["status"] != "active":
            self.expiring.delete_one({"_id": listing_id})
            return 0
        if _aware(current["expires_at"]) > now:  # renewed (or not due yet this hour): marked again
            self._mark_due(listing_id, current["expires_at"])
            return 0

        def decide(current: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None, list[dict[str, Any]]]:
            if current["status"] != "active" or _aware(current["expires_at"]) > datetime.now(UTC):
                return None, None, [error((), t("renewed meanwhile"), "SKIPPED")]
            return {**current, "status": "expired"}, "listing_closed", []

        return 0 if self._change(listing_id, "", decide)["errors"] else 1

    # -- trusted contacts ----------------------------------------------------------------
    def add_contact(self, raw: dict[str, Any], member_id: str, contact_id: str | None = None) -> dict[str, Any]:
        """Add a contact, recommended by who adds it. ``contact_id`` (``once_id``): a request
        delivered twice returns the contact it added, recommended once."""
        clean, errors = domain.validate_contact(raw)
        if errors:
            return {"contact": None, "errors": [e.to_dict() for e in errors]}
        now = datetime.now(UTC)
        state = {
            "_id": contact_id or domain.uuid.uuid4().hex,
            "version": 1,
            **clean,
            "added_by": member_id,
            "recommendations": 0,
            "created_at": now,
        }
        try:
            self._commit_contact(state)
        except ConcurrencyConflict:
            # Added by this request's first delivery: finish its recommendation if it did not.
            if self.recommendations.find_one({"_id": f"{state['_id']}:{member_id}"}, {"_id": 1}):
                current = self.contacts.get(state["_id"]) or state
                # Listed again in case the first delivery stopped between commit and listing.
                self.contacts_by_city.append(current["city"], directory_entry(current))
                return {"contact": domain.contact_view(current), "errors": []}
        return self.recommend(state["_id"], member_id)

    def recommend(self, contact_id: Any, member_id: str) -> dict[str, Any]:
        current = self.contacts.get(contact_id) if isinstance(contact_id, str) else None
        if current is None:
            return {"contact": None, "errors": [error(("contact_id",), t("No such contact."), "NOT_FOUND")]}
        # Before the unique insert: a repeated or crashed recommendation leaves the member listed
        # twice or listed alone, counted once either way.
        self.recommenders.append(contact_id, {"member_id": member_id})
        try:
            self.recommendations.insert_one(
                {"_id": f"{contact_id}:{member_id}", "contact_id": contact_id, "at": datetime.now(UTC)}
            )
        except DuplicateKeyError:
            return {
                "contact": domain.contact_view(current),
                "errors": [error(("contact_id",), t("You recommended it already."), "ALREADY_RECOMMENDED")],
            }

        def attempt() -> dict[str, Any]:
            latest = self.contacts.get(contact_id)
            assert latest is not None
            count = len({e["member_id"] for e in self.recommenders.all(contact_id)})
            if count == latest.get("recommendations"):
                return domain.contact_view(latest)
            state = {**latest, "recommendations": count, "version": latest["version"] + 1}
            return self._commit_contact(state)

        return {"contact": retry_on_conflict(EDIT_ATTEMPTS, attempt, backoff=BACKOFF), "errors": []}

    def _commit_contact(self, state: dict[str, Any]) -> dict[str, Any]:
        """Commit a contact's version, then list it in its city's directory; returns its view.
        A crash between the two leaves the directory's order one recommendation behind until
        the next one (the page shows each contact as read by ``_id``)."""
        view = domain.contact_view(state)
        self.contacts.commit(state, self._event("contact_recommended", state, view))
        self.contacts_by_city.append(state["city"], directory_entry(state))
        return view

    def export_contacts(self, after: str | None, size: int) -> list[dict[str, Any]]:
        query = {"_id": {"$gt": after}} if after else {}
        return [domain.contact_view(d) for d in self.contacts.aggregates.find(query).sort("_id", ASCENDING).limit(size)]

    def get_contacts(self, contact_ids: list[str]) -> list[dict[str, Any] | None]:
        found = by_ids(self.contacts.aggregates, contact_ids)
        return [domain.contact_view(found[i]) if i in found else None for i in contact_ids]

    def list_contacts(
        self, city: Any, kind: Any, language: Any, viewer_groups: list[str], first: int, offset: int
    ) -> dict[str, Any]:
        """A city's contacts (and those of ``viewer_groups``), most recommended first, then by
        id: ``{contacts: [view], has_next_page, total}``. Reads the city's directory sequence
        (one lookup when nothing changed since this process last read it), then the page's
        contacts by ``_id``."""
        if not isinstance(city, str):
            return {"contacts": [], "has_next_page": False, "total": 0}
        newest: dict[str, dict[str, Any]] = {}
        for entry in self.contacts_by_city.all(city):
            known = newest.get(entry["contact_id"])
            if known is None or entry["version"] >= known["version"]:
                newest[entry["contact_id"]] = entry
        groups = {None, *viewer_groups}
        rows = [
            e
            for e in newest.values()
            if e["group_id"] in groups
            and not e.get("hidden")  # hidden or removed by a moderator
            and (not kind or e["kind"] == kind)
            and (not language or language in e["languages"])
        ]
        rows.sort(key=lambda e: (-e["recommendations"], e["contact_id"]))
        page = rows[offset : offset + first]
        found = by_ids(self.contacts.aggregates, [e["contact_id"] for e in page])
        return {
            "contacts": [domain.contact_view(found[e["contact_id"]]) for e in page if e["contact_id"] in found],
            "has_next_page": len(rows) > offset + first,
            "total": len(rows),
        }
