"""Rebuild the search indices from the owning services, with no downtime:
``python -m search.backfill [--only outings,listings,contacts,groups,blocks,memberships,activities,discussions]
[--page 500] [--keep-old]``.

For each index: create the next revision (``<alias>-v<n+1>``) beside the live one, copy every
document from the owner's paged export RPC, swap the alias in one atomic step, then copy once
more. Writes with external versions make the order harmless: an event the live indexer put
into the old index just before the swap is also in the owner's state, so the second pass
brings it; anything after the swap is written to the new index directly. Queries read the
alias throughout and never see a half-built index.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import streaming_bulk

from parentnet_kit.envelope import Event
from parentnet_kit.identity import BACKFILL, HEADER, IdentitySigner, operator_subject

from . import indices as index_specs
from .documents import write_for
from .indices import IndexSpec, Indices

RpcCall = Callable[..., Any]


@dataclass(frozen=True)
class Source:
    spec: IndexSpec
    service: str
    method: str
    to_event: Callable[[dict[str, Any]], Event]
    # One export per entry, each paged by id (the discussions: threads, then replies, then questions).
    parts: tuple[dict[str, Any], ...] = ({},)


def _outing(view: dict[str, Any]) -> Event:
    kind = "outing_published" if view.get("status") == "published" else "outing_cancelled"
    return Event(kind, "events", view["id"], view["version"], view.get("city"), view)


def _listing(view: dict[str, Any]) -> Event:
    kind = "listing_closed" if view.get("status") in ("completed", "withdrawn", "expired") else "listing_updated"
    return Event(kind, "listings", view["id"], view["version"], view.get("city"), view)


def _block(view: dict[str, Any]) -> Event:
    kind = "member_blocked" if view["active"] else "member_unblocked"
    return Event(kind, "members", view["id"], view["version"], None, view)


def _membership(view: dict[str, Any]) -> Event:
    return Event("group_membership_changed", "members", view["id"], view["version"], None, view)


def _contact(view: dict[str, Any]) -> Event:
    return Event("contact_recommended", "listings", view["id"], view["version"], view.get("city"), view)


def _group(view: dict[str, Any]) -> Event:
    return Event("group_created", "members", view["id"], view["version"], view.get("city"), view)


def _activity(view: dict[str, Any]) -> Event:
    """A co-op shift or a school run as events exports it (``events.export_activities``): the
    event that indexes it, with the data its own event carried."""
    kind = "trip_created" if "meeting_location" in view else "coop_shift_moved"
    return Event(kind, "events", view["id"], view["version"], view.get("city"), view)


DISCUSSION_EVENTS = {"thread": "thread_updated", "reply": "reply_updated", "question": "question_updated"}


def _discussion(view: dict[str, Any]) -> Event:
    kind = DISCUSSION_EVENTS[view["subject_type"]]
    return Event(kind, "conversations", view["id"], view["version"], view.get("city"), view)


SOURCES = {
    "outings": Source(index_specs.OUTINGS, "events", "export_outings", _outing),
    "listings": Source(index_specs.LISTINGS, "listings", "export_listings", _listing),
    "contacts": Source(index_specs.CONTACTS, "listings", "export_contacts", _contact),
    "groups": Source(index_specs.GROUPS, "members", "export_groups", _group),
    "blocks": Source(index_specs.BLOCKS, "members", "export_blocks", _block),
    "memberships": Source(index_specs.MEMBERSHIPS, "members", "export_memberships", _membership),
    "activities": Source(
        index_specs.ACTIVITIES,
        "events",
        "export_activities",
        _activity,
        ({"kind": "coop_shift"}, {"kind": "trip"}),
    ),
    "discussions": Source(
        index_specs.DISCUSSIONS,
        "conversations",
        "export_discussions",
        _discussion,
        tuple({"subject_type": kind} for kind in DISCUSSION_EVENTS),
    ),
}


def next_revision(es: Elasticsearch, indices: Indices, spec: IndexSpec) -> int:
    pattern = re.compile(re.escape(indices.alias(spec)) + r"-v(\d+)$")
    existing = es.indices.get(index=f"{indices.alias(spec)}-v*", ignore_unavailable=True, allow_no_indices=True)
    revisions = [int(m.group(1)) for name in existing if (m := pattern.match(name))]
    return max(max(revisions, default=0) + 1, spec.revision)


def _pages(call: RpcCall, source: Source, page: int) -> Iterator[list[dict[str, Any]]]:
    for part in source.parts:
        yield from _part_pages(call, source, page, part)


def _part_pages(call: RpcCall, source: Source, page: int, part: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    after = None
    while True:
        views = call(source.service, source.method, **part, after=after, size=page)
        if not views:
            return
        yield views
        after = views[-1]["id"]


def copy(
    es: Elasticsearch, index: str, call: RpcCall, source: Source, page: int, progress: Callable[[int], None]
) -> int:
    """Write every exported document into ``index`` with its version; returns how many were sent."""
    sent = 0
    for views in _pages(call, source, page):
        actions = []
        for view in views:
            write = write_for(source.to_event(view))
            if write is None:
                continue
            actions.append(
                {
                    "_op_type": "index",
                    "_index": index,
                    "_id": write.doc_id,
                    "version": write.version,
                    "version_type": "external",
                    "_source": write.document,
                }
            )
        for ok, item in streaming_bulk(es, actions, raise_on_error=False, raise_on_exception=True, chunk_size=page):
            status = next(iter(item.values())).get("status", 500)
            if not ok and status != 409:  # 409: a newer version is there already
                raise RuntimeError(f"backfill write refused: {item}")
        sent += len(actions)
        progress(sent)
    return sent


def swap_alias(es: Elasticsearch, alias: str, new_index: str) -> list[str]:
    """Point ``alias`` at ``new_index`` only, in one atomic step; returns the indices it left."""
    old = list(es.indices.get_alias(name=alias, ignore_unavailable=True)) if es.indices.exists_alias(name=alias) else []
    actions: list[dict[str, Any]] = [{"remove": {"index": name, "alias": alias}} for name in old]
    actions.append({"add": {"index": new_index, "alias": alias, "is_write_index": True}})
    es.indices.update_aliases(actions=actions)
    return [name for name in old if name != new_index]


def backfill(
    indices: Indices, call: RpcCall, only: list[str], page: int = 500, keep_old: bool = False, out: Any = sys.stderr
) -> dict[str, int]:
    es = indices.es
    counts = {}
    for name in only:
        source = SOURCES[name]
        alias = indices.alias(source.spec)
        new_index = f"{alias}-v{next_revision(es, indices, source.spec)}"
        es.indices.create(index=new_index, settings=indices.settings(), mappings=source.spec.mapping)
        started = time.monotonic()

        def progress(done: int, label: str = name, start: float = started) -> None:
            rate = done / max(time.monotonic() - start, 1e-3)
            out.write(f"\r{label:<9} {done:>9,} documents  {rate:>8,.0f}/s")
            out.flush()

        try:
            copy(es, new_index, call, source, page, progress)
        except Exception:
            # Nothing swapped yet: leave no half-built revision behind (a refused export, a
            # broker gone), so that a retry starts clean.
            es.indices.delete(index=new_index, ignore_unavailable=True)
            raise
        # Searchable before it is swapped in: otherwise the first second after the swap finds nothing.
        es.indices.refresh(index=new_index)
        old = swap_alias(es, alias, new_index)
        counts[name] = copy(es, new_index, call, source, page, progress)  # the catch-up pass
        out.write(f"\n{name}: {alias} -> {new_index}\n")
        if not keep_old:
            for index in old:
                es.indices.delete(index=index, ignore_unavailable=True)
    return counts


def main() -> None:
    from nameko.standalone.rpc import ClusterRpcProxy

    from parentnet_kit import config

    from .dependencies import make_indices

    parser = argparse.ArgumentParser(description="Rebuild search indices from the owning services, then swap aliases.")
    parser.add_argument("--only", default=",".join(SOURCES), help="comma-separated: " + ", ".join(SOURCES))
    parser.add_argument("--page", type=int, default=500, help="documents per export page")
    parser.add_argument("--keep-old", action="store_true", help="keep the previous indices (for a rollback)")
    parser.add_argument("--outdated", action="store_true", help="only indices older than the code's revision")
    parser.add_argument(
        "--without-token",
        action="store_true",
        help="ask the exports without an identity token (only services with INTERNAL_IDENTITY_REQUIRED off answer)",
    )
    args = parser.parse_args()
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in only if name not in SOURCES]
    if unknown:
        parser.error(f"unknown index {unknown[0]!r}; choose from {', '.join(SOURCES)}")
    # The exports answer only the backfill's operator token (docs/operations.md): signed here with
    # the deployment's identity key, one token a service (its audience), renewed as it ages.
    # Checked before anything is created: a run that cannot read the exports changes nothing.
    signer = IdentitySigner.from_config(
        os.environ.get("INTERNAL_IDENTITY_PRIVATE_KEY"), os.environ.get("INTERNAL_IDENTITY_PRIVATE_KEY_FILE")
    )
    if signer is None and not args.without_token:
        parser.error(
            "INTERNAL_IDENTITY_PRIVATE_KEY or INTERNAL_IDENTITY_PRIVATE_KEY_FILE must name the deployment's "
            "identity private key (the gateway's): the services' exports answer only the backfill's token "
            "(docs/operations.md); --without-token only where INTERNAL_IDENTITY_REQUIRED is off"
        )
    indices = make_indices({**os.environ, "ELASTICSEARCH_URL": config.elasticsearch_url()})
    indices.ensure()
    if args.outdated:
        only = [name for name in only if indices.revision_of(SOURCES[name].spec) < SOURCES[name].spec.revision]
        if not only:
            print("every index is at the code's revision")
            return

    def call(service: str, method: str, **kwargs: Any) -> Any:
        context = {} if signer is None else {HEADER: signer.token(operator_subject(BACKFILL), service)}
        with ClusterRpcProxy({"AMQP_URI": config.amqp_uri()}, context_data=context, timeout=60) as cluster:
            return getattr(getattr(cluster, service), method)(**kwargs)

    counts = backfill(indices, call, only, args.page, args.keep_old)
    print("backfilled: " + ", ".join(f"{name} {count}" for name, count in counts.items()))


if __name__ == "__main__":
    main()
