"""Issue 22's judged relevance set, run against the real Elasticsearch:
``python -m bench.relevance [--docs 20000] [--queries 400] [--check] [--no-write]``.

Builds two outings indices side by side with the same documents (the judged set's outings in
eight languages, plus ``--docs`` bench outings around the world's cities): **before**, with the
analysis and text query this code had until issue 22 (lowercase + asciifolding, French/English/
CJK sub-fields, ``most_fields`` with ``and``), and **after**, with today's (search.indices,
search.queries). Then:

1. every judged query (bench/relevance_set.py) on each, through ``queries.outings_body`` sorted
   by relevance: recall@10 and nDCG@10 per language, and whether a query that must find
   nothing found something;
2. ``nearbyOutings`` with text as the app sends it (sorted by distance, 10 km, 20 a page), the
   judged queries' texts at bench query points, before and after interleaved query by query:
   p50 of each and their ratio.

Writes a section of bench/results.md (between the relevance markers; ``make bench`` keeps it)
unless ``--no-write``; with ``--check`` exits 1 when a threshold is missed (the test suite runs
it so). Only the indices it creates are deleted.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk

from bench.dataset import outing_event, percentile, query_points
from bench.relevance_set import DOCS, QUERIES
from parentnet_kit import config
from parentnet_kit.envelope import Event
from search import indices, queries
from search.documents import write_for

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.md"
BEGIN, END = "<!-- relevance: python -m bench.relevance -->", "<!-- /relevance -->"
LANGUAGES = ("fr", "en", "es", "zh", "vi", "ar", "bn", "ur")
RECALL_MIN, NDCG_MIN, RATIO_MAX = 0.95, 0.85, 1.2
NEAR = {"lat": 48.8566, "lon": 2.3522}  # the judged outings are around Paris
K = 10

# --- before issue 22: the analysis and query as they were (the baseline measured against) ---
BEFORE_ANALYSIS: dict[str, Any] = {
    "filter": {
        "fr_elision": {
            "type": "elision",
            "articles_case": True,
            "articles": ["l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu"],
        },
        "fr_stem": {"type": "stemmer", "language": "light_french"},
        "en_stem": {"type": "stemmer", "language": "minimal_english"},
    },
    "analyzer": {
        "folded": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]},
        "pn_french": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["fr_elision", "lowercase", "asciifolding", "fr_stem"],
        },
        "pn_english": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "en_stem"]},
        "pn_cjk": {"type": "custom", "tokenizer": "standard", "filter": ["cjk_width", "lowercase", "cjk_bigram"]},
    },
}
BEFORE_TEXT = {
    "type": "text",
    "analyzer": "folded",
    "fields": {
        "fr": {"type": "text", "analyzer": "pn_french"},
        "en": {"type": "text", "analyzer": "pn_english"},
        "cjk": {"type": "text", "analyzer": "pn_cjk"},
    },
}


def before_mapping() -> dict[str, Any]:
    properties = {k: v for k, v in indices.OUTINGS_MAPPING["properties"].items() if k != "lang"}
    for name in ("title", "description", "venue_name"):
        properties[name] = BEFORE_TEXT
    return {**indices.OUTINGS_MAPPING, "properties": properties}


def before_text_query(text: str) -> dict[str, Any]:
    fields = [
        f"{field}{part}{boost}"
        for field, boost in (("title", "^3"), ("description", ""), ("venue_name", "^2"))
        for part in ("", ".fr", ".en", ".cjk")
    ]
    return {"multi_match": {"query": text, "fields": fields, "type": "most_fields", "operator": "and"}}


# --- the two indices ---


def judged_events() -> list[Event]:
    rng = random.Random(22)
    events = []
    for doc_id, language, title, description, venue in DOCS:
        data = {
            "id": doc_id,
            "status": "published",
            "title": title,
            "description": description,
            "language": language,
            "category": "other",
            "starts_at": "2031-06-01T09:00:00Z",
            "ends_at": "2031-06-01T11:00:00Z",
            "time_zone": "Europe/Paris",
            "venue_name": venue,
            "location": {"lat": NEAR["lat"] + rng.uniform(-0.05, 0.05), "lon": NEAR["lon"] + rng.uniform(-0.07, 0.07)},
            "city": "paris",
        }
        events.append(Event("outing_published", "events", doc_id, 1, "paris", data))
    return events


def build(es: Elasticsearch, name: str, before: bool, events: list[Event]) -> None:
    settings = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"}
    if before:
        es.indices.create(index=name, settings={**settings, "analysis": BEFORE_ANALYSIS}, mappings=before_mapping())
    else:
        es.indices.create(
            index=name, settings={**settings, "analysis": indices.ANALYSIS}, mappings=indices.OUTINGS_MAPPING
        )

    def actions() -> Iterator[dict[str, Any]]:
        for event in events:
            write = write_for(event)
            assert write is not None
            document = dict(write.document)
            if before:
                document.pop("lang", None)
            yield {
                "_index": name,
                "_id": write.doc_id,
                "version": write.version,
                "version_type": "external",
                "_source": document,
            }

    bulk(es.options(request_timeout=120), actions(), chunk_size=2000)
    es.indices.refresh(index=name)
    es.options(request_timeout=300).indices.forcemerge(index=name, max_num_segments=1)


def body(text: str, before: bool, near: dict[str, float], radius_km: float, first: int, sort: str) -> dict[str, Any]:
    # As the service sends it: with the names of the older revisions (none of them exists here).
    older = [f"relevance-outings-v{revision}" for revision in range(1, indices.OUTINGS.revision)]
    request = queries.outings_body(near, radius_km, first, None, filters={"text": text}, sort=sort, older=older)
    if before:
        request["query"]["bool"]["must"] = [before_text_query(text)]
        request.pop("_source", None)
    return request


# --- judging ---


def query_text(kind: str, text: str) -> str:
    return unicodedata.normalize("NFD", text) if kind == "nfd" else text


def ndcg(ranked: list[str], grades: dict[str, int]) -> float:
    gain = sum((2 ** grades.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:K]))
    ideal = sorted(grades.values(), reverse=True)[:K]
    best = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return gain / best if best else 1.0


def judge(es: Elasticsearch, index: str, before: bool) -> dict[str, Any]:
    per_language: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    misses = []
    unequal = []
    for language, kind, text, first, also in QUERIES:
        answer = es.search(index=index, **body(query_text(kind, text), before, NEAR, 50.0, K, "relevance"))
        ranked = [hit["_id"] for hit in answer["hits"]["hits"]][:K]
        # Sorted by distance the query is built more cheaply (no ranking): it must find the same.
        by_distance = es.search(index=index, **body(query_text(kind, text), before, NEAR, 50.0, 100, "distance"))
        by_score = es.search(index=index, **body(query_text(kind, text), before, NEAR, 50.0, 100, "relevance"))
        if {h["_id"] for h in by_distance["hits"]["hits"]} != {h["_id"] for h in by_score["hits"]["hits"]}:
            unequal.append((language, kind, text))
        if not first and not also:
            found = answer["hits"]["total"]["value"]
            per_language[language]["nothing"].append(0.0 if found else 1.0)
            if found:
                misses.append((language, kind, text, "must find nothing", ranked))
            continue
        grades = {**{d: 1 for d in also}, **{d: 2 for d in first}}
        recall = len(set(ranked) & set(grades)) / min(len(grades), K)
        score = ndcg(ranked, grades)
        per_language[language]["recall"].append(recall)
        per_language[language]["ndcg"].append(score)
        if recall < 1 or score < 0.85:
            misses.append((language, kind, text, f"recall {recall:.2f} nDCG {score:.2f}", ranked))
    summary = {}
    for language in LANGUAGES:
        values = per_language[language]
        summary[language] = {
            "queries": len(values["recall"]) + len(values["nothing"]),
            "recall": sum(values["recall"]) / len(values["recall"]),
            "ndcg": sum(values["ndcg"]) / len(values["ndcg"]),
            "nothing": len(values["nothing"]),
            "false hits": sum(1 for v in values["nothing"] if v == 0.0),
        }
    return {"languages": summary, "misses": misses, "unequal": unequal}


def latency(es: Elasticsearch, before_index: str, after_index: str, n: int) -> dict[str, float]:
    """p50 and p99 of nearbyOutings with text (as the app sends it), before and after, interleaved."""
    rng = random.Random(7)
    texts = [query_text(kind, text) for _lang, kind, text, _f, _a in QUERIES]
    points = query_points(rng, n)
    times: dict[str, list[float]] = {"before": [], "after": []}
    for i in range(n):
        text = texts[i % len(texts)]
        order = (("before", before_index), ("after", after_index))
        for name, index in order if i % 2 else reversed(order):
            request = body(text, name == "before", points[i], 10.0, 20, "distance")
            start = time.perf_counter()
            es.search(index=index, **request)
            times[name].append((time.perf_counter() - start) * 1000)
    result = {
        f"{name} {p}": percentile(values, q) for name, values in times.items() for p, q in (("p50", 50), ("p99", 99))
    }
    result["ratio"] = result["after p50"] / result["before p50"]
    return result


def report(after: dict[str, Any], before: dict[str, Any], speed: dict[str, float] | None, docs: int) -> str:
    lines = [
        BEGIN,
        "## Search relevance in every language (issue 22)",
        "",
        f"`python -m bench.relevance`: {len(QUERIES)} judged queries (bench/relevance_set.py) over "
        f"{len(DOCS)} outings in eight languages{f' and {docs:,} bench outings' if docs else ''}, sorted by relevance; "
        f"before = the analysis and query until issue 22 (asciifolding, most_fields), after = ICU folding, "
        f"per-language copies, cross_fields. Targets: recall@10 ≥ {RECALL_MIN}, nDCG@10 ≥ {NDCG_MIN}, "
        "no must-find-nothing query finds anything.",
        "",
        "| language | queries | recall@10 before → after | nDCG@10 before → after "
        "| must find nothing: false hits before → after |",
        "|---|---|---|---|---|",
    ]
    for language in LANGUAGES:
        a, b = after["languages"][language], before["languages"][language]
        ok = a["recall"] >= RECALL_MIN and a["ndcg"] >= NDCG_MIN and a["false hits"] == 0
        lines.append(
            f"| {language} | {a['queries']} | {b['recall']:.3f} → **{a['recall']:.3f}** | "
            f"{b['ndcg']:.3f} → **{a['ndcg']:.3f}** | {b['false hits']} → **{a['false hits']}** of {a['nothing']}"
            f" {'✅' if ok else '❌'} |"
        )
    lines += [
        "",
        f"Sorted by distance (the app's default, built without ranking clauses) the same documents are found "
        f"as sorted by relevance for {len(QUERIES) - len(after['unequal'])} of {len(QUERIES)} queries"
        + (f"; not for: {', '.join(f'`{u[2]}`' for u in after['unequal'])}" if after["unequal"] else "."),
    ]
    if after["misses"]:
        lines += ["", "Queries below 1.0 recall or 0.85 nDCG after the change (language, kind, text, top ids):", ""]
        lines += [f"- {m[0]} {m[1]} `{m[2]}`: {m[3]} — {', '.join(m[4][:5]) or 'nothing'}" for m in after["misses"]]
    if speed:
        ok = speed["ratio"] <= RATIO_MAX
        lines += [
            "",
            f"`nearbyOutings` with text (10 km, 20 a page, by distance; Elasticsearch through the Python client), "
            f"before and after interleaved query by query over {docs:,} + {len(DOCS)} outings:",
            "",
            "| | p50 | p99 |",
            "|---|---|---|",
            f"| before | {speed['before p50']:.2f} ms | {speed['before p99']:.2f} ms |",
            f"| after | {speed['after p50']:.2f} ms | {speed['after p99']:.2f} ms |",
            f"| after ÷ before | **{speed['ratio']:.2f}×** {'✅' if ok else '❌'} (target ≤ {RATIO_MAX}×) | |",
        ]
    lines.append(END)
    return "\n".join(lines)


def write_section(section: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else ""
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text)


def passed(after: dict[str, Any], speed: dict[str, float] | None) -> bool:
    quality = all(
        v["recall"] >= RECALL_MIN and v["ndcg"] >= NDCG_MIN and v["false hits"] == 0
        for v in after["languages"].values()
    )
    return quality and not after["unequal"] and (speed is None or speed["ratio"] <= RATIO_MAX)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20_000, help="bench outings beside the judged ones")
    parser.add_argument("--queries", type=int, default=400, help="latency samples per side (0: none)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a threshold is missed")
    parser.add_argument("--no-write", action="store_true", help="leave bench/results.md alone")
    args = parser.parse_args(argv)

    es = Elasticsearch(config.elasticsearch_url(), request_timeout=60)
    prefix = f"relevance-{uuid.uuid4().hex[:8]}-"
    before_index, after_index = f"{prefix}before", f"{prefix}after"
    rng = random.Random(22)
    events = judged_events() + [outing_event(f"b{i}", rng) for i in range(args.docs)]
    try:
        build(es, before_index, True, events)
        build(es, after_index, False, events)
        after = judge(es, after_index, False)
        before = judge(es, before_index, True)
        speed = latency(es, before_index, after_index, args.queries) if args.queries else None
    finally:
        es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True)
    section = report(after, before, speed, args.docs)
    print(section)
    if not args.no_write:
        write_section(section)
    return 0 if passed(after, speed) or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
