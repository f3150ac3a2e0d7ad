"""Parents talk, through the GraphQL API against the real stack: group discussions, messages,
ask nearby, live by subscription (issue 19)."""

from __future__ import annotations

import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
from support.graphql import post
from support.subscriptions import Subscriber, ws_url

from parentnet_kit.envelope import Event
from parentnet_kit.publisher import EventPublisher

DEADLINE = 15.0

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


SEND = """mutation($input: MessageSendInput!) { messageSend(input: $input) {
  message { id text fromViewer readByOther } conversation { id status requestedByViewer unreadCount }
  userErrors { field message code } } }"""
CONVERSATIONS = """{ conversations(first: 20) { totalCount unreadCount nodes { id status unreadCount
  otherMember { id } messages(first: 20) { nodes { text fromViewer } } } } }"""
REQUESTS = (
    """{ messageRequests(first: 20) { totalCount nodes { id status messages(first: 20) { nodes { text } } } } }"""
)
PROFILE = """mutation($input: MemberUpdateProfileInput!) { memberUpdateProfile(input: $input) {
  userErrors { field code } } }"""


def send(gql, token: str, **fields) -> dict:
    return gql(SEND, {"input": fields}, token=token)["messageSend"]


def test_a_strangers_message_is_a_request_the_recipient_accepts(gql, stack, sign_up):
    stranger, parent = sign_up("Stranger"), sign_up("Parent")
    nobody = base64.urlsafe_b64encode(b"Member:nobody").decode().rstrip("=")
    unknown = send(gql, stranger["token"], recipientId=nobody, text="Hello?")
    assert [(e["field"], e["code"]) for e in unknown["userErrors"]] == [(["input", "recipientId"], "NOT_FOUND")]
    sent = send(gql, stranger["token"], recipientId=parent["id"], text="Bonjour, la poussette est-elle libre ?")
    assert sent["userErrors"] == []
    assert sent["conversation"]["status"] == "REQUEST" and sent["conversation"]["requestedByViewer"] is True
    assert gql(CONVERSATIONS, token=parent["token"])["conversations"]["totalCount"] == 0
    requests = gql(REQUESTS, token=parent["token"])["messageRequests"]
    assert requests["totalCount"] == 1
    assert requests["nodes"][0]["messages"]["nodes"] == [{"text": "Bonjour, la poussette est-elle libre ?"}]
    wait_for(
        lambda: any(n["type"] == "MESSAGE_REQUEST" for n in gql(INBOX, token=parent["token"])["inbox"]["nodes"]),
        "the request in the recipient's inbox (never its text)",
    )

    accept = """mutation($c: ID!) { messageRequestAccept(input: {conversationId: $c}) {
      conversation { status unreadCount } userErrors { code } } }"""
    accepted = gql(accept, {"c": requests["nodes"][0]["id"]}, token=parent["token"])["messageRequestAccept"]
    assert accepted == {"conversation": {"status": "OPEN", "unreadCount": 1}, "userErrors": []}
    mine = gql(CONVERSATIONS, token=parent["token"])["conversations"]
    assert mine["totalCount"] == 1 and mine["unreadCount"] == 1
    reply = send(gql, parent["token"], conversationId=mine["nodes"][0]["id"], text="Oui, passez ce soir.")
    assert reply["userErrors"] == [] and reply["message"]["readByOther"] is False
    mark = """mutation($c: ID!) { conversationUpdate(input: {conversationId: $c, markRead: true, muted: true}) {
      conversation { unreadCount muted } userErrors { code } } }"""
    assert gql(mark, {"c": mine["nodes"][0]["id"]}, token=parent["token"])["conversationUpdate"] == {
        "conversation": {"unreadCount": 0, "muted": True},
        "userErrors": [],
    }
    theirs = gql(CONVERSATIONS, token=stranger["token"])["conversations"]
    assert theirs["unreadCount"] == 1
    # Never in any process's log.
    for log in stack.run_dir.glob("*.log"):
        text = log.read_text(errors="replace")
        assert "la poussette est-elle libre" not in text and "passez ce soir" not in text, log.name
    assert [m["text"] for m in theirs["nodes"][0]["messages"]["nodes"]] == [
        "Oui, passez ce soir.",
        "Bonjour, la poussette est-elle libre ?",
    ]


def test_protected_members_hear_only_from_people_they_know(gql, sign_up):
    protected, stranger, neighbour = sign_up("Protected"), sign_up("Stranger"), sign_up("Neighbour")
    assert (
        gql(PROFILE, {"input": {"protectedMode": True}}, token=protected["token"])["memberUpdateProfile"]["userErrors"]
        == []
    )
    refused = send(gql, stranger["token"], recipientId=protected["id"], text="Salut")
    assert refused["message"] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["input", "recipientId"], "FORBIDDEN")]

    group = gql(PUBLIC_GROUP, token=protected["token"])["groupCreate"]["group"]["id"]
    assert gql(JOIN, {"g": group}, token=neighbour["token"])["groupJoin"]["userErrors"] == []

    def delivered():
        result = send(gql, neighbour["token"], recipientId=protected["id"], text="On se voit au parc ?")
        return result if result["userErrors"] == [] else None

    result = wait_for(delivered, "the shared group's copy reached conversations")
    assert result["conversation"]["status"] == "OPEN"
    assert [
        m["text"]
        for c in gql(CONVERSATIONS, token=protected["token"])["conversations"]["nodes"]
        for m in c["messages"]["nodes"]
    ] == ["On se voit au parc ?"]
    # Having written first, the protected member can be answered by the stranger too.
    assert send(gql, protected["token"], recipientId=stranger["id"], text="Bonjour")["userErrors"] == []
    assert send(gql, stranger["token"], recipientId=protected["id"], text="Merci !")["userErrors"] == []


def test_a_block_stops_messages_both_ways_and_the_blocked_side_cannot_tell(gql, sign_up):
    blocker, blocked = sign_up("Blocker"), sign_up("Blocked")
    first = send(gql, blocked["token"], recipientId=blocker["id"], text="Coucou")
    conversation = first["conversation"]["id"]
    accept = "mutation($c: ID!) { messageRequestAccept(input: {conversationId: $c}) { userErrors { code } } }"
    assert gql(accept, {"c": conversation}, token=blocker["token"])["messageRequestAccept"]["userErrors"] == []
    before = send(gql, blocked["token"], conversationId=conversation, text="Tu es là ?")

    block = "mutation($id: ID!) { memberBlock(input: {memberId: $id}) { userErrors { code } } }"
    assert gql(block, {"id": blocked["id"]}, token=blocker["token"])["memberBlock"]["userErrors"] == []

    def blocker_refused():
        result = send(gql, blocker["token"], conversationId=conversation, text="(never sent)")
        return [e["code"] for e in result["userErrors"]] == ["FORBIDDEN"]

    wait_for(blocker_refused, "the block's copy reached conversations")
    inbox_before = gql(INBOX, token=blocker["token"])["inbox"]["nodes"]
    after = send(gql, blocked["token"], conversationId=conversation, text="Réponds-moi")
    # The blocked side's answer has the very same shape as before the block.
    assert after["userErrors"] == [] and after["message"]["text"] == "Réponds-moi"
    assert {k: v for k, v in after["conversation"].items() if k != "unreadCount"} == {
        k: v for k, v in before["conversation"].items() if k != "unreadCount"
    }
    theirs = gql(CONVERSATIONS, token=blocked["token"])["conversations"]["nodes"][0]
    assert [m["text"] for m in theirs["messages"]["nodes"]] == ["Réponds-moi", "Tu es là ?", "Coucou"]
    assert theirs["otherMember"] == {"id": blocker["id"]}
    # The blocker never receives it: not in the conversation, not counted, not in the inbox.
    mine = gql(CONVERSATIONS, token=blocker["token"])["conversations"]["nodes"][0]
    assert [m["text"] for m in mine["messages"]["nodes"]] == ["Tu es là ?", "Coucou"]
    assert mine["unreadCount"] == 2
    assert gql(INBOX, token=blocker["token"])["inbox"]["nodes"] == inbox_before


ASK = """mutation($input: QuestionAskInput!) { questionAsk(input: $input) {
  question { id text scope radiusKm } userErrors { field message code } } }"""
NEARBY = "{ questionsNearby(first: 20) { totalCount nodes { id text } } }"
ASKED_NEARBY = "subscription { questionAskedNearby { id text asker { id } } }"
ANSWER = """mutation($input: QuestionAnswerInput!) { questionAnswer(input: $input) {
  answer { id text card { __typename ... on Contact { name } } recommendedContact { name } }
  userErrors { field message code } } }"""


QUESTION_SEEN = """query($id: ID!) { node(id: $id) { ... on Question { text answerCount
  answers(first: 10) { totalCount nodes { text } } } } }"""


def test_a_blocked_member_sees_the_blockers_question_and_their_answer_never_reaches_the_blocker(gql, sign_up):
    blocker, blocked, bystander = sign_up("Blocker"), sign_up("Blocked"), sign_up("Bystander")
    asked = gql(ASK, {"input": {"text": "Une baby-sitter le samedi ?", "scope": "CITY"}}, token=blocker["token"])
    assert asked["questionAsk"]["userErrors"] == []
    question = asked["questionAsk"]["question"]["id"]

    def seen_by(who: dict) -> tuple:
        node = gql(QUESTION_SEEN, {"id": question}, token=who["token"])["node"]
        nearby = gql(NEARBY, token=who["token"])["questionsNearby"]
        return node, question in {n["id"] for n in nearby["nodes"]}

    before = seen_by(blocked)
    assert before[0]["text"] == "Une baby-sitter le samedi ?" and before[1]
    block = "mutation($id: ID!) { memberBlock(input: {memberId: $id}) { userErrors { code } } }"
    assert gql(block, {"id": blocked["id"]}, token=blocker["token"])["memberBlock"]["userErrors"] == []

    def blocker_refused():
        result = send(gql, blocker["token"], recipientId=blocked["id"], text="(never sent)")
        return [e["code"] for e in result["userErrors"]] == ["FORBIDDEN"]

    wait_for(blocker_refused, "the block's copy reached conversations")
    # The blocked member sees the question as before, and answering it succeeds.
    assert seen_by(blocked) == before
    answered = gql(ANSWER, {"input": {"questionId": question, "text": "Ma voisine"}}, token=blocked["token"])
    assert answered["questionAnswer"]["userErrors"] == []
    assert answered["questionAnswer"]["answer"]["text"] == "Ma voisine"
    theirs = gql(ANSWER, {"input": {"questionId": question, "text": "Essayez la mairie"}}, token=bystander["token"])
    assert theirs["questionAnswer"]["userErrors"] == []
    for who in (blocked, bystander):
        node = gql(QUESTION_SEEN, {"id": question}, token=who["token"])["node"]
        assert node["answerCount"] == 2 and node["answers"]["totalCount"] == 2
    # The blocker sees and hears of the bystander's answer only.
    node = gql(QUESTION_SEEN, {"id": question}, token=blocker["token"])["node"]
    assert node["answerCount"] == 1
    assert node["answers"] == {"totalCount": 1, "nodes": [{"text": "Essayez la mairie"}]}
    answered_id = answered["questionAnswer"]["answer"]["id"]
    assert gql("query($id: ID!) { node(id: $id) { id } }", {"id": answered_id}, token=blocker["token"])["node"] is None

    def told() -> list:
        return [n for n in gql(INBOX, token=blocker["token"])["inbox"]["nodes"] if n["type"] == "QUESTION_ANSWERED"]

    wait_for(told, "the bystander's answer in the blocker's inbox")
    assert len(told()) == 1


def test_a_pending_request_holds_three_messages(gql, sign_up):
    stranger, parent = sign_up("Stranger"), sign_up("Parent")
    first = send(gql, stranger["token"], recipientId=parent["id"], text="Bonjour")
    assert first["userErrors"] == [] and first["conversation"]["status"] == "REQUEST"
    conversation = first["conversation"]["id"]
    more = [send(gql, stranger["token"], conversationId=conversation, text=f"Relance {i}") for i in range(3)]
    assert [[(e["field"], e["code"]) for e in m["userErrors"]] for m in more] == [
        [],
        [],
        [(["input", "text"], "RATE_LIMITED")],
    ]
    requests = gql(REQUESTS, token=parent["token"])["messageRequests"]["nodes"]
    assert [m["text"] for m in requests[0]["messages"]["nodes"]] == ["Relance 1", "Relance 0", "Bonjour"]


def test_control_characters_are_refused_and_right_to_left_text_kept(gql, sign_up):
    admin, member = sign_up("Admin"), sign_up("Member")
    group = private_group(gql, admin, member)
    thread = start_thread(gql, admin["token"], group, title="Sortie مرحبا שלום")
    assert thread["title"] == "Sortie مرحبا שלום"
    bad = gql(THREAD, {"input": {"groupId": group, "title": "Sortie\u202etxet"}}, token=admin["token"])
    assert [(e["field"], e["code"]) for e in bad["discussionThreadCreate"]["userErrors"]] == [
        (["input", "title"], "INVALID")
    ]
    for text in ("a\x00b", "\x1b[31mrouge", "c1\x85", "iso\u2066lé"):
        refused = gql(REPLY, {"t": thread["id"], "text": text}, token=admin["token"])["discussionReplyCreate"]
        assert refused["reply"] is None
        assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["input", "text"], "INVALID")]
    refused = send(gql, member["token"], recipientId=admin["id"], text="salut\u202e")
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["input", "text"], "INVALID")]
    too_long = send(gql, member["token"], recipientId=admin["id"], text="x" * 4_001)
    assert [(e["field"], e["code"]) for e in too_long["userErrors"]] == [(["input", "text"], "TOO_LONG")]
    note = {"subjectId": thread["id"], "reason": "SPAM", "note": "voir\u202e"}
    filed = gql(MOD_REPORT, {"input": note}, token=member["token"])["contentReport"]
    assert [(e["field"], e["code"]) for e in filed["userErrors"]] == [(["input", "note"], "INVALID")]
    assert gql(THREAD_NODE, {"id": thread["id"]}, token=admin["token"])["node"]["replyCount"] == 0


def test_a_question_reaches_parents_nearby_and_not_another_city(gql, stack, sign_up):
    asker = sign_up("Asker", city="saint-denis")
    near = sign_up("Near", city="saint-denis")
    far = sign_up("Far", city="annecy")
    for who, home in ((asker, (48.9362, 2.3574)), (near, (48.9182, 2.3574)), (far, (45.8992, 6.1294))):
        result = gql(PROFILE, {"input": {"homeLocation": {"lat": home[0], "lon": home[1]}}}, token=who["token"])
        assert result["memberUpdateProfile"]["userErrors"] == []

    with (
        Subscriber(ws_url(stack), ASKED_NEARBY, token=near["token"], local_address="127.0.0.2") as near_feed,
        Subscriber(ws_url(stack), ASKED_NEARBY, token=far["token"], local_address="127.0.0.3") as far_feed,
    ):
        asked = gql(
            ASK,
            {"input": {"text": "paediatrician near the canal?", "scope": "NEARBY", "radiusKm": 3}},
            token=asker["token"],
        )["questionAsk"]
        assert asked["userErrors"] == []
        # The parent 2 km away hears of it live (how fast: bench/, not here).
        (live,) = near_feed.wait(1)
    live = live["payload"]["data"]["questionAskedNearby"]
    assert live == {
        "id": asked["question"]["id"],
        "text": "paediatrician near the canal?",
        "asker": {"id": asker["id"]},
    }
    assert far_feed.messages == []
    assert [q["text"] for q in gql(NEARBY, token=near["token"])["questionsNearby"]["nodes"]] == [
        "paediatrician near the canal?"
    ]
    assert gql(NEARBY, token=far["token"])["questionsNearby"] == {"totalCount": 0, "nodes": []}
    node = "query($id: ID!) { node(id: $id) { ... on Question { text } } }"
    assert gql(node, {"id": asked["question"]["id"]}, token=far["token"])["node"] is None

    # An answer pointing to a trusted contact shows the contact's card.
    contact = gql(
        """mutation { contactCreate(input: {kind: PAEDIATRICIAN, name: "Dr Amrani", city: "saint-denis",
      phone: "+33 1 48 00 00 01"}) { contact { id } userErrors { code } } }""",
        token=near["token"],
    )
    contact_id = contact["contactCreate"]["contact"]["id"]
    added = "subscription($q: ID!) { answerAdded(questionId: $q) { text card { ... on Contact { name } } } }"
    with Subscriber(
        ws_url(stack), added, {"q": asked["question"]["id"]}, token=asker["token"], local_address="127.0.0.6"
    ) as asker_feed:
        answered = gql(
            ANSWER,
            {
                "input": {
                    "questionId": asked["question"]["id"],
                    "text": "Dr Amrani, quai du canal",
                    "pointsTo": contact_id,
                }
            },
            token=near["token"],
        )["questionAnswer"]
        assert answered["userErrors"] == []
        assert answered["answer"]["card"] == {"__typename": "Contact", "name": "Dr Amrani"}
        (live_answer,) = asker_feed.wait(1)
    assert live_answer["payload"]["data"]["answerAdded"] == {
        "text": "Dr Amrani, quai du canal",
        "card": {"name": "Dr Amrani"},
    }
    refused = gql(ANSWER, {"input": {"questionId": asked["question"]["id"], "text": "?"}}, token=far["token"])
    assert [e["code"] for e in refused["questionAnswer"]["userErrors"]] == ["NOT_FOUND"]

    helpful = (
        """mutation($a: ID!) { answerMarkHelpful(input: {answerId: $a}) { answer { helpful } userErrors { code } } }"""
    )
    assert gql(helpful, {"a": answered["answer"]["id"]}, token=asker["token"])["answerMarkHelpful"] == {
        "answer": {"helpful": True},
        "userErrors": [],
    }
    not_asker = gql(helpful, {"a": answered["answer"]["id"]}, token=near["token"])["answerMarkHelpful"]
    assert [e["code"] for e in not_asker["userErrors"]] == ["NOT_YOURS"]

    # A contact recommended in an answer goes into the directory in one step.
    recommended = gql(
        ANSWER,
        {
            "input": {
                "questionId": asked["question"]["id"],
                "text": "Essayez le Dr Benali",
                "contact": {
                    "kind": "paediatrician",
                    "name": "Dr Benali",
                    "city": "saint-denis",
                    "phone": "+33 1 48 00 00 02",
                },
            }
        },
        token=near["token"],
    )["questionAnswer"]
    assert recommended["answer"]["recommendedContact"] == {"name": "Dr Benali"}
    save = """mutation($a: ID!) { answerContactSave(input: {answerId: $a}) { contact { name recommendations }
      answer { card { ... on Contact { name } } recommendedContact { name } } userErrors { field code } } }"""
    saved = gql(save, {"a": recommended["answer"]["id"]}, token=asker["token"])["answerContactSave"]
    assert saved == {
        "contact": {"name": "Dr Benali", "recommendations": 1},
        "answer": {"card": {"name": "Dr Benali"}, "recommendedContact": None},
        "userErrors": [],
    }


def local(global_id: str) -> str:
    """The local id inside a global ID (a test's knowledge: clients treat them as opaque)."""
    return base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode().partition(":")[2]


def test_fifty_concurrent_replies_to_one_thread_are_all_kept_once_in_order(gql, stack, sign_up):
    admin = sign_up("Admin")
    group = gql(PUBLIC_GROUP, token=admin["token"])["groupCreate"]["group"]["id"]
    thread = start_thread(gql, admin["token"], group, title="Le marché de Noël, vous y allez ?")
    roll_call = start_thread(gql, admin["token"], group, title="Qui est là ?", kind="SUGGESTION")
    parents = [sign_up(f"Parent {i}") for i in range(50)]
    support = "mutation($t: ID!) { discussionSuggestionSupport(input: {threadId: $t}) { userErrors { code } } }"
    for parent in parents:
        assert gql(JOIN, {"g": group}, token=parent["token"])["groupJoin"]["userErrors"] == []
    for parent in parents:  # each membership's copy has reached conversations
        wait_for(
            lambda p=parent: (
                gql(support, {"t": roll_call["id"]}, token=p["token"])["discussionSuggestionSupport"]["userErrors"]
                == []
            ),
            "a membership's copy",
        )

    start = threading.Barrier(50)

    def phone(i: int) -> dict:
        # Each simulated phone talks from its own loopback address: the per-address limits stay on.
        transport = httpx.HTTPTransport(local_address=f"127.0.{1 + i // 200}.{10 + i % 200}")
        with httpx.Client(base_url=stack.gateway_url, transport=transport, timeout=45) as client:
            start.wait()
            body = post(client, REPLY, {"t": thread["id"], "text": f"reply {i}"}, parents[i]["token"]).json()
        return body["data"]["discussionReplyCreate"]

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(phone, range(50)))
    assert [a["userErrors"] for a in answers] == [[]] * 50
    listed = gql(DISCUSSIONS, {"g": group}, token=admin["token"])["groupDiscussions"]["nodes"]
    replies = next(t for t in listed if t["id"] == thread["id"])["replies"]
    assert replies["totalCount"] == 50
    assert [r["position"] for r in replies["nodes"]] == list(range(1, 51))
    assert sorted(r["text"] for r in replies["nodes"]) == sorted(f"reply {i}" for i in range(50))
    by_text = {r["text"]: r["position"] for r in replies["nodes"]}
    assert all(by_text[a["reply"]["text"]] == a["reply"]["position"] for a in answers)


def test_message_requests_are_limited_per_hour(gql, sign_up):
    sender = sign_up("Sender")
    recipients = [sign_up(f"Recipient {i}") for i in range(11)]
    codes = [
        [e["code"] for e in send(gql, sender["token"], recipientId=r["id"], text="Bonjour")["userErrors"]]
        for r in recipients
    ]
    assert codes == [[]] * 10 + [["RATE_LIMITED"]]


def test_moderation_hides_content_and_suspends_members(gql, stack, sign_up):
    admin, member = sign_up("Admin"), sign_up("Member")
    group = private_group(gql, admin, member)
    thread = start_thread(gql, admin["token"], group, title="Sortie piscine")

    def member_replies():
        result = gql(REPLY, {"t": thread["id"], "text": "hors sujet"}, token=member["token"])["discussionReplyCreate"]
        return None if result["userErrors"] else result["reply"]

    reply = wait_for(member_replies, "the membership's copy")
    publisher = EventPublisher(stack.env["AMQP_URI"])
    publisher.connect()
    try:

        def decide(type_: str, version: int, data: dict, aggregate: str) -> None:
            # As moderation publishes them (the event catalogue's schema: an action id each).
            data = {**data, "action_id": f"action-{type_}-{version}"}
            publisher.publish(Event(type_, "moderation", aggregate, version, "paris", data))

        subject = {"subject_type": "reply", "subject_id": local(reply["id"])}
        decide("content_hidden", 1, subject, subject["subject_id"])

        def replies_shown() -> int:
            node = gql(THREAD_NODE, {"id": thread["id"]}, token=admin["token"])["node"]
            return node["replyCount"]

        wait_for(lambda: replies_shown() == 0, "the hidden reply leaves the thread")
        assert gql(DISCUSSIONS, {"g": group}, token=admin["token"])["groupDiscussions"]["nodes"][0]["replies"] == {
            "totalCount": 0,
            "nodes": [],
        }
        decide("content_restored", 2, subject, subject["subject_id"])
        wait_for(lambda: replies_shown() == 1, "the restored reply comes back")

        until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        decide("member_suspended", 1, {"member_id": local(member["id"]), "until": until}, local(member["id"]))

        def suspended():
            result = gql(REPLY, {"t": thread["id"], "text": "encore"}, token=member["token"])["discussionReplyCreate"]
            return [(e["field"], e["code"]) for e in result["userErrors"]] == [(["input", "text"], "SUSPENDED")]

        wait_for(suspended, "the suspension reaches conversations")
        refused = send(gql, member["token"], recipientId=admin["id"], text="bonjour")
        assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["input", "text"], "SUSPENDED")]
    finally:
        publisher.close()


MOD_REPORT = """mutation($input: ContentReportInput!) { contentReport(input: $input) {
  report { id status subjectId } userErrors { field message code } } }"""
MOD_QUEUE = """query($group: ID) { moderationQueue(groupId: $group, first: 50) {
  totalCount nodes { id subjectId subjectType snapshot { text group { id } } } } }"""
MOD_ACT = """mutation($input: ModerationActInput!) { moderationAct(input: $input) {
  moderationAction { action } userErrors { field message code } } }"""


def test_a_reply_reported_in_a_private_group_is_hidden_by_its_admin(gql, sign_up):
    admin, author, reporter = sign_up("Admin"), sign_up("Author"), sign_up("Reporter")
    group = private_group(gql, admin, author, reporter)
    thread = start_thread(gql, admin["token"], group, title="Sortie au parc")

    def author_replies():
        result = gql(REPLY, {"t": thread["id"], "text": "propos blessants"}, token=author["token"])
        return None if result["discussionReplyCreate"]["userErrors"] else result["discussionReplyCreate"]["reply"]

    reply = wait_for(author_replies, "the membership's copy")
    # A member reports the reply (and a thread is reportable too: its global id is a DiscussionThread's).
    filed = gql(MOD_REPORT, {"input": {"subjectId": reply["id"], "reason": "HARASSMENT"}}, token=reporter["token"])
    assert filed["contentReport"]["userErrors"] == []
    assert filed["contentReport"]["report"]["subjectId"] == reply["id"]
    on_thread = gql(MOD_REPORT, {"input": {"subjectId": thread["id"], "reason": "SPAM"}}, token=reporter["token"])
    assert on_thread["contentReport"]["userErrors"] == []

    # The group's admin finds it in the group's queue, with the reply's text and group.
    def in_queue():
        nodes = gql(MOD_QUEUE, {"group": group}, token=admin["token"])["moderationQueue"]["nodes"]
        return [n for n in nodes if n["subjectId"] == reply["id"]]

    [item] = wait_for(in_queue, "the report in the group's queue")
    assert item["subjectType"] == "REPLY"
    assert item["snapshot"]["text"] == "propos blessants" and item["snapshot"]["group"]["id"] == group
    acted = gql(
        MOD_ACT, {"input": {"reportId": item["id"], "action": "HIDE", "reason": "Pas gentil"}}, token=admin["token"]
    )
    assert acted["moderationAct"]["userErrors"] == []

    # Gone from the thread for its members: the count and the replies.
    def gone() -> bool:
        node = gql(THREAD_NODE, {"id": thread["id"]}, token=reporter["token"])["node"]
        return node["replyCount"] == 0

    wait_for(gone, "the hidden reply leaves the thread")
    seen = gql(DISCUSSIONS, {"g": group}, token=reporter["token"])["groupDiscussions"]["nodes"][0]
    assert seen["replies"] == {"totalCount": 0, "nodes": []}

    # The reporter is told.
    wait_for(
        lambda: any(n["type"] == "REPORT_RESOLVED" for n in gql(INBOX, token=reporter["token"])["inbox"]["nodes"]),
        "the reporter told the outcome",
    )


def test_search_keeps_threads_and_replies_with_their_groups_visibility_never_messages(gql, stack, sign_up):
    admin, member = sign_up("Admin"), sign_up("Member")
    public = gql(PUBLIC_GROUP, token=admin["token"])["groupCreate"]["group"]["id"]
    shown = start_thread(gql, admin["token"], public, title="Troc de jouets dimanche")
    hidden_group = private_group(gql, admin, member)
    private = start_thread(gql, admin["token"], hidden_group, title="Entre nous seulement")
    reply = gql(REPLY, {"t": shown["id"], "text": "Je viens avec des puzzles"}, token=admin["token"])
    reply_id = local(reply["discussionReplyCreate"]["reply"]["id"])
    message = send(gql, member["token"], recipientId=admin["id"], text="un secret")["message"]
    index = f"{stack.env['ELASTICSEARCH_URL']}/{stack.env['SEARCH_INDEX_PREFIX']}discussions"

    def document(doc_id: str) -> dict | None:
        answer = httpx.get(f"{index}/_doc/{doc_id}", timeout=10)
        return answer.json().get("_source") if answer.status_code == 200 else None

    # Each document is waited for on its own: that the indexer writes in the queue's order is
    # how it works today (one consumer, one bulk in flight), not what its README promises.
    assert wait_for(lambda: document(reply_id), "the reply indexed")["text"] == "Je viens avec des puzzles"
    assert wait_for(lambda: document(local(shown["id"])), "the public thread indexed")["title"] == (
        "Troc de jouets dimanche"
    )
    # Kept for the group's members (discussionSearch shows it to them only: test_discussion_search_end_to_end).
    kept = wait_for(lambda: document(local(private["id"])), "the private thread indexed")
    assert (kept["visibility"], kept["hidden"], kept["title"]) == ("private", False, "Entre nous seulement")
    assert document(local(shown["id"]))["visibility"] == "public"
    assert document(local(message["id"])) is None
    found = httpx.post(f"{index}/_search", json={"query": {"match": {"all_text": "secret"}}}, timeout=10).json()
    assert found["hits"]["total"]["value"] == 0

    publisher = EventPublisher(stack.env["AMQP_URI"])
    publisher.connect()
    try:
        subject = {"subject_type": "reply", "subject_id": reply_id, "action_id": "action-remove-1"}
        publisher.publish(Event("content_removed", "moderation", reply_id, 1, "paris", subject))
    finally:
        publisher.close()
    wait_for(lambda: (document(reply_id) or {}).get("hidden") is True, "the removed reply leaves search")
    assert "text" not in document(reply_id)


def test_replies_and_messages_arrive_live(gql, stack, sign_up):
    admin, member, stranger = sign_up("Admin"), sign_up("Member"), sign_up("Stranger")
    group = private_group(gql, admin, member)
    thread = start_thread(gql, admin["token"], group, title="Covoiturage piscine")
    wait_for(
        lambda: gql(REPLY, {"t": thread["id"], "text": "ok"}, token=member["token"])["discussionReplyCreate"]["reply"],
        "the membership's copy",
    )
    replies = "subscription($t: ID!) { discussionReplyAdded(threadId: $t) { text author { id } } }"
    messages = "subscription { messageReceived { text fromViewer sender { id } } }"
    with (
        Subscriber(
            ws_url(stack), replies, {"t": thread["id"]}, token=admin["token"], local_address="127.0.0.4"
        ) as live,
        Subscriber(ws_url(stack), messages, token=admin["token"], local_address="127.0.0.5") as inbox,
    ):
        gql(REPLY, {"t": thread["id"], "text": "Je conduis jeudi"}, token=member["token"])
        # The gateway may still be handing out the "ok" reply's event as the subscription starts.
        wanted = "Je conduis jeudi"
        reply = live.first(
            lambda m: m["type"] == "next" and m["payload"]["data"]["discussionReplyAdded"]["text"] == wanted,
            "the reply pushed live",
        )
        send(gql, stranger["token"], recipientId=admin["id"], text="Bonjour !")
        (message,) = inbox.wait(1)
    assert reply["payload"]["data"]["discussionReplyAdded"] == {
        "text": "Je conduis jeudi",
        "author": {"id": member["id"]},
    }
    assert message["payload"]["data"]["messageReceived"] == {
        "text": "Bonjour !",
        "fromViewer": False,
        "sender": {"id": stranger["id"]},
    }
    # An outsider cannot listen to a private group's thread.
    with Subscriber(ws_url(stack), replies, {"t": thread["id"]}, token=stranger["token"]) as outsider:
        error = outsider.wait(1)[0]
    assert error["type"] == "error"


def test_a_conversation_about_an_outing_shows_it_and_can_be_left(gql, sign_up):
    organizer, parent = sign_up("Organizer"), sign_up("Parent")
    create = """mutation { outingCreate(input: {title: "Goûter au Champ-de-Mars", category: PARK, city: "paris",
      startsAt: "2030-06-01T16:00", endsAt: "2030-06-01T18:00", venueName: "Champ-de-Mars",
      location: {lat: 48.8556, lon: 2.2986}, capacity: 10}) { outing { id } userErrors { code } } }"""
    outing = gql(create, token=organizer["token"])["outingCreate"]["outing"]["id"]
    sent = send(gql, parent["token"], recipientId=organizer["id"], aboutId=outing, text="On peut venir à 3 ?")
    assert sent["userErrors"] == []
    about = """{ messageRequests(first: 5) { nodes { id about { __typename ... on Outing { title } } } } }"""
    (request,) = gql(about, token=organizer["token"])["messageRequests"]["nodes"]
    assert request["about"] == {"__typename": "Outing", "title": "Goûter au Champ-de-Mars"}
    # On its own, the same two members have another conversation.
    alone = send(gql, parent["token"], recipientId=organizer["id"], text="Autre chose")
    assert alone["conversation"]["id"] != sent["conversation"]["id"]

    leave = (
        """mutation($c: ID!) { conversationUpdate(input: {conversationId: $c, left: true}) { userErrors { code } } }"""
    )
    assert (
        gql(leave, {"c": sent["conversation"]["id"]}, token=parent["token"])["conversationUpdate"]["userErrors"] == []
    )
    listed = [c["id"] for c in gql(CONVERSATIONS, token=parent["token"])["conversations"]["nodes"]]
    assert sent["conversation"]["id"] not in listed and alone["conversation"]["id"] in listed
    accept = "mutation($c: ID!) { messageRequestAccept(input: {conversationId: $c}) { userErrors { code } } }"
    assert gql(accept, {"c": request["id"]}, token=organizer["token"])["messageRequestAccept"]["userErrors"] == []
    send(gql, organizer["token"], conversationId=request["id"], text="Oui, bien sûr")
    listed = [c["id"] for c in gql(CONVERSATIONS, token=parent["token"])["conversations"]["nodes"]]
    assert sent["conversation"]["id"] in listed  # a new message brings it back
