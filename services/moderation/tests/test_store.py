"""The store on the real MongoDB-protocol server: limits, holds, queues, actions, at most once."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from moderation import domain
from moderation.store import ModerationStore
from parentnet_kit.envelope import Event


def _snapshot(author: str = "author", group: str | None = None) -> dict:
    return {"title": "Poussette", "text": "Paiement d'avance", "author_id": author, "group_id": group, "city": "paris"}


def _report(store: ModerationStore, reporter: str, subject: str = "l1", **snap) -> dict:
    fields = {"subject_type": "listing", "subject_id": subject, "reason": "scam"}
    return store.report(reporter, fields, _snapshot(**snap), uuid.uuid4().hex)


def test_reports_per_hour_are_limited_even_when_racing(db):
    store = ModerationStore(db, None, reports_per_hour=3)
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda i: _report(store, "r1", f"l{i}"), range(6)))
    codes = sorted(e["code"] for a in answers for e in a["errors"])
    assert codes == ["RATE_LIMITED"] * 3
    assert store.queue(domain.NETWORK, 20)["total"] == 3


def test_nothing_to_report_and_not_oneself(db):
    store = ModerationStore(db, None)
    fields = {"subject_type": "listing", "subject_id": "l1", "reason": "scam"}
    assert store.report("r1", fields, None, "x1")["errors"][0]["code"] == "NOT_FOUND"
    assert store.report("author", fields, _snapshot(), "x2")["errors"][0]["code"] == "FORBIDDEN"


def test_the_same_request_files_one_report(db):
    store = ModerationStore(db, None)
    fields = {"subject_type": "listing", "subject_id": "l1", "reason": "scam"}
    first = store.report("r1", fields, _snapshot(), "same")
    again = store.report("r1", fields, _snapshot(), "same")
    assert first["report"]["id"] == again["report"]["id"] == "same"
    assert store.queue(domain.NETWORK, 20)["total"] == 1


def test_a_member_reported_by_three_distinct_others_is_held_once(db):
    store = ModerationStore(db, None, hold_after=3)
    _report(store, "r1")
    _report(store, "r1", "l2")  # the same reporter again counts once
    _report(store, "r2")
    assert not (store.member_state("author") or {}).get("held")
    _report(store, "r3")
    _report(store, "r4")
    state = store.member_state("author")
    assert state["held"] is True and state["version"] == 1
    # The network's queue has the hold, filed by the network itself; releasing closes it.
    [hold] = [r for r in store.queue(domain.NETWORK, 50)["reports"] if r["reason"] == domain.HELD]
    assert hold["subject_type"] == "member" and hold["subject_id"] == "author"
    target = {"queue": domain.NETWORK, "member_id": "author"}
    store.act("mod", target, {"action": "release", "reason": "Reports unfounded", "until": None}, "rel1")
    assert store.member_state("author")["held"] is False
    assert domain.HELD not in {r["reason"] for r in store.queue(domain.NETWORK, 50)["reports"]}


def test_a_group_report_goes_to_its_group_queue_only(db):
    store = ModerationStore(db, None)
    _report(store, "r1", "in-group", group="g1")
    _report(store, "r1", "public")
    assert [r["subject_id"] for r in store.queue("group:g1", 20)["reports"]] == ["in-group"]
    assert [r["subject_id"] for r in store.queue(domain.NETWORK, 20)["reports"]] == ["public"]


def test_hiding_resolves_every_open_report_on_it_tells_each_reporter_and_is_audited(db):
    store = ModerationStore(db, None)
    first = _report(store, "r1")["report"]
    _report(store, "r2")
    target = {
        "queue": domain.NETWORK,
        "subject_type": "listing",
        "subject_id": "l1",
        "report_id": first["id"],
        "member_id": "author",
        "author_id": "author",
        "city": "paris",
    }
    clean = {"action": "hide", "reason": "A scam", "until": None}
    done = store.act("mod", target, clean, "a1")
    assert done["errors"] == [] and done["action"]["action"] == "hide"
    assert store.act("mod", target, clean, "a1")["action"]["id"] == "a1"  # at most once
    assert store.subject_state("l1")["state"] == "hidden" and store.subject_state("l1")["version"] == 1
    queue = store.queue(domain.NETWORK, 20)
    assert queue == {"reports": [], "has_next_page": False, "total": 0}
    for reporter in ("r1", "r2"):
        [told] = store.inbox.page(reporter, 10)["items"]
        assert told["kind"] == "report_resolved" and "hid" in told["message"]
    log = store.audit_log(domain.NETWORK, 20)
    assert [(a["action"], a["actor_id"], a["reason"]) for a in log["actions"]] == [("hide", "mod", "A scam")]


def test_a_suspension_is_kept_and_the_member_told(db):
    store = ModerationStore(db, None)
    until = datetime.now(UTC) + timedelta(days=2)
    target = {"queue": domain.NETWORK, "member_id": "m1"}
    store.act("mod", target, {"action": "suspend", "reason": "Threats", "until": until}, "s1")
    state = store.member_state("m1")
    assert state["suspended_until"] > datetime.now(UTC)
    [told] = store.inbox.page("m1", 10)["items"]
    assert told["kind"] == "moderation_suspend" and "Threats" in told["message"]
    store.act("mod", target, {"action": "unsuspend", "reason": "Appeal", "until": None}, "s2")
    assert store.member_state("m1")["suspended_until"] is None


def test_group_roles_follow_members_events_by_version(db):
    store = ModerationStore(db, None)

    def membership(version: int, role: str, status: str = "active") -> Event:
        data = {"group_id": "g1", "member_id": "m1", "role": role, "status": status}
        return Event("group_membership_changed", "members", "gm:g1:m1", version, "paris", data)

    assert store.roles.apply(membership(2, "admin"))
    assert not store.roles.apply(membership(1, "member"))  # late: ignored
    assert not store.roles.apply(membership(2, "admin"))  # repeated: ignored
    assert store.roles.role("g1", "m1") == "admin"
    assert store.roles.apply(membership(3, "admin", "left"))
    assert store.roles.role("g1", "m1") is None


def test_a_queue_pages_from_where_the_last_page_stopped_newest_first(db):
    store = ModerationStore(db, None)
    for i in range(5):
        _report(store, f"r{i}", f"l{i}", author=f"a{i}")
    seen, after = [], None
    while True:
        page = store.queue(domain.NETWORK, 2, after)
        seen += [r["subject_id"] for r in page["reports"]]
        if not page["has_next_page"]:
            break
        after = page["reports"][-1]["position"]
    assert seen == ["l4", "l3", "l2", "l1", "l0"]
    assert page["total"] == 5
