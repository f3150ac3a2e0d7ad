"""Ops name a network admin: ``python -m members.admins grant EMAIL``.

The first network admin cannot be named through the API (nobody may grant the role to
themselves) nor by an email address in the configuration: addresses are not verified, so
whoever registered a configured address first would hold the role. Ops run this command with
the members service's own settings (``MONGO_URI``, ``MEMBERS_DB``) once the person has signed
up; after that, network admins name others with ``networkAdminGrant``.

Exit status: 0 granted (or held already), 2 no account with that email.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from datetime import UTC, datetime

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from parentnet_kit import config

from .domain import normalise_email


def grant(db: Database, email: str, by: str = "ops") -> str | None:
    """Make the account registered with ``email`` a network admin; returns its member id, or
    None when no account has that email. Idempotent."""
    key = normalise_email(email)
    account = db["emails"].find_one({"_id": key}, {"member_id": 1})
    if account is None:
        return None
    with contextlib.suppress(DuplicateKeyError):  # held already
        db["network_admins"].insert_one(
            {"_id": account["member_id"], "granted_by": f"ops:{by}", "at": datetime.now(UTC)}
        )
    return account["member_id"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m members.admins", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    granting = sub.add_parser("grant", help="make the account with this email a network admin")
    granting.add_argument("email")
    granting.add_argument("--by", default=os.environ.get("USER", "ops"), help="who grants it (kept with the grant)")
    args = parser.parse_args(argv)
    client = MongoClient(config.mongo_uri(), tz_aware=True, serverSelectionTimeoutMS=5000)
    try:
        member_id = grant(client[os.environ.get("MEMBERS_DB", "parentnet_members")], args.email, args.by)
    finally:
        client.close()
    if member_id is None:
        print(f"no account is registered with {args.email}: sign up first", file=sys.stderr)
        return 2
    print(f"{args.email} (member {member_id}) is a network admin")
    return 0


if __name__ == "__main__":
    sys.exit(main())
