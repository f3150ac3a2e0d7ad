"""The conversations and moderation services speak each parent's language, through the real
processes (issue 19): a notice in the recipient's profile language, a userError in the app's
Accept-Language, the user's own text (a group's name, a thread's title) as it was written."""

from __future__ import annotations

import base64

from support.graphql import post
from test_conversations_end_to_end import (
    INBOX,
    PUBLIC_GROUP,
    REPLY,
    private_group,
    send,
    start_thread,
    wait_for,
)
from test_languages_end_to_end import speaks

FRENCH = {"Accept-Language": "fr-FR, en;q=0.8"}
REPORT = """mutation($input: ContentReportInput!) {
  contentReport(input: $input) { report { id } userErrors { field message code } } }"""


def notices(gql, member: dict, kind: str) -> list[str]:
    """The messages of the member's notices of ``kind``, once there is one (the inbox fills by events)."""

    def found() -> list[str]:
        return [n["message"] for n in gql(INBOX, token=member["token"])["inbox"]["nodes"] if n["type"] == kind]

    return wait_for(found, f"a {kind} notice in the member's inbox")


def errors_of(body: dict, mutation: str) -> list[tuple[list[str], str, str]]:
    assert "errors" not in body, body
    return [(e["field"], e["message"], e["code"]) for e in body["data"][mutation]["userErrors"]]


def test_a_chinese_speaking_parent_reads_the_announcement_and_the_message_request_in_chinese(gql, sign_up):
    admin, mei, stranger = sign_up("Admin"), sign_up("Mei"), sign_up("Stranger")
    speaks(gql, mei, "zh-CN")
    group = private_group(gql, admin, mei)  # "Parents solos du 18e"
    start_thread(gql, admin["token"], group, title="Fête de quartier samedi", kind="ANNOUNCEMENT")
    # The sentence in Chinese; the group's name and the title as their authors wrote them.
    assert notices(gql, mei, "GROUP_ANNOUNCEMENT") == ["Parents solos du 18e 的公告：Fête de quartier samedi"]

    assert send(gql, stranger["token"], recipientId=mei["id"], text="你好，婴儿车还在吗？")["userErrors"] == []
    assert notices(gql, mei, "MESSAGE_REQUEST") == ["新的消息请求。"]
    # Her reply reaches the stranger, who reads English, in English.
    speaks(gql, stranger, "en-GB")
    (request,) = gql("{ messageRequests(first: 5) { nodes { id } } }", token=mei["token"])["messageRequests"]["nodes"]
    accept = "mutation($c: ID!) { messageRequestAccept(input: {conversationId: $c}) { userErrors { code } } }"
    assert gql(accept, {"c": request["id"]}, token=mei["token"])["messageRequestAccept"]["userErrors"] == []
    assert send(gql, mei["token"], conversationId=request["id"], text="还在")["userErrors"] == []
    assert notices(gql, stranger, "MESSAGE_RECEIVED") == ["New message."]


def test_a_french_app_gets_french_user_errors_from_conversations(http, gql, sign_up):
    admin, member, outsider = sign_up("Admin"), sign_up("Member"), sign_up("Outsider")
    group = private_group(gql, admin, member)
    thread = start_thread(gql, admin["token"], group, title="Garde partagée le mercredi ?")

    def reply(who: dict, thread_id: str, text: str, headers: dict[str, str] | None = FRENCH) -> list:
        variables = {"t": thread_id, "text": text}
        return errors_of(post(http, REPLY, variables, who["token"], headers).json(), "discussionReplyCreate")

    # An empty reply: the service refuses it, the gateway writes it in the app's language.
    assert reply(member, thread["id"], "   ") == [(["input", "text"], "text ne doit pas être vide", "REQUIRED")]
    assert reply(member, thread["id"], "   ", None) == [(["input", "text"], "text must not be empty", "REQUIRED")]
    # A thread the caller may not see: the gateway's own userError.
    expected = [(["input", "threadId"], "Cette discussion n’existe pas.", "NOT_FOUND")]
    assert reply(outsider, thread["id"], "Bonjour") == expected

    # A public group's thread an outsider reads but may not reply to until they join.
    public = gql(PUBLIC_GROUP, token=admin["token"])["groupCreate"]["group"]["id"]
    open_thread = start_thread(gql, admin["token"], public, title="Sortie au parc")
    expected = [(["input", "threadId"], "Rejoignez le groupe pour répondre.", "NOT_MEMBER")]
    assert reply(outsider, open_thread["id"], "Moi aussi") == expected


def test_a_french_app_gets_french_user_errors_from_moderation(http, sign_up):
    reporter = sign_up("Reporter")

    def report(subject_id: str, headers: dict[str, str] | None = FRENCH) -> list:
        variables = {"input": {"subjectId": subject_id, "reason": "SPAM"}}
        return errors_of(post(http, REPORT, variables, reporter["token"], headers).json(), "contentReport")

    # Oneself: the moderation service refuses it.
    expected = [
        (["input", "subjectId"], "Vous ne pouvez pas vous signaler vous-même ni ce que vous avez écrit.", "FORBIDDEN")
    ]
    assert report(reporter["id"]) == expected
    english = "You cannot report yourself or what you wrote."
    assert report(reporter["id"], {"Accept-Language": "de"}) == [(["input", "subjectId"], english, "FORBIDDEN")]
    # Something that cannot be reported: the gateway refuses it.
    nothing = base64.urlsafe_b64encode(b"Weather:today").decode().rstrip("=")
    assert report(nothing) == [(["input", "subjectId"], "Ceci ne peut pas être signalé.", "INVALID")]
