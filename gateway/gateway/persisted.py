"""Automatic persisted queries (Apollo's ``persistedQuery`` extension, version 1).

A client sends only the SHA-256 of its query; the first time, the gateway answers
``PERSISTED_QUERY_NOT_FOUND`` and the client sends the query with its hash, which the gateway
checks and keeps. Kept per process, least recently used first out: another instance just
asks once more.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

Refusal = tuple[int, dict[str, Any]]


def _error(message: str, code: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code}}


class PersistedQueries:
    def __init__(self, size: int = 4_096) -> None:
        self.size = size
        self._queries: OrderedDict[str, str] = OrderedDict()

    def resolve(self, query: Any, extensions: Any) -> tuple[Any, Refusal | None]:
        """The query text to run, or an HTTP status and error for the client."""
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if persisted is None:
            return query, None
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            return None, (400, _error("Only persistedQuery version 1 is supported.", "PERSISTED_QUERY_NOT_SUPPORTED"))
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or len(digest) != 64:
            return None, (400, _error("persistedQuery needs a sha256Hash of 64 hex digits.", "BAD_REQUEST"))
        digest = digest.lower()
        if query is None:
            known = self._queries.get(digest)
            if known is None:
                # Apollo clients expect 200 with this code, then resend with the query.
                return None, (200, _error("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND"))
            self._queries.move_to_end(digest)
            return known, None
        if not isinstance(query, str) or hashlib.sha256(query.encode()).hexdigest() != digest:
            return None, (400, _error("provided sha does not match query", "PERSISTED_QUERY_HASH_MISMATCH"))
        self._queries[digest] = query
        if len(self._queries) > self.size:
            self._queries.popitem(last=False)
        return query, None
