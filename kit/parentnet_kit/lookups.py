"""Reads the MongoDB-protocol store serves without reading a whole collection, on both servers.

FerretDB 1.24 on SQLite pushes down one filter shape only, ``{_id: <string or ObjectId>}``
(with provisioning's fix, served by the ``_id`` index; docs/store.md); every other filter,
``$in`` on ``_id`` included, is evaluated in its own process after decoding every document of
the collection. MongoDB serves ``$in`` from the ``_id`` index in one round trip. So a batch
lookup is ``$in`` on MongoDB and point lookups on FerretDB.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database


def is_ferretdb(db: Database) -> bool:
    """True when the server is FerretDB (its buildInfo says so), which re-checks no filter at
    write time and serves only ``{_id: <string>}`` without reading the whole collection.
    Asked once per client."""
    client = db.client
    known = getattr(client, "_parentnet_is_ferretdb", None)
    if known is None:
        known = "ferretdbVersion" in client.admin.command("buildInfo")
        client._parentnet_is_ferretdb = known  # type: ignore[attr-defined]
    return known


def by_ids(collection: Collection, ids: Iterable[Any]) -> dict[Any, dict[str, Any]]:
    """The documents with these ``_id``s that exist, as ``{_id: document}`` (any order asked)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    if not is_ferretdb(collection.database):
        return {d["_id"]: d for d in collection.find({"_id": {"$in": wanted}})}
    found = (collection.find_one({"_id": i}) for i in wanted)
    return {d["_id"]: d for d in found if d is not None}
