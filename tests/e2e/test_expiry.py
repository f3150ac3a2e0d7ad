"""What expires, seen from a client (issue 17, a review from outside): a member's notifications
past INBOX_RETENTION_DAYS and sessions past their last refresh token's lifetime.

Time travel, as the sweeps work by UTC day: the store's day markers are moved to yesterday (and,
for sessions, the session's ``expires_at`` backdated), then the sweep is run once from here on the
stack's own database (``Inbox.expire``, ``Sessions.expire``), as the services' 60 s timers would."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from conftest import post
from pymongo import MongoClient
from support.subscriptions import Subscriber, ws_url
from test_outing_end_to_end import CREATE, proposal

from parentnet_kit.expiry import markers_database
from parentnet_kit.inbox import Inbox
from parentnet_kit.outbox import AggregateStore
from parentnet_kit.testing import wait_for

JOIN = "mutation($id: ID!) { outingJoin(input: {outingId: $id}) { place { status } userErrors { code } } }"
CANCEL = "mutation($id: ID!) { outingCancel(input: {outingId: $id}) { outing { status } userErrors { code } } }"
PAGE = """query($first: Int, $after: String) { inbox(first: $first, after: $after) {
  totalCount unreadCount edges { cursor node { id kind read } } pageInfo { endCursor hasNextPage } } }"""
MARK = """mutation($ids: [ID!]!) { notificationsMarkRead(input: {ids: $ids}) {
  marked userErrors { code } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
LOGIN = """mutation($email: String!, $password: String!) { memberLogin(input: {email: $email, password: $password}) {
  accessToken refreshToken userErrors { code } } }"""
REFRESH = """mutation($t: String!) { memberTokenRefresh(input: {refreshToken: $t}) {
  accessToken refreshToken userErrors { code } } }"""
LOGOUT = """mutation($all: Boolean) { memberLogout(input: {everywhere: $all}) { sessionsEnded userErrors { code } } }"""
VIEWER = "{ viewer { id } }"


def _day(moment: datetime) -> str:
    return moment.strftime("%Y%m%d")


def _move_day(db, prefix: str, to_day: str, which: dict) -> int:
    """The markers matching ``which`` in ``<prefix>_<day>`` collections move into
    ``<prefix>_<to_day>`` (only this test's: other tests of the session keep theirs), in the database
    of ``db``'s expiry markers; returns how many."""
    db = markers_database(db)
    moved = 0
    for name in db.list_collection_names():
        if name.startswith(prefix + "_") and name != f"{prefix}_{to_day}":
            docs = list(db[name].find(which))
            if docs:
                db[f"{prefix}_{to_day}"].insert_many(docs)
                db[name].delete_many({"_id": {"$in": [d["_id"] for d in docs]}})
            moved += len(docs)
    return moved


def _internal_id(global_id: str) -> str:
    return base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode().split(":")[-1]


def _all_pages(gql, token: str, first: int) -> list[dict]:
    pages, after = [], None
    while True:
        page = gql(PAGE, {"first": first, "after": after}, token=token)["inbox"]
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]


def _cancelled_outing(gql, member) -> None:
    outing = gql(CREATE, {"input": proposal("Goûter au parc", 48.8462, 2.3371)})["outingCreate"]["outing"]["id"]
    assert gql(JOIN, {"id": outing}, token=member["token"])["outingJoin"]["userErrors"] == []
    assert gql(CANCEL, {"id": outing})["outingCancel"]["userErrors"] == []


def _total(gql, member) -> int:
    return gql(PAGE, {"first": 1}, token=member["token"])["inbox"]["totalCount"]


def test_expired_notifications_leave_every_page_and_count(gql, sign_up, stack):
    member = sign_up("Inbox reader")
    db = MongoClient(stack.env["MONGO_URI"], tz_aware=True)[stack.env["EVENTS_DB"]]
    yesterday = _day(datetime.now(UTC) - timedelta(days=1))

    for _ in range(4):  # the older half
        _cancelled_outing(gql, member)
    wait_for(lambda: _total(gql, member) == 4, timeout=15, what="4 notifications")
    # Time travel: these four are 180 days old (their markers fall due yesterday).
    assert _move_day(db, "inbox_expiring", yesterday, {"recipient_id": _internal_id(member["id"])}) == 4
    for _ in range(4):  # the newer half
        _cancelled_outing(gql, member)
    wait_for(lambda: _total(gql, member) == 8, timeout=15, what="8 notifications")

    before = _all_pages(gql, member["token"], 3)
    items = [e for page in before for e in page["edges"]]
    assert [len(p["edges"]) for p in before] == [3, 3, 2]
    assert all(p["totalCount"] == 8 and p["unreadCount"] == 8 for p in before)
    newer, older = items[:4], items[4:]
    marked = gql(
        MARK, {"ids": [newer[1]["node"]["id"], older[0]["node"]["id"], older[2]["node"]["id"]]}, member["token"]
    )
    assert marked["notificationsMarkRead"]["marked"] == 3
    cursors = [p["pageInfo"]["endCursor"] for p in before]

    # The sweep, as the events service's timer runs it (which may also get there first, when its
    # first look of the day comes after the move: either way the four go).
    Inbox(AggregateStore(db, "inbox", None, outbox="inbox_outbox"), "events").expire()

    after = _all_pages(gql, member["token"], 3)
    seen = [e["node"]["id"] for page in after for e in page["edges"]]
    assert seen == [e["node"]["id"] for e in newer]
    for page in after:
        assert page["totalCount"] == 4
        assert page["unreadCount"] == 3 == sum(not e["node"]["read"] for p in after for e in p["edges"])
    # Cursors taken before the expiry still work: the rest of the newer half, then nothing.
    rest = gql(PAGE, {"first": 3, "after": cursors[0]}, token=member["token"])["inbox"]
    assert [e["node"]["id"] for e in rest["edges"]] == [newer[3]["node"]["id"]]
    assert rest["pageInfo"]["hasNextPage"] is False
    for cursor in cursors[1:]:
        page = gql(PAGE, {"first": 3, "after": cursor}, token=member["token"])["inbox"]
        assert page["edges"] == [] and page["pageInfo"]["hasNextPage"] is False
        assert (page["totalCount"], page["unreadCount"]) == (4, 3)
    # An expired notification is gone by id too, and marking it read changes nothing.
    assert gql(NODE, {"id": older[1]["node"]["id"]}, token=member["token"])["node"] is None
    assert gql(MARK, {"ids": [older[1]["node"]["id"]]}, member["token"])["notificationsMarkRead"]["marked"] == 0

    # New notifications still arrive (pushed too) and count.
    query = "subscription { notificationReceived { id kind } }"
    with Subscriber(ws_url(stack), query, token=member["token"]) as listener:
        _cancelled_outing(gql, member)
        (message,) = listener.wait(1)
    pushed = message["payload"]["data"]["notificationReceived"]
    assert pushed["kind"] == "outing_cancelled"
    wait_for(lambda: _total(gql, member) == 5, timeout=15, what="a new notification after the expiry")
    first = gql(PAGE, {"first": 10}, token=member["token"])["inbox"]
    assert first["unreadCount"] == 4 and len(first["edges"]) == 5
    assert first["edges"][0]["node"]["id"] == pushed["id"]
    assert [e["node"]["id"] for e in first["edges"][1:]] == [e["node"]["id"] for e in newer]
    # A second sweep finds nothing more and changes nothing.
    Inbox(AggregateStore(db, "inbox", None, outbox="inbox_outbox"), "events").expire()
    assert gql(PAGE, {"first": 10}, token=member["token"])["inbox"]["totalCount"] == 5


def test_a_session_past_its_refresh_lifetime_is_gone_a_refreshed_one_stays(http, sign_up, stack):
    from members.security import Sessions  # the members service's, on this tree's path

    member = sign_up("Two phones")
    db = MongoClient(stack.env["MONGO_URI"], tz_aware=True)[stack.env["MEMBERS_DB"]]
    login = post(http, LOGIN, {"email": member["email"], "password": "a long test password"}).json()
    second = login["data"]["memberLogin"]
    assert second["userErrors"] == [], login
    now = datetime.now(UTC)
    # Time travel: both sessions' last refresh tokens expired yesterday (documents and markers).
    sessions = list(db["sessions"].find({"_id": {"$in": _sessions_of(db, member)}}))
    assert len(sessions) == 2
    for session in sessions:
        db["sessions"].update_one({"_id": session["_id"]}, {"$set": {"expires_at": now - timedelta(days=1)}})
    mine = [s["_id"] for s in sessions]
    assert _move_day(db, "sessions_expiring", _day(now - timedelta(days=1)), {"_id": {"$in": mine}}) == 2
    # ...but the second phone refreshed just before (its token was still good).
    refreshed = post(http, REFRESH, {"t": second["refreshToken"]}).json()["data"]["memberTokenRefresh"]
    assert refreshed["userErrors"] == [], refreshed

    Sessions(db, timedelta(days=30)).expire(now)

    left = {s["_id"] for s in db["sessions"].find({"_id": {"$in": _sessions_of(db, member)}})}
    assert len(left) == 1
    gone = post(http, REFRESH, {"t": member["refresh"]}).json()["data"]["memberTokenRefresh"]
    assert [e["code"] for e in gone["userErrors"]] == ["INVALID_REFRESH_TOKEN"]
    again = post(http, REFRESH, {"t": refreshed["refreshToken"]}).json()["data"]["memberTokenRefresh"]
    assert again["userErrors"] == []

    # Sign out everywhere still works with a gone session in the member's list.
    out = post(http, LOGOUT, {"all": True}, again["accessToken"]).json()["data"]["memberLogout"]
    assert out["userErrors"] == [] and out["sessionsEnded"] == 1  # the gone one is not counted
    after = post(http, REFRESH, {"t": again["refreshToken"]}).json()["data"]["memberTokenRefresh"]
    assert [e["code"] for e in after["userErrors"]] == ["INVALID_REFRESH_TOKEN"]
    assert "errors" in post(http, VIEWER, None, again["accessToken"]).json() or (
        post(http, VIEWER, None, again["accessToken"]).json()["data"]["viewer"] is None
    )


def _sessions_of(db, member) -> list[str]:
    """The member's session ids, from its list of sessions (``member_session_ids``)."""
    member_id = _internal_id(member["id"])
    return [
        e["session_id"]
        for e in db["member_session_ids"].find({"_id": {"$regex": f"^{member_id}:"}})
        if "session_id" in e
    ]
