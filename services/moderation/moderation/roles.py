"""Ops name a network moderator: ``python -m moderation.roles grant EMAIL`` (or ``revoke``).

The account is found by its email through the members service (``members.member_id_by_email``
over RPC, on ``AMQP_URI``, with this command's operator token signed with the deployment's
identity key: ``INTERNAL_IDENTITY_PRIVATE_KEY[_FILE]``, the gateway's); the role is kept in this
service's database (``MONGO_URI``, ``MODERATION_DB``). Network admins name moderators through
the API (``networkModeratorGrant``).

Exit status: 0 done, 2 no account with that email, 1 no identity key.
"""

from __future__ import annotations

import argparse
import os
import sys

from nameko.standalone.rpc import ClusterRpcProxy
from pymongo import MongoClient

from parentnet_kit import config
from parentnet_kit.identity import HEADER, MODERATION_ROLES, IdentitySigner, operator_subject

from .store import ModerationStore


def member_id_for(email: str, signer: IdentitySigner) -> str | None:
    """The member id registered with ``email``, asked of the members service."""
    amqp_uri = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    token = signer.token(operator_subject(MODERATION_ROLES), "members")
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, context_data={HEADER: token}, timeout=30) as cluster:
        return cluster.members.member_id_by_email(email)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m moderation.roles", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("grant", "revoke"))
    parser.add_argument("email")
    parser.add_argument("--by", default=os.environ.get("USER", "ops"), help="who grants it (kept with the grant)")
    args = parser.parse_args(argv)
    signer = IdentitySigner.from_config(
        os.environ.get("INTERNAL_IDENTITY_PRIVATE_KEY"), os.environ.get("INTERNAL_IDENTITY_PRIVATE_KEY_FILE")
    )
    if signer is None:
        print(
            "INTERNAL_IDENTITY_PRIVATE_KEY or INTERNAL_IDENTITY_PRIVATE_KEY_FILE must name the deployment's identity "
            "private key (the gateway's): members answers an email's account to this command's token only",
            file=sys.stderr,
        )
        return 1
    member_id = member_id_for(args.email, signer)
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
