"""Searching parents' talk through the GraphQL API, real servers (issue 19): found in each
language by its words, only by whom may see it, gone within seconds once a moderator hid it."""

from __future__ import annotations

import uuid

from test_conversations_end_to_end import (
    ASK,
    JOIN,
    MOD_ACT,
    MOD_QUEUE,
    MOD_REPORT,
    PUBLIC_GROUP,
    REPLY,
    private_group,
    start_thread,
    wait_for,
)

SEARCH = """query($q: String!, $kinds: [DiscussionSearchKind!], $group: ID, $after: String) {
  discussionSearch(query: $q, kinds: $kinds, groupId: $group, first: 10, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { kind node { id __typename
      ... on DiscussionThread { title }
      ... on DiscussionReply { text }
      ... on Question { text } } } } }"""


def found(gql, who: dict, words: str, **variables) -> dict:
    return gql(SEARCH, {"q": words, **variables}, token=who["token"])["discussionSearch"]


def ids_of(page: dict) -> list[str]:
    return [e["node"]["id"] for e in page["edges"]]


def test_a_french_thread_is_found_by_a_french_stem_and_a_private_one_by_its_members_only(gql, sign_up):
    admin, member, outsider = sign_up("Admin"), sign_up("Member"), sign_up("Outsider")
    tag = uuid.uuid4().hex[:8]  # the shared stack holds other tests' threads: this test's own word
    public = gql(PUBLIC_GROUP, token=admin["token"])["groupCreate"]["group"]["id"]
    thread = start_thread(gql, admin["token"], public, title=f"Balade à cheval {tag}", body="Qui vient dimanche ?")
    # "chevaux" is "cheval" to French analysis: two edits away, no typo match would find it.
    page = wait_for(lambda: ids_of(found(gql, outsider, f"chevaux {tag}")), "the thread in search")
    assert page == [thread["id"]]

    group = private_group(gql, admin, member)
    secret = start_thread(gql, admin["token"], group, title=f"Balade entre nous {tag}")
    mine = wait_for(lambda: len(ids_of(found(gql, member, f"balade {tag}"))) == 2, "the private thread for a member")
    assert mine
    # An outsider gets nothing of it: not the thread, not in the count.
    theirs = found(gql, outsider, f"balade {tag}")
    assert ids_of(theirs) == [thread["id"]] and theirs["totalCount"] == 1
    assert found(gql, outsider, f"entre nous {tag}") == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }
    assert {e["node"]["id"] for e in found(gql, member, f"balade {tag}")["edges"]} == {thread["id"], secret["id"]}


def test_a_chinese_question_is_found_by_a_chinese_word_in_its_city_only(gql, sign_up):
    asker, near, far = (
        sign_up("Asker", city="saint-denis"),
        sign_up("Near", city="saint-denis"),
        sign_up("Far", city="annecy"),
    )
    tag = uuid.uuid4().hex[:8]
    text = f"运河附近有好的儿科医生吗？ {tag}"
    asked = gql(ASK, {"input": {"text": text, "scope": "CITY"}}, token=asker["token"])["questionAsk"]
    assert asked["userErrors"] == []
    question = asked["question"]["id"]
    page = wait_for(lambda: found(gql, near, f"儿科医生 {tag}")["edges"], "the question in search")
    assert page == [{"kind": "QUESTION", "node": {"id": question, "__typename": "Question", "text": text}}]
    assert found(gql, far, f"儿科医生 {tag}")["totalCount"] == 0


def test_a_hidden_reply_is_gone_from_search_within_three_seconds(gql, sign_up):
    admin, author, reporter = sign_up("Admin"), sign_up("Author"), sign_up("Reporter")
    tag = uuid.uuid4().hex[:8]
    group = gql(PUBLIC_GROUP, token=admin["token"])["groupCreate"]["group"]["id"]
    for who in (author, reporter):
        assert gql(JOIN, {"g": group}, token=who["token"])["groupJoin"]["userErrors"] == []
    thread = start_thread(gql, admin["token"], group, title=f"Sortie au parc {tag}")

    def author_replies():
        result = gql(REPLY, {"t": thread["id"], "text": f"propos blessants {tag}"}, token=author["token"])
        return None if result["discussionReplyCreate"]["userErrors"] else result["discussionReplyCreate"]["reply"]

    reply = wait_for(author_replies, "the membership's copy")
    kinds = {"kinds": ["REPLY"]}
    assert wait_for(lambda: ids_of(found(gql, reporter, f"blessants {tag}", **kinds)), "the reply in search") == [
        reply["id"]
    ]
    filed = gql(MOD_REPORT, {"input": {"subjectId": reply["id"], "reason": "HARASSMENT"}}, token=reporter["token"])
    assert filed["contentReport"]["userErrors"] == []

    def in_queue():
        nodes = gql(MOD_QUEUE, {"group": group}, token=admin["token"])["moderationQueue"]["nodes"]
        return [n for n in nodes if n["subjectId"] == reply["id"]]

    [item] = wait_for(in_queue, "the report in the group's queue")
    acted = gql(MOD_ACT, {"input": {"reportId": item["id"], "action": "HIDE", "reason": "Non"}}, token=admin["token"])
    assert acted["moderationAct"]["userErrors"] == []
    wait_for(lambda: found(gql, reporter, f"blessants {tag}", **kinds)["totalCount"] == 0, "the reply gone")
    assert found(gql, author, f"blessants {tag}")["edges"] == []
