"""Ops name a network moderator: ``python -m moderation.roles grant EMAIL`` (or ``revoke``).

The account is found by its email through the members service (``members.member_id_by_email``
over RPC, on ``AMQP_URI``); the role is kept in this service's database (``MONGO_URI``,
``MODERATION_DB``). Network admins name moderators through the API (``networkModeratorGrant``).

Exit status: 0 done, 2 no account with that email.
"""

from __future__ import annotations

import argparse
import os
import sys

from nameko.standalone.rpc import ClusterRpcProxy
from pymongo import MongoClient

from parentnet_kit import config

from .store import ModerationStore


def member_id_for(email: str) -> str | None:
    """The member id registered with ``email``, asked of the members service."""
    amqp_uri = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30) as cluster:
        return cluster.members.member_id_by_email(email)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m moderation.roles", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("grant", "revoke"))
    parser.add_argument("email")
    parser.add_argument("--by", default=os.environ.get("USER", "ops"), help="who grants it (kept with the grant)")
    args = parser.parse_args(argv)
    member_id = member_id_for(args.email)
    if member_id is None:
        print(f"no account is registered with {args.email}: sign up first", file=sys.stderr)
        return 2
    client = MongoClient(config.mongo_uri(), tz_aware=True, serverSelectionTimeoutMS=5000)
    try:
        store = ModerationStore(client[os.environ.get("MODERATION_DB", "parentnet_moderation")], None)
        if args.command == "grant":
            store.grant_moderator(member_id, f"ops:{args.by}")
            print(f"{args.email} (member {member_id}) is a network moderator")
        else:
            store.revoke_moderator(member_id)
            print(f"{args.email} (member {member_id}) is no network moderator")
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
