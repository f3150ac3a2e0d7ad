"""Parents talk, through the GraphQL API against the real stack: group discussions, messages,
ask nearby, live by subscription (issue 19)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from support.graphql import post
from support.subscriptions import Subscriber, ws_url

DEADLINE = 10.0

PRIVATE_GROUP = """mutation { groupCreate(input: {name: "Parents solos du 18e", city: "paris", visibility: PRIVATE,
  joinPolicy: APPROVAL}) { group { id } userErrors { code } } }"""
PUBLIC_GROUP = """mutation { groupCreate(input: {name: "Parents de la Villette", city: "paris"}) {
  group { id } userErrors { code } } }"""
JOIN = "mutation($g: ID!) { groupJoin(input: {groupId: $g}) { userErrors { code } } }"
APPROVE = """mutation($g: ID!, $m: ID!) { groupRequestApprove(input: {groupId: $g, memberId: $m}) {
  userErrors { code } } }"""
THREAD = """mutation($input: DiscussionThreadCreateInput!) { discussionThreadCreate(input: $input) {
  thread { id title kind replyCount pinned locked } userErrors { field message code } } }"""
REPLY = """mutation($t: ID!, $text: String!) { discussionReplyCreate(input: {threadId: $t, text: $text}) {
  reply { id text position } userErrors { field message code } } }"""
DISCUSSIONS = """query($g: ID!) { groupDiscussions(groupId: $g, first: 10) { totalCount
  nodes { id title pinned replyCount replies(first: 100) { totalCount nodes { text position author { id } } } } } }"""
THREAD_NODE = "query($id: ID!) { node(id: $id) { ... on DiscussionThread { title replyCount } } }"
INBOX = "{ inbox(first: 50) { nodes { type message subject { id } } } }"


def wait_for(check, what: str, deadline: float = DEADLINE):
    """Poll ``check`` until it returns something truthy; fail after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"not within {deadline:g} s: {what}")
        time.sleep(0.1)


def start_thread(gql, token: str, group: str, **fields) -> dict:
    """Post a thread once the conversations service has its copy of the group (members' events
    reach it within moments of the group's creation)."""

    def attempt():
        result = gql(THREAD, {"input": {"groupId": group, **fields}}, token=token)["discussionThreadCreate"]
        if [e["code"] for e in result["userErrors"]] in (["NOT_FOUND"], ["NOT_MEMBER"]):
            return None
        assert result["userErrors"] == [], result
        return result["thread"]

    return wait_for(attempt, "the group's copy reached conversations")


def private_group(gql, admin: dict, *members: dict) -> str:
    group = gql(PRIVATE_GROUP, token=admin["token"])["groupCreate"]["group"]["id"]
    for member in members:
        assert gql(JOIN, {"g": group}, token=member["token"])["groupJoin"]["userErrors"] == []
        assert (
            gql(APPROVE, {"g": group, "m": member["id"]}, token=admin["token"])["groupRequestApprove"]["userErrors"]
            == []
        )
    return group


def test_a_private_groups_thread_is_for_its_members_only(gql, http, sign_up):
    admin, member, outsider = sign_up("Admin"), sign_up("Member"), sign_up("Outsider")
    group = private_group(gql, admin, member)
    thread = start_thread(gql, admin["token"], group, title="Garde partagée le mercredi ?", body="Qui est partant ?")
    assert thread["kind"] == "DISCUSSION" and thread["replyCount"] == 0

    def member_replies():
        result = gql(REPLY, {"t": thread["id"], "text": "Moi ! مرحبا"}, token=member["token"])["discussionReplyCreate"]
        return None if result["userErrors"] else result["reply"]

    reply = wait_for(member_replies, "the membership's copy reached conversations")
    assert reply["text"] == "Moi ! مرحبا" and reply["position"] == 1

    seen = gql(DISCUSSIONS, {"g": group}, token=member["token"])["groupDiscussions"]
    assert seen["totalCount"] == 1
    assert seen["nodes"][0]["replies"]["nodes"] == [
        {"text": "Moi ! مرحبا", "position": 1, "author": {"id": member["id"]}}
    ]
    assert seen["nodes"][0]["replyCount"] == 1

    # An outsider gets nothing: no list, no count, no thread by id, no reply.
    assert gql(DISCUSSIONS, {"g": group}, token=outsider["token"])["groupDiscussions"] is None
    assert gql(THREAD_NODE, {"id": thread["id"]}, token=outsider["token"])["node"] is None
    refused = gql(REPLY, {"t": thread["id"], "text": "hello"}, token=outsider["token"])["discussionReplyCreate"]
    assert refused["reply"] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["input", "threadId"], "NOT_FOUND")]
    anonymous = post(http, DISCUSSIONS, {"g": group}).json()
    assert anonymous["data"]["groupDiscussions"] is None

    # The thread's author hears of the reply in the inbox.
    wait_for(
        lambda: any(n["type"] == "DISCUSSION_REPLY" for n in gql(INBOX, token=admin["token"])["inbox"]["nodes"]),
        "the reply notification",
    )


def test_admins_pin_lock_and_announce_and_answer_suggestions(gql, sign_up):
    admin, member = sign_up("Admin"), sign_up("Member")
    group = private_group(gql, admin, member)
    first = start_thread(gql, admin["token"], group, title="Bienvenue")

    def member_posts():
        result = gql(
            THREAD,
            {"input": {"groupId": group, "title": "Un coin lecture ?", "kind": "SUGGESTION"}},
            token=member["token"],
        )["discussionThreadCreate"]
        return None if result["userErrors"] else result["thread"]

    suggestion = wait_for(member_posts, "the membership's copy reached conversations")
    refused = gql(
        THREAD, {"input": {"groupId": group, "title": "Fête", "kind": "ANNOUNCEMENT"}}, token=member["token"]
    )["discussionThreadCreate"]
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["input", "kind"], "FORBIDDEN")]

    moderate = """mutation($t: ID!) { discussionThreadModerate(input: {threadId: $t, pinned: true, locked: true}) {
      thread { pinned locked } userErrors { code } } }"""
    not_admin = gql(moderate, {"t": first["id"]}, token=member["token"])["discussionThreadModerate"]
    assert [e["code"] for e in not_admin["userErrors"]] == ["FORBIDDEN"]
    done = gql(moderate, {"t": first["id"]}, token=admin["token"])["discussionThreadModerate"]
    assert done == {"thread": {"pinned": True, "locked": True}, "userErrors": []}
    locked = gql(REPLY, {"t": first["id"], "text": "trop tard"}, token=member["token"])["discussionReplyCreate"]
    assert [e["code"] for e in locked["userErrors"]] == ["CLOSED"]

    announcement = gql(
        THREAD,
        {"input": {"groupId": group, "title": "Fête de quartier samedi", "kind": "ANNOUNCEMENT"}},
        token=admin["token"],
    )["discussionThreadCreate"]
    assert announcement["userErrors"] == []
    titles = [n["title"] for n in gql(DISCUSSIONS, {"g": group}, token=member["token"])["groupDiscussions"]["nodes"]]
    assert titles[0] == "Bienvenue"  # pinned first, then newest first
    assert titles[1:] == ["Fête de quartier samedi", "Un coin lecture ?"]
    wait_for(
        lambda: any(
            n["type"] == "GROUP_ANNOUNCEMENT" and n["subject"] == {"id": announcement["thread"]["id"]}
            for n in gql(INBOX, token=member["token"])["inbox"]["nodes"]
        ),
        "the announcement in the member's inbox",
    )

    support = """mutation($t: ID!) { discussionSuggestionSupport(input: {threadId: $t}) {
      thread { supportCount supportedByViewer } userErrors { code } } }"""
    once = gql(support, {"t": suggestion["id"]}, token=admin["token"])["discussionSuggestionSupport"]
    again = gql(support, {"t": suggestion["id"]}, token=admin["token"])["discussionSuggestionSupport"]
    assert once == again == {"thread": {"supportCount": 1, "supportedByViewer": True}, "userErrors": []}
    answer = """mutation($t: ID!) { discussionSuggestionAnswer(input: {threadId: $t, text: "Oui, en janvier."}) {
      thread { adminAnswer { text author { id } } } userErrors { code } } }"""
    answered = gql(answer, {"t": suggestion["id"]}, token=admin["token"])["discussionSuggestionAnswer"]
    assert answered["thread"]["adminAnswer"] == {"text": "Oui, en janvier.", "author": {"id": admin["id"]}}
    wait_for(
        lambda: any(n["type"] == "SUGGESTION_ANSWERED" for n in gql(INBOX, token=member["token"])["inbox"]["nodes"]),
        "the suggestion's author is told",
    )
