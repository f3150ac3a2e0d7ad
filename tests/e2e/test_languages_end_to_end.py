"""Each parent reads what the server writes in their language, through the real processes:
notifications in the recipient's (profile languages, then Accept-Language), userErrors in the
caller's (Accept-Language, then profile), user text as it was written."""

from __future__ import annotations

import time

from support.graphql import post
from support.subscriptions import DEADLINE, Subscriber, ws_url
from test_attendance_end_to_end import JOIN
from test_outing_end_to_end import CREATE, proposal

LANGUAGES = """mutation($languages: [String!]) {
  memberUpdateProfile(input: {languages: $languages}) { member { languages } userErrors { field code } }
}"""
INBOX = "{ inbox(first: 10) { nodes { type message } } }"
CANCEL = "mutation($id: ID!) { outingCancel(input: {outingId: $id}) { userErrors { code } } }"


def speaks(gql, member: dict, *languages: str) -> None:
    result = gql(LANGUAGES, {"languages": list(languages)}, token=member["token"])["memberUpdateProfile"]
    assert result["userErrors"] == [] and result["member"]["languages"] == list(languages)


def inbox_of(http, member: dict, headers: dict[str, str] | None = None, wanted: str = "OUTING_CANCELLED") -> list:
    """The member's notices of type ``wanted``, waited for with a deadline (the inbox fills by events)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        body = post(http, INBOX, token=member["token"], headers=headers).json()
        assert "errors" not in body, body
        found = [n["message"] for n in body["data"]["inbox"]["nodes"] if n["type"] == wanted]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_a_parent_whose_language_is_zh_reads_the_cancellation_in_chinese(stack, http, gql, sign_up):
    made = gql(CREATE, {"input": proposal("Pique-nique au parc", 48.8566, 2.3522)})["outingCreate"]["outing"]
    member = sign_up("Mei")
    speaks(gql, member, "zh-CN")
    gql(JOIN, {"id": made["id"]}, token=member["token"])
    query = "subscription { notificationReceived { type message } }"
    with Subscriber(ws_url(stack), query, token=member["token"]) as listener:
        assert gql(CANCEL, {"id": made["id"]})["outingCancel"]["userErrors"] == []
        (pushed,) = listener.wait(1)
    assert pushed["payload"]["data"]["notificationReceived"] == {
        "type": "OUTING_CANCELLED",
        "message": "“Pique-nique au parc”已取消。",
    }
    # The profile comes before the app's Accept-Language: she chose to read Chinese.
    assert inbox_of(http, member, {"Accept-Language": "fr"}) == ["“Pique-nique au parc”已取消。"]


def test_a_member_speaking_no_network_language_reads_the_apps_then_english(stack, http, gql, sign_up):
    made = gql(CREATE, {"input": proposal("Goûter", 48.85, 2.35)})["outingCreate"]["outing"]
    member = sign_up("Klaus")
    speaks(gql, member, "de")
    gql(JOIN, {"id": made["id"]}, token=member["token"])
    assert gql(CANCEL, {"id": made["id"]})["outingCancel"]["userErrors"] == []
    assert inbox_of(http, member, {"Accept-Language": "vi, en;q=0.5"}) == ["“Goûter” đã bị hủy."]
    assert inbox_of(http, member) == ["“Goûter” was cancelled."]


def test_a_french_app_gets_french_user_errors(stack, http, organizer):
    wrong = proposal("Trop tôt", 48.85, 2.35, startsAt="2020-01-01T10:00", endsAt="2020-01-01T09:00")
    body = post(http, CREATE, {"input": wrong}, organizer["token"], {"Accept-Language": "fr-FR, en;q=0.8"}).json()
    errors = {tuple(e["field"]): (e["message"], e["code"]) for e in body["data"]["outingCreate"]["userErrors"]}
    assert errors[("input", "startsAt")] == ("startsAt ne doit pas être dans le passé", "IN_THE_PAST")
    assert errors[("input", "endsAt")] == ("endsAt doit être après startsAt", "ENDS_BEFORE_START")
    # An app asking for nothing, or for no language of the network, gets English as before
    # (userErrors show inside the app, in the app's language, whatever the profile says).
    for headers in (None, {"Accept-Language": "de-DE"}, {"Accept-Language": "en-GB"}):
        body = post(http, CREATE, {"input": wrong}, organizer["token"], headers).json()
        messages = {e["message"] for e in body["data"]["outingCreate"]["userErrors"]}
        assert messages == {"startsAt must not be in the past", "endsAt must be after startsAt"}


def test_user_errors_of_a_service_and_of_the_gateway_are_both_translated(stack, http, gql, sign_up):
    member = sign_up("Minh")
    gone = gql(CREATE, {"input": proposal("Annulée", 48.85, 2.35)})["outingCreate"]["outing"]
    assert gql(CANCEL, {"id": gone["id"]})["outingCancel"]["userErrors"] == []
    body = post(http, JOIN, {"id": gone["id"]}, member["token"], {"Accept-Language": "vi-VN"}).json()
    errors = body["data"]["outingJoin"]["userErrors"]
    assert [(e["message"], e["code"]) for e in errors] == [("Buổi đi chơi này đã bị hủy.", "CANCELLED")]
    body = post(http, JOIN, {"id": "T3V0aW5nOm5vbmU="}, member["token"], {"Accept-Language": "bn"}).json()
    errors = body["data"]["outingJoin"]["userErrors"]
    assert [(e["message"], e["code"]) for e in errors] == [("এমন কোনো আউটিং নেই।", "NOT_FOUND")]


def test_arabic_text_comes_back_byte_for_byte(stack, http, gql, sign_up):
    title = "نزهة في حديقة الأطفال ١٢"
    made = gql(CREATE, {"input": proposal(title, 48.86, 2.34, description="تعالوا مع الأطفال!")})
    outing = made["outingCreate"]["outing"]
    assert outing["title"].encode() == title.encode()
    read = post(
        http,
        "query($id: ID!) { node(id: $id) { ... on Outing { title } } }",
        {"id": outing["id"]},
        None,
        {"Accept-Language": "ar"},
    ).json()
    assert read["data"]["node"]["title"].encode() == title.encode()
    # In a notice written in Arabic for an Arabic reader, the title goes in as written.
    member = sign_up("Layla")
    speaks(gql, member, "ar")
    gql(JOIN, {"id": outing["id"]}, token=member["token"])
    assert gql(CANCEL, {"id": outing["id"]})["outingCancel"]["userErrors"] == []
    (notice,) = inbox_of(http, member)
    assert notice == f"أُلغيت «{title}»."
    assert notice.encode() == "أُلغيت «".encode() + title.encode() + "».".encode()
