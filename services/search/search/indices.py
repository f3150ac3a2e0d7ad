"""Index definitions: explicit mappings, versioned names behind aliases.

Writes and reads go through the alias (``<prefix>outings``), which points at one versioned
index (``<prefix>outings-v1``); a backfill builds ``-v2`` beside it and swaps the alias.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch

from . import languages

log = logging.getLogger(__name__)

# Text in any language. The main field normalizes and folds with ICU (NFD "Goûter" and NFC
# "goûter" both give "gouter"; "الأطفال" gives "الاطفال"; full-width letters, Vietnamese tones,
# case) and splits Chinese into bigrams ("游乐场" is found inside "周末公园游乐场亲子活动"): every
# document has it, so a query in any language finds any document. Replaced asciifolding, which
# left combining accents and Arabic hamza alone. Language-specific copies (``lang.<code>.<field>``,
# chosen per document by languages.py) add stemming and script normalization: French elision
# and light stemming, English minimal and Spanish light stemming, Vietnamese with its tones kept
# (an accented query ranks the exact word first), Arabic normalization and stemming, Urdu as
# Arabic plus Persian normalization (Urdu's yeh, keheh and heh typed on an Arabic keyboard),
# Bengali normalization and stemming. The filters come from analysis-common and analysis-icu
# (locally: our plugin, es-plugin/, with Lucene's ICU module).
_NFKC_CF = "pn_nfkc_cf"
ANALYSIS: dict[str, Any] = {
    "filter": {
        _NFKC_CF: {"type": "icu_normalizer", "name": "nfkc_cf"},
        "fr_elision": {
            "type": "elision",
            "articles_case": True,
            "articles": ["l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu"],
        },
        "fr_stem": {"type": "stemmer", "language": "light_french"},
        "en_stem": {"type": "stemmer", "language": "minimal_english"},
        "es_stem": {"type": "stemmer", "language": "light_spanish"},
    },
    "analyzer": {
        name: {"type": "custom", "tokenizer": "standard", "filter": filters}
        for name, filters in {
            "folded": ["icu_folding", "cjk_bigram"],
            "pn_fr": [_NFKC_CF, "fr_elision", "icu_folding", "fr_stem"],
            "pn_en": ["icu_folding", "en_stem"],
            "pn_es": ["icu_folding", "es_stem"],
            "pn_vi": [_NFKC_CF],
            "pn_ar": [_NFKC_CF, "decimal_digit", "arabic_normalization", "arabic_stem"],
            "pn_ur": [_NFKC_CF, "decimal_digit", "arabic_normalization", "persian_normalization"],
            "pn_bn": [_NFKC_CF, "decimal_digit", "bengali_normalization", "bengali_stem"],
        }.items()
    },
}


def text_field(searched: bool = True) -> dict[str, Any]:
    """A text field; a ``searched`` one is also copied into ``all_text`` (see ``language_copies``)."""
    field: dict[str, Any] = {"type": "text", "analyzer": "folded"}
    if searched:
        field["copy_to"] = "all_text"
    return field


def language_copies(*fields: str) -> dict[str, Any]:
    """The ``lang`` object: ``lang.<code>.<field>`` analyzed for that language (see languages.py),
    each also copied into ``lang.<code>.all``; and ``all_text``, every searched field in one
    (folded). A search that is not ranked by relevance only asks whether each word is somewhere
    in the document: one field per analysis, not one per text field, and typo-tolerant and prefix
    matching expand each word against one term dictionary instead of three (bench.relevance:
    p50 of nearbyOutings with text 2.3x the old query's with per-field expansion)."""
    return {
        "all_text": {"type": "text", "analyzer": "folded"},
        "lang": {
            "properties": {
                code: {
                    "properties": {
                        "all": {"type": "text", "analyzer": f"pn_{code}"},
                        **{
                            field: {"type": "text", "analyzer": f"pn_{code}", "copy_to": f"lang.{code}.all"}
                            for field in fields
                        },
                    }
                }
                for code in languages.LANGUAGES
            }
        },
    }


def strict_mapping(properties: dict[str, Any], tombstones: bool = True) -> dict[str, Any]:
    """A mapping that refuses unknown fields (the indexer copies an allow-list; nothing else
    is indexed or trusted), with what every document carries: its ``id``, the ``version`` it
    was written at (external versioning) and, where removals are tombstones, ``hidden``."""
    common: dict[str, Any] = {"id": {"type": "keyword"}, "version": {"type": "long"}}
    if tombstones:
        common["hidden"] = {"type": "boolean"}
    return {"dynamic": "strict", "properties": {**common, **properties}}


OUTINGS_MAPPING: dict[str, Any] = strict_mapping(
    {
        "status": {"type": "keyword"},
        "title": text_field(),
        "description": text_field(),
        "language": {"type": "keyword"},
        "category": {"type": "keyword"},
        "starts_at": {"type": "date"},
        "ends_at": {"type": "date"},
        "time_zone": {"type": "keyword", "index": False},
        "venue_name": text_field(),
        "location": {"type": "geo_point"},
        "city": {"type": "keyword"},
        "organizer_id": {"type": "keyword"},
        "created_at": {"type": "date"},
        "updated_at": {"type": "date"},
        # Added with outings' attendance and series (additive: put on existing indices at start).
        "capacity": {"type": "integer"},
        "age_min": {"type": "integer"},
        "age_max": {"type": "integer"},
        "with_children": {"type": "boolean"},
        "cost": {"properties": {"amount": {"type": "float"}, "currency": {"type": "keyword"}}},
        "group_id": {"type": "keyword"},
        "group_visibility": {"type": "keyword"},
        "series_id": {"type": "keyword"},
        "occurrence": {"type": "integer"},
        "attendance": {
            "properties": {
                "families": {"type": "integer"},
                "adults": {"type": "integer"},
                "children": {"type": "integer"},
                "waitlist": {"type": "integer"},
                "places_left": {"type": "integer"},
            }
        },
        **language_copies("title", "description", "venue_name"),
    }
)


@dataclass(frozen=True)
class IndexSpec:
    name: str  # the alias, without prefix
    mapping: dict[str, Any]
    revision: int  # bump when the mapping changes incompatibly; the backfill fills the new one


# Who blocked whom, learnt from members' events: a blocked member sees none of the
# blocker's outings or listings. One document per pair, versioned like any aggregate.
BLOCKS_MAPPING: dict[str, Any] = strict_mapping(
    {
        "blocker_id": {"type": "keyword"},
        "blocked_id": {"type": "keyword"},
        "active": {"type": "boolean"},
    },
    tombstones=False,
)

# Who is an active member of which group, learnt from members' group_membership_changed: the
# search service's own copy, so a private group's items show only to members it knows of,
# whatever a caller claims (search/viewers.py). One document per membership (gm:<group>:<member>).
MEMBERSHIPS_MAPPING: dict[str, Any] = strict_mapping(
    {
        "group_id": {"type": "keyword"},
        "member_id": {"type": "keyword"},
        "active": {"type": "boolean"},
    },
    tombstones=False,
)

LISTINGS_MAPPING: dict[str, Any] = strict_mapping(
    {
        "status": {"type": "keyword"},
        "kind": {"type": "keyword"},
        "category": {"type": "keyword"},
        "title": text_field(),
        "description": text_field(),
        "language": {"type": "keyword"},
        "city": {"type": "keyword"},
        "size": {"type": "keyword"},
        "age_min_months": {"type": "integer"},
        "age_max_months": {"type": "integer"},
        "condition": {"type": "keyword"},
        "price": {"properties": {"amount": {"type": "float"}, "currency": {"type": "keyword"}}},
        "photos": {"type": "keyword", "index": False},
        # Only the fuzzed pickup area (a fixed ~1 km cell) is ever indexed, never the address.
        "pickup_area": {"properties": {"id": {"type": "keyword"}, "lat": {"type": "float"}, "lon": {"type": "float"}}},
        "area_point": {"type": "geo_point"},
        "match_radius_km": {"type": "float", "index": False},
        "owner_id": {"type": "keyword"},
        "reservation_status": {"type": "keyword"},
        "created_at": {"type": "date"},
        "updated_at": {"type": "date"},
        "expires_at": {"type": "date"},
        **language_copies("title", "description"),
    }
)

CONTACTS_MAPPING: dict[str, Any] = strict_mapping(
    {
        "kind": {"type": "keyword"},
        "name": text_field(),
        "description": text_field(),
        "phone": {"type": "keyword", "index": False},
        "email": {"type": "keyword", "index": False},
        "website": {"type": "keyword", "index": False},
        "address": {"type": "text", "index": False},
        "location": {"type": "geo_point"},
        "city": {"type": "keyword"},
        "group_id": {"type": "keyword"},
        "languages": {"type": "keyword"},
        "recommendations": {"type": "integer"},
        **language_copies("name", "description"),
    }
)

# Public groups only: a private group is never in a discovery index.
GROUPS_MAPPING: dict[str, Any] = strict_mapping(
    {
        "name": text_field(),
        "description": text_field(),
        "city": {"type": "keyword"},
        "languages": {"type": "keyword"},
        "join_policy": {"type": "keyword"},
        "location": {"type": "geo_point"},
        **language_copies("name", "description"),
    }
)

# Co-op childcare shifts and school runs: for the members of their group only.
ACTIVITIES_MAPPING: dict[str, Any] = strict_mapping(
    {
        "kind": {"type": "keyword"},
        "group_id": {"type": "keyword"},
        "title": text_field(searched=False),
        "point": {"type": "geo_point"},
        "city": {"type": "keyword"},
        "starts_at": {"type": "date"},
        "ends_at": {"type": "date"},
        "weekdays": {"type": "integer"},
        "time": {"type": "keyword", "index": False},
        # Who takes part as host (a shift) or organizer (a school run): a block with any of them
        # keeps the activity from the viewer. Added in place to a live revision 2 (a keyword), and
        # revision 3 so that `search.backfill --outdated` rebuilds documents written without it.
        "member_ids": {"type": "keyword"},
    }
)

# The open cities, learnt from members' city_opened: the search service's own copy (groups'
# centres, suggest's places), read back at start-up. The city is kept, not indexed.
CITIES_MAPPING: dict[str, Any] = strict_mapping(
    {"slug": {"type": "keyword"}, "city": {"type": "object", "enabled": False}}, tombstones=False
)

# Revisions 3: ICU folding and per-language copies (issue 22); activities 2 for that, 3 for
# member_ids (stop 28).
OUTINGS = IndexSpec("outings", OUTINGS_MAPPING, 3)
ACTIVITIES = IndexSpec("activities", ACTIVITIES_MAPPING, 3)
CONTACTS = IndexSpec("contacts", CONTACTS_MAPPING, 3)
GROUPS = IndexSpec("groups", GROUPS_MAPPING, 3)
LISTINGS = IndexSpec("listings", LISTINGS_MAPPING, 3)
BLOCKS = IndexSpec("blocks", BLOCKS_MAPPING, 1)
CITIES = IndexSpec("cities", CITIES_MAPPING, 1)
MEMBERSHIPS = IndexSpec("memberships", MEMBERSHIPS_MAPPING, 1)
ALL = (OUTINGS, LISTINGS, CONTACTS, GROUPS, ACTIVITIES, BLOCKS, CITIES, MEMBERSHIPS)


class Indices:
    def __init__(
        self,
        es: Elasticsearch,
        prefix: str,
        replicas: int = 0,
        refresh_interval: str = "1s",
        gc_deletes: str | None = None,
    ) -> None:
        self.es = es
        self.prefix = prefix
        self.replicas = replicas
        self.refresh_interval = refresh_interval
        self.gc_deletes = gc_deletes  # tests shorten it to show tombstones do not depend on it

    def alias(self, spec: IndexSpec) -> str:
        return f"{self.prefix}{spec.name}"

    def concrete(self, spec: IndexSpec, revision: int | None = None) -> str:
        return f"{self.prefix}{spec.name}-v{revision or spec.revision}"

    def older(self, spec: IndexSpec) -> list[str]:
        """The concrete names of ``spec``'s older revisions (which the alias may point at until
        the backfill has built the current one): queries match them the way they were built."""
        return [self.concrete(spec, revision) for revision in range(1, spec.revision)]

    def settings(self) -> dict[str, Any]:
        return {
            "number_of_shards": 1,
            "number_of_replicas": self.replicas,
            # Explicit: an index left on the default stops refreshing while idle, and a
            # search after a quiet spell would then wait for a refresh or miss new documents.
            "refresh_interval": self.refresh_interval,
            **({"gc_deletes": self.gc_deletes} if self.gc_deletes else {}),
            "analysis": ANALYSIS,
        }

    def ensure(self) -> None:
        """Create each index and its alias if the alias does not exist yet."""
        for spec in ALL:
            alias = self.alias(spec)
            if self.es.indices.exists_alias(name=alias):
                live = self.revision_of(spec)
                if live < spec.revision:
                    # Analysis or field types changed: that needs a new index, filled by the
                    # backfill (python -m search.backfill --outdated), then the alias swapped.
                    log.warning("%s is at revision %d, the code wants %d: run the backfill", alias, live, spec.revision)
                    self._accept_new_fields(spec)
                    continue
                # New fields are added in place.
                self.es.indices.put_mapping(index=alias, properties=spec.mapping["properties"])
                continue
            index = self.concrete(spec)
            try:
                self.es.indices.create(index=index, settings=self.settings(), mappings=spec.mapping)
            except BadRequestError as error:
                if error.error != "resource_already_exists_exception":
                    raise
            # Idempotent: another process may have put it a moment ago.
            self.es.indices.put_alias(index=index, name=alias, is_write_index=True)

    def _accept_new_fields(self, spec: IndexSpec) -> None:
        """Until the backfill swaps the alias, the indexer keeps writing the new code's documents
        into the old revision: its strict mapping would refuse the new ``lang`` copies (their
        analyzers are not in its settings), so they are mapped there as kept-not-indexed."""
        if "lang" in spec.mapping["properties"]:
            try:
                kept = {"lang": {"type": "object", "enabled": False}}
                self.es.indices.put_mapping(index=self.alias(spec), properties=kept)
            except BadRequestError as error:
                log.warning("%s: could not map lang on the old revision: %s", self.alias(spec), error)
        # Plain new fields (a keyword) go onto the old revision as they are; one whose type or
        # analysis changed is refused there and waits for the backfill.
        for name, field in spec.mapping["properties"].items():
            if name == "lang" or field.get("type") not in ("keyword", "boolean", "long", "integer", "date"):
                continue
            try:
                self.es.indices.put_mapping(index=self.alias(spec), properties={name: field})
            except BadRequestError as error:
                log.warning("%s: could not map %s on the old revision: %s", self.alias(spec), name, error)

    def revision_of(self, spec: IndexSpec) -> int:
        """The revision the alias points at now (0 when there is none)."""
        alias = self.alias(spec)
        if not self.es.indices.exists_alias(name=alias):
            return 0
        names = list(self.es.indices.get_alias(name=alias))
        found = [int(m.group(1)) for n in names if (m := re.match(re.escape(alias) + r"-v(\d+)$", n))]
        return max(found, default=0)

    def delete_all(self) -> None:
        self.es.indices.delete(index=f"{self.prefix}*", ignore_unavailable=True, allow_no_indices=True)


# Parents' talk (issue 19) lives in its own module, built on the helpers above; imported last.
from .talk import DISCUSSIONS  # noqa: E402

ALL = (*ALL, DISCUSSIONS)
