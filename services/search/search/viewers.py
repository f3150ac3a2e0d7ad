"""Whom a search is for, and what it may show them: the verified viewer, their groups and the
members kept apart from them, never on the caller's word.

The gateway sends each signed-in search with an identity token (``parentnet_kit.identity``);
``viewer_id`` and ``viewer_groups`` arguments are claims. A token that does not verify, or names
another member than ``viewer_id``, is refused (``Forbidden``). Without a token, a search with no
claims is anonymous (public items only); one with claims is refused while tokens are required
(``INTERNAL_IDENTITY_REQUIRED``), and otherwise (a gateway of an older release, during a rolling
deploy) is for the claimed viewer.

A private group's items show only for the groups this service's own copy says the viewer is
an active member of (the ``memberships`` index, fed by members' ``group_membership_changed``),
and when the caller names groups, only for those too: the gateway reads the viewer's groups
fresh per request, so a leave shows at once; a new join shows once its event is indexed (until
then the group's private items stay hidden: closed, not open, while the copy lags). Who is kept
apart by a block comes from the ``blocks`` index (either way). Both are one ``msearch``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch

from parentnet_kit.identity import Forbidden, Viewer

# A member's groups read per search; a member in more sees only the first this many's private items.
MAX_GROUPS = 1_000
# As queries.MAX_BLOCKERS: the block pairs read per search.
MAX_APART = 10_000
# Ids a caller may add: with the copy's, one ``terms`` clause stays under Elasticsearch's
# ``index.max_terms_count`` (65,536 by default).
MAX_CALLER_APART = 50_000


@dataclass(frozen=True)
class Seen:
    """What one search may show: ``viewer_id`` (None: anonymous), ``groups`` whose private items
    show, ``apart`` members whose items never show (blocks, either way)."""

    viewer_id: str | None
    groups: list[str]
    apart: list[str]


ANONYMOUS = Seen(None, [], [])


def caller_apart(apart_ids: Any) -> list[str]:
    """The caller's ``apart_ids`` as a list of member ids (None: none). Raises ``ValueError``
    for anything but a list of strings of at most ``MAX_CALLER_APART`` (a caller's bug, not a
    user's input: refused rather than read as fewer ids, which would show more)."""
    if apart_ids is None:
        return []
    if not isinstance(apart_ids, list | tuple) or not all(isinstance(i, str) for i in apart_ids):
        raise ValueError("apart_ids must be a list of member ids")
    if len(apart_ids) > MAX_CALLER_APART:
        raise ValueError(f"apart_ids must name at most {MAX_CALLER_APART} members")
    return [i for i in apart_ids if i]


def with_apart(seen: Seen, apart_ids: list[str]) -> Seen:
    """``seen`` also keeping ``apart_ids`` apart (the union with its own copy's)."""
    if not apart_ids:
        return seen
    return Seen(seen.viewer_id, seen.groups, sorted(set(seen.apart) | set(apart_ids)))


def viewer_of(identity: Viewer, viewer_id: Any, viewer_groups: Any) -> str | None:
    """The member a search is for (None: anonymous), from the request's ``identity`` and the
    caller's claims. Raises ``Forbidden`` (see the module's docstring for when)."""
    claimed = viewer_id if isinstance(viewer_id, str) and viewer_id else None
    if identity.problem is not None:
        raise Forbidden(f"the identity token was refused: {identity.problem}")
    if identity.id is not None:
        if claimed is not None and claimed != identity.id:
            raise Forbidden("the identity token names another member than viewer_id")
        return identity.id
    if claimed is None and not viewer_groups:
        return None
    if identity.required:
        raise Forbidden("no identity token came with a search that names a viewer or groups")
    return claimed


def seen_by(
    es: Elasticsearch,
    blocks_alias: str,
    memberships_alias: str,
    viewer_id: str | None,
    claimed_groups: Any = None,
) -> Seen:
    """What ``viewer_id`` may see: their groups (the copy's, narrowed to ``claimed_groups`` when
    the caller names any list) and who is kept apart from them; one request to Elasticsearch."""
    if viewer_id is None:
        return ANONYMOUS
    either = [{"term": {"blocked_id": viewer_id}}, {"term": {"blocker_id": viewer_id}}]
    blocks = {"bool": {"filter": [{"term": {"active": True}}], "should": either, "minimum_should_match": 1}}
    groups = {"bool": {"filter": [{"term": {"member_id": viewer_id}}, {"term": {"active": True}}]}}
    answers = es.msearch(
        searches=[
            {"index": blocks_alias},
            {"query": blocks, "_source": ["blocker_id", "blocked_id"], "size": MAX_APART, "track_total_hits": False},
            {"index": memberships_alias},
            {"query": groups, "_source": ["group_id"], "size": MAX_GROUPS, "track_total_hits": False},
        ]
    )["responses"]
    for answer in answers:
        if "error" in answer:  # one search failed: fail the request rather than show too much
            raise RuntimeError(f"search of the viewer's blocks or groups failed: {answer['error']}")
    pairs = [hit["_source"] for hit in answers[0]["hits"]["hits"]]
    apart = sorted({p["blocker_id"] if p["blocked_id"] == viewer_id else p["blocked_id"] for p in pairs})
    mine = {hit["_source"]["group_id"] for hit in answers[1]["hits"]["hits"]}
    if isinstance(claimed_groups, list | tuple):
        mine &= {g for g in claimed_groups if isinstance(g, str)}
    return Seen(viewer_id, sorted(mine), apart)
