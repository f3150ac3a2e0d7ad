"""An announcement to a group of several hundred members (issue 19): the request answers at once,
and every active member's inbox gets it exactly once, delivered by the conversations service's
fan-out job in pages, not by the request."""

from __future__ import annotations

import uuid

from pymongo import MongoClient
from test_conversations_end_to_end import INBOX, JOIN, PUBLIC_GROUP, THREAD, start_thread, wait_for

from gateway.ids import from_global_id
from parentnet_kit import config
from parentnet_kit.envelope import Event
from parentnet_kit.inbox import Inbox
from parentnet_kit.outbox import AggregateStore
from parentnet_kit.publisher import EventPublisher

# More than one page of the job (200): 250 keeps the test's own feeding short on a busy CI machine.
MEMBERS = 250


def test_an_announcement_reaches_each_of_hundreds_of_members_once(gql, stack, sign_up):
    admin, reader = sign_up("Admin"), sign_up("Reader")
    group = gql(PUBLIC_GROUP, token=admin["token"])["groupCreate"]["group"]["id"]
    assert gql(JOIN, {"g": group}, token=reader["token"])["groupJoin"]["userErrors"] == []
    start_thread(gql, admin["token"], group, title="Bienvenue")  # the group's copy is in conversations
    # Hundreds more members, as the members service announces them (signing up 250 phones would
    # only measure sign-up); the last one left before the announcement.
    local_group = from_global_id(group)[1]
    crowd = [f"crowd-{uuid.uuid4().hex[:12]}" for _ in range(MEMBERS)]
    publisher = EventPublisher(stack.env["AMQP_URI"])
    publisher.connect()
    try:
        for i, member in enumerate(crowd):
            versions = [(1, "active"), (2, "left")] if i == MEMBERS - 1 else [(1, "active")]
            for version, status in versions:
                data = {"group_id": local_group, "member_id": member, "role": "member", "status": status}
                aggregate = f"gm:{local_group}:{member}"
                publisher.publish(Event("group_membership_changed", "members", aggregate, version, "paris", data))
    finally:
        publisher.close()
    db = MongoClient(config.mongo_uri(), tz_aware=True)[stack.env["CONVERSATIONS_DB"]]
    last = f"gm:{local_group}:{crowd[-1]}"
    copies = [f"gm:{local_group}:{member}" for member in crowd]

    def all_copied() -> bool:
        left = (db["memberships"].find_one({"_id": last}) or {}).get("status") == "left"
        return left and db["memberships"].count_documents({"_id": {"$in": copies}}) == MEMBERS

    wait_for(all_copied, "the crowd's copies", 180.0)

    posted = gql(
        THREAD,
        {"input": {"groupId": group, "title": "Fête de quartier samedi", "kind": "ANNOUNCEMENT"}},
        token=admin["token"],
    )["discussionThreadCreate"]
    assert posted["userErrors"] == []
    thread = from_global_id(posted["thread"]["id"])[1]

    # Delivered after the answer, by the job, which is gone once every page is done.
    wait_for(lambda: db["announcement_fanout"].find_one({"_id": thread}) is None, "the fan-out done", 120.0)
    inbox = Inbox(AggregateStore(db, "inbox", None, outbox="inbox_outbox"), "conversations")

    def told(member: str) -> list[str]:
        return [n["message"] for n in inbox.page(member, 10)["items"] if n["kind"] == "group_announcement"]

    expected = ["Announcement in Parents de la Villette: Fête de quartier samedi"]
    assert {m: told(m) for m in crowd[:-1] if told(m) != expected} == {}
    assert told(crowd[-1]) == []  # left before it was posted
    # A real member reads it once through the API (in their profile's language); the author is not told.
    mine = [n for n in gql(INBOX, token=reader["token"])["inbox"]["nodes"] if n["type"] == "GROUP_ANNOUNCEMENT"]
    assert [n["subject"]["id"] for n in mine] == [posted["thread"]["id"]]
    assert not [n for n in gql(INBOX, token=admin["token"])["inbox"]["nodes"] if n["type"] == "GROUP_ANNOUNCEMENT"]
