"""The store against the real MongoDB-protocol server (no broker: events stay in the outbox)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from conversations.limits import Limits
from conversations.store import ConversationStore

from parentnet_kit.envelope import Event


def members_event(type_: str, aggregate: str, version: int, **data) -> Event:
    return Event(type_, "members", aggregate, version, "paris", data)


def group_with(store: ConversationStore, group: str, visibility: str, **roles: str) -> None:
    store.copies.apply_members(
        members_event("group_created", group, 1, id=group, city="paris", visibility=visibility, name="Parents")
    )
    for member, role in roles.items():
        store.copies.apply_members(
            members_event(
                "group_membership_changed",
                f"gm:{group}:{member}",
                1,
                group_id=group,
                member_id=member,
                role=role,
                status="active",
            )
        )


def test_copies_apply_each_version_at_most_once_and_never_go_back(db):
    store = ConversationStore(db, None)
    group_with(store, "g", "private", ann="admin")
    left = members_event(
        "group_membership_changed", "gm:g:ann", 2, group_id="g", member_id="ann", role="admin", status="left"
    )
    store.copies.apply_members(left)
    store.copies.apply_members(left)
    store.copies.apply_members(
        members_event(
            "group_membership_changed", "gm:g:ann", 1, group_id="g", member_id="ann", role="admin", status="active"
        )
    )
    assert store.copies.role("g", "ann") is None
    assert [e["member_id"] for e in store.copies.group_members.all("g")] == ["ann"]


def test_fifty_racing_replies_are_all_kept_once_in_order(db):
    store = ConversationStore(db, None, Limits(posts_per_hour=1_000))
    group_with(store, "g", "public", ann="admin", **{f"m{i}": "member" for i in range(50)})
    thread = store.create_thread("g", "ann", {"title": "Sortie au zoo"}, "t1")["thread"]

    def reply(i: int) -> dict:
        return store.reply(thread["id"], f"m{i}", {"text": f"reply {i}"}, f"r{i}")

    with ThreadPoolExecutor(25) as pool:
        results = list(pool.map(reply, range(50)))
    assert all(r["errors"] == [] for r in results)
    # The same request delivered again makes nothing twice.
    assert store.reply(thread["id"], "m0", {"text": "reply 0"}, "r0")["reply"]["id"] == "r0"
    page = store.replies_page("t1", "ann", 100, None)
    assert page["total"] == 50 and [r["n"] for r in page["items"]] == list(range(1, 51))
    assert sorted(r["text"] for r in page["items"]) == sorted(f"reply {i}" for i in range(50))


def test_a_private_groups_threads_are_nothing_to_outsiders(db):
    store = ConversationStore(db, None)
    group_with(store, "g", "private", ann="admin", bob="member")
    store.create_thread("g", "ann", {"title": "Entre nous"}, "t1")
    assert store.group_threads_page("g", "bob", 10, None)["total"] == 1
    assert store.group_threads_page("g", "eve", 10, None) is None
    assert store.get_threads(["t1"], "eve") == [None]
    assert store.replies_page("t1", "eve", 10, None) is None
    assert store.reply("t1", "eve", {"text": "hi"}, "r1")["errors"][0]["code"] == "NOT_FOUND"


def test_suspended_members_cannot_post_until_the_time_given(db):
    store = ConversationStore(db, None)
    group_with(store, "g", "public", ann="admin", bob="member")
    store.create_thread("g", "ann", {"title": "Pique-nique"}, "t1")
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    store.apply_moderation(
        Event("member_suspended", "moderation", "bob", 1, None, {"member_id": "bob", "until": until})
    )
    refused = store.reply("t1", "bob", {"text": "hello"}, "r1")
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [(["text"], "SUSPENDED")]
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    store.apply_moderation(Event("member_suspended", "moderation", "bob", 2, None, {"member_id": "bob", "until": past}))
    assert store.reply("t1", "bob", {"text": "hello"}, "r1")["errors"] == []


def test_a_suspension_lifted_early_lets_the_member_post_again_and_a_late_copy_changes_nothing(db):
    store = ConversationStore(db, None)
    group_with(store, "g", "public", ann="admin", bob="member")
    store.create_thread("g", "ann", {"title": "Goûter"}, "t1")
    until = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    suspended = Event("member_suspended", "moderation", "bob", 1, None, {"member_id": "bob", "until": until})
    store.apply_moderation(suspended)
    assert store.reply("t1", "bob", {"text": "hello"}, "r1")["errors"][0]["code"] == "SUSPENDED"
    store.apply_moderation(Event("member_unsuspended", "moderation", "bob", 2, None, {"member_id": "bob"}))
    store.apply_moderation(suspended)  # redelivered late: older than the lifting
    assert store.reply("t1", "bob", {"text": "hello"}, "r1")["errors"] == []


def test_a_held_members_requests_wait_until_released(db):
    store = ConversationStore(db, None)
    store.apply_moderation(Event("member_held", "moderation", "eve", 1, None, {"member_id": "eve"}))
    sent = store.send_message("eve", {"recipient_id": "bob", "text": "hello"}, "msg1", False)
    assert sent["errors"] == [] and sent["conversation"]["status"] == "request"
    assert store.conversations_of("bob", True, 10, None)["total"] == 0
    store.apply_moderation(Event("member_released", "moderation", "eve", 2, None, {"member_id": "eve"}))
    requests = store.conversations_of("bob", True, 10, None)
    assert requests["total"] == 1 and requests["items"][0]["unread_count"] == 1


def test_a_snapshot_of_a_message_is_for_its_two_members_only(db):
    store = ConversationStore(db, None)
    store.send_message("ann", {"recipient_id": "bob", "text": "le rendez-vous"}, "msg1", False)
    assert store.snapshot("message", "msg1", "bob")["text"] == "le rendez-vous"
    assert store.snapshot("message", "msg1", "moderator") is None


def test_message_requests_are_counted_per_hour(db):
    store = ConversationStore(db, None, Limits(requests_per_hour=2))
    codes = [
        [
            e["code"]
            for e in store.send_message("eve", {"recipient_id": f"m{i}", "text": "hi"}, f"x{i}", False)["errors"]
        ]
        for i in range(3)
    ]
    assert codes == [[], [], ["RATE_LIMITED"]]


def test_a_blocked_member_sees_the_blockers_question_and_their_answer_reaches_only_others(db):
    store = ConversationStore(db, None)
    cell = {"lat": 48.85, "lon": 2.35}
    asked = store.ask("ann", {"text": "Un pédiatre près d'ici ?", "scope": "city"}, "paris", cell, "q1")
    assert asked["errors"] == []
    store.copies.apply_members(
        members_event("member_blocked", "block:ann:eve", 1, blocker_id="ann", blocked_id="eve", active=True)
    )
    # Eve, blocked by Ann, sees the question as before, and answering it "succeeds".
    assert store.get_questions(["q1"], "eve", "paris", cell)[0]["answer_count"] == 0
    assert [q["id"] for q in store.questions_nearby("eve", "paris", cell, 10, None)["items"]] == ["q1"]
    answered = store.answer("q1", "eve", {"text": "Le Dr Martin"}, "a1", "paris", cell)
    assert answered["errors"] == [] and answered["answer"]["text"] == "Le Dr Martin"
    store.answer("q1", "bob", {"text": "Le Dr Durand"}, "a2", "paris", cell)
    # Eve and Bob see both answers; Ann sees Bob's only, and is told of Bob's only.
    for viewer in ("eve", "bob"):
        page = store.answers_page("q1", viewer, "paris", cell, 10, None)
        assert (page["total"], [a["id"] for a in page["items"]]) == (2, ["a1", "a2"])
        assert store.get_questions(["q1"], viewer, "paris", cell)[0]["answer_count"] == 2
    page = store.answers_page("q1", "ann", "paris", cell, 10, None)
    assert (page["total"], [a["id"] for a in page["items"]]) == (1, ["a2"])
    assert store.get_questions(["q1"], "ann", "paris", cell)[0]["answer_count"] == 1
    assert store.get_answers(["a1", "a2"], "ann", "paris", cell)[0] is None
    assert db["inbox"].count_documents({}) == 1  # Bob's answer only
    # Ann's own block hides Eve's questions from Ann (her choice).
    store.ask("eve", {"text": "Une nounou ?", "scope": "city"}, "paris", cell, "q2")
    assert store.get_questions(["q2"], "ann", "paris", cell) == [None]


def test_a_request_holds_a_few_messages_until_accepted_and_messages_are_limited_per_hour(db):
    store = ConversationStore(db, None, Limits(messages_per_hour=6, messages_per_request=3))
    first = store.send_message("eve", {"recipient_id": "bob", "text": "bonjour"}, "m0", False)
    conversation = first["conversation"]["id"]

    def codes(tries: int, tag: str) -> list[list[str]]:
        sent = [
            store.send_message("eve", {"conversation_id": conversation, "text": "?"}, f"{tag}{i}", False)
            for i in range(tries)
        ]
        return [[e["code"] for e in result["errors"]] for result in sent]

    assert codes(3, "a") == [[], [], ["RATE_LIMITED"]]  # three in the request, then wait for a reply
    assert store.conversations_of("bob", True, 10, None)["items"][0]["unread_count"] == 3
    assert store.decide_request(conversation, "bob", True)["errors"] == []
    assert codes(2, "b") == [[], []]  # accepted: the request's cap is gone
    assert codes(1, "c") == [["RATE_LIMITED"]]  # the seventh attempt in the hour


def test_an_announcement_answers_at_once_and_reaches_each_of_hundreds_of_members_exactly_once(db):
    store = ConversationStore(db, None)
    members = {f"m{i:03}": "member" for i in range(450)}
    group_with(store, "g", "public", ann="admin", **members)
    store.copies.apply_members(  # one who left before the announcement is not told
        members_event(
            "group_membership_changed", "gm:g:m000", 2, group_id="g", member_id="m000", role="member", status="left"
        )
    )
    posted = store.create_thread("g", "ann", {"title": "Fête de quartier samedi", "kind": "announcement"}, "t1")
    assert posted["errors"] == []
    # The request told nobody itself: the job is waiting for the timer.
    assert store.inbox.page("m001", 10)["items"] == [] and store.announcements.pending() == 1
    # A process that dies after its first page: the lease runs out and the job goes on from there.
    job = db["announcement_fanout"].find_one({"_id": "t1"})
    store.announcements._tell(job, store.copies.group_members.range("g", 1, 50))
    # Several processes at once, and the same job again: nobody is told twice.
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: store.announcements.run(), range(4)))
    store.announcements.run()
    assert store.announcements.pending() == 0
    for member in members:
        items = store.inbox.page(member, 10)["items"]
        expected = [] if member == "m000" else ["Announcement in Parents: Fête de quartier samedi"]
        assert [n["message"] for n in items] == expected, member
    assert store.inbox.page("ann", 10)["items"] == []
    # The same request delivered again makes no second job.
    store.create_thread("g", "ann", {"title": "Fête de quartier samedi", "kind": "announcement"}, "t1")
    assert store.announcements.pending() == 0


def test_workers_racing_for_an_announcement_job_one_works_it_and_a_dead_ones_lease_runs_out(db):
    """Eight workers (two processes' timers and more) take the same job at the same instant:
    exactly one works it (its lease is a unique insert; the guarded update it replaced is no
    compare-and-set on FerretDB). A worker that dies after a page holds its slot to the slot's
    end; then another one goes on from the page it reached, and nobody is told twice."""
    store = ConversationStore(db, None)
    members = {f"m{i:03}": "member" for i in range(450)}
    group_with(store, "g", "public", ann="admin", **members)
    assert store.create_thread("g", "ann", {"title": "Vide-grenier", "kind": "announcement"}, "t1")["errors"] == []
    moment = datetime.now(UTC)
    start = moment.replace(second=0, microsecond=0)  # the first second of a lease slot: 59 s of it left
    barrier = threading.Barrier(8)

    def worker(_):
        barrier.wait(timeout=15)
        return store.announcements.run(lambda: start)

    with ThreadPoolExecutor(8) as pool:
        told = list(pool.map(worker, range(8)))
    assert sorted(told) == [0] * 7 + [450]
    assert store.announcements.pending() == 0 and db["announcement_leases"].count_documents({}) == 0

    # A second announcement; its worker dies after the first page, holding the slot.
    assert store.create_thread("g", "ann", {"title": "Kermesse", "kind": "announcement"}, "t2")["errors"] == []
    job = db["announcement_fanout"].find_one({"_id": "t2"})
    slot = int(start.timestamp() // 60)
    db["announcement_leases"].insert_one({"_id": f"t2:{slot}", "job_id": "t2", "owner": "dead", "at": start})
    first_page = store.announcements._tell(job, store.copies.group_members.range("g", 1, 201))
    db["announcement_fanout"].update_one({"_id": "t2"}, {"$set": {"next": 201}})
    assert store.announcements.run(lambda: start + timedelta(seconds=30)) == 0  # still its slot
    assert store.announcements.run(lambda: start + timedelta(seconds=61)) == 450 - first_page
    assert store.announcements.pending() == 0
    for member in ("m000", "m199", "m449"):
        messages = [n["message"] for n in store.inbox.page(member, 10)["items"]]
        assert messages.count("Announcement in Parents: Kermesse") == 1, member


def test_an_announcement_job_waits_for_its_thread_and_a_failed_requests_job_is_dropped(db):
    store = ConversationStore(db, None)
    group_with(store, "g", "public", ann="admin", bob="member")
    group = store.copies.group("g")
    made = datetime.now(UTC)
    store.announcements.enqueue("never-committed", group, "ann", "Perdu", made)
    store.announcements.run()
    assert store.announcements.pending() == 1  # the thread's commit may still come
    store.announcements.run(lambda: made + timedelta(minutes=11))
    assert store.announcements.pending() == 0 and store.inbox.page("bob", 10)["items"] == []


def test_the_search_export_pages_threads_replies_and_questions_by_id_and_never_messages(db):
    store = ConversationStore(db, None, Limits(posts_per_hour=1_000))
    group_with(store, "pub", "public", ann="admin")
    group_with(store, "priv", "private", ann="admin", bob="member")
    for i in range(5):
        store.create_thread("pub", "ann", {"title": f"Sujet {i}"}, f"t{i}")
    store.create_thread("priv", "ann", {"title": "Entre nous"}, "tp")
    store.reply("tp", "bob", {"text": "Oui"}, "r1")
    store.ask("bob", {"text": "Un pédiatre ?", "scope": "city"}, "paris", {"lat": 48.85, "lon": 2.35}, "q1")
    pages, after = [], None
    while page := store.export_discussions("thread", after, 2):
        pages.append([v["id"] for v in page])
        after = page[-1]["id"]
    assert pages == [["t0", "t1"], ["t2", "t3"], ["t4", "tp"]]
    (private,) = store.export_discussions("thread", "t4", 10)
    assert private["visibility"] == "private" and private["city"] == "paris" and private["hidden"] is False
    assert [(v["id"], v["visibility"]) for v in store.export_discussions("reply", None, 10)] == [("r1", "private")]
    (question,) = store.export_discussions("question", None, 10)
    assert question["text"] == "Un pédiatre ?" and "cell" not in question
    with pytest.raises(ValueError):
        store.export_discussions("message", None, 10)
