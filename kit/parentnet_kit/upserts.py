"""Upserts by ``_id`` that survive another process upserting the same new ``_id`` at once.

An upsert is "update the document if there is one, else insert it". Two writers upserting the
same ``_id`` that does not exist yet can both find nothing and both insert: the unique ``_id``
index lets one insert through and answers the other with a duplicate key (E11000, pymongo's
``DuplicateKeyError``). Nothing is wrong then: the document the loser wanted to update or create
exists now, so running the same upsert again finds it and updates (or replaces) it, which is
what the caller asked for. So the loser runs it once more.

- **FerretDB 1.24** (the local and CI store) is where this bites. Its ``update`` command reads
  the matching documents (``c.Query``), and when there is none and ``upsert`` is set it builds
  the document and inserts it as a separate write (``c.InsertAll``); a racing writer's insert
  in between turns that into ``ErrorCodeInsertDuplicateID``, which it answers as
  ``E11000 duplicate key error collection: <db>.<coll>`` (no key pattern in the error):
  ``internal/handler/msg_update.go`` ``updateDocument``, ``internal/handler/common/update.go``
  ``UpdateDocument``, ``internal/handler/msg_findandmodify.go`` ``handleUpdateError``, at
  v1.24.2 (commit cda72d440810406a208c4670aa7047f5bc8d528f). Measured here: 16 threads upserting
  each of 50 new ``_id``s behind a barrier got 173 duplicate-key errors on 39 of the 50
  (``kit/tests/test_upserts.py`` asserts the race happens, then that these helpers absorb it).
- **MongoDB** documents the same race (*Upsert with Duplicate Values*, on the ``updateOne``,
  ``update`` and ``findAndModify`` pages; mongodb/docs ``source/includes/extracts-upsert-unique-index.yaml``):
  with a unique index, exactly one racing upsert inserts and the others "either update the
  newly-inserted document or fail due to a unique key collision"; since 4.2 they update when
  the filter is an equality on exactly the unique index's fields and the update leaves those
  alone, as ``{_id: x}`` is and does (*Retryable Writes*, *Duplicate Key Errors on Upsert*:
  https://www.mongodb.com/docs/manual/core/retryable-writes/#duplicate-key-errors-on-upsert).
  Its manual up to 4.0 gave the application's side: "If the operation fails because of a
  duplicate index key error, applications may retry the operation which will succeed as an
  update operation" (``db.collection.update()``, *Use Unique Indexes*). So on MongoDB the retry
  here is seldom reached, and harmless when it is.

One retry, not a loop: after a lost race the document exists, and the second attempt only fails
if it was deleted and inserted again in between. That error, or a duplicate key on another
unique index (MongoDB names the index's ``keyPattern``; a retry cannot help it), is raised.
The filter is always ``{_id: <id>}``, the one shape FerretDB serves from an index (docs/store.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError
from pymongo.results import UpdateResult

T = TypeVar("T")


def replace(collection: Collection, doc_id: Any, document: Mapping[str, Any]) -> UpdateResult:
    """Replace the document whose ``_id`` is ``doc_id`` by ``document``, or insert it with that
    ``_id`` (``replace_one(..., upsert=True)``); the last writer's document is what stays.

    ``document`` may hold ``_id`` only if it equals ``doc_id``. Raises ``DuplicateKeyError`` only
    if the retry after a lost race fails too, or the key is not the ``_id``."""
    return _retrying(lambda: collection.replace_one({"_id": doc_id}, document, upsert=True))


def update(collection: Collection, doc_id: Any, changes: Mapping[str, Any]) -> UpdateResult:
    """Apply the update operators ``changes`` (``{"$set": ...}``, ``{"$max": ...}``) to the
    document whose ``_id`` is ``doc_id``, created from ``{_id: doc_id}`` when there is none
    (``update_one(..., upsert=True)``). After a lost race the operators apply to the winner's
    document, so ``$max`` keeps the larger value and ``$set`` the last one written.

    Raises ``DuplicateKeyError`` as ``replace`` does."""
    return _retrying(lambda: collection.update_one({"_id": doc_id}, changes, upsert=True))


def _retrying(write: Callable[[], T]) -> T:
    try:
        return write()
    except DuplicateKeyError as exc:
        if not _on_id(exc):
            raise
        return write()  # the racer's document is there now: this one updates it


def _on_id(exc: DuplicateKeyError) -> bool:
    """Whether the duplicate key is the ``_id``: MongoDB names the index's key pattern; FerretDB
    1.24 names none, and raises this error for a duplicate ``_id`` only."""
    pattern = (exc.details or {}).get("keyPattern")
    return pattern is None or list(pattern) == ["_id"]
