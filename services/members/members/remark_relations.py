"""``python -m members.remark_relations``: the operator's step after a rolling deploy of members
from a release that did not mark every relation change (v0.26.0 and older: docs/operations.md).

Reads ``MONGO_URI`` and ``MEMBERS_DB`` from the environment (the service's own variables, same
defaults as its config.yml), marks every membership and block in its owners' relation indexes
(``MemberStore.remark_relations``), prints how many, and exits 0. Safe beside running instances:
an extra marker only costs readers one re-read. One read of ``memberships`` and of ``blocks``:
run it once, when the last instance of the older release is gone.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

from pymongo import MongoClient

from parentnet_kit.tokens import TokenSigner, generate_key_pair

from . import security
from .store import MemberStore


def main() -> int:
    """Mark every relation; returns the exit status (0, or 1 when the store cannot be reached)."""
    uri = os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/")
    database = os.environ.get("MEMBERS_DB", "parentnet_members")
    client = MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=10_000)
    try:
        # Signs nothing here: the store wants a signer, and this step issues no token.
        signer = TokenSigner(generate_key_pair()[0], timedelta(minutes=1))
        store = MemberStore(client[database], None, signer, security.Limits(), timedelta(days=1), lambda f, *a: f(*a))
        marked = store.remark_relations()
    except Exception as exc:  # noqa: BLE001 - an operator's command: say what failed, exit non-zero
        print(f"remark_relations: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"remark_relations: {marked} relations marked in {database}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
