"""Throttling's per-key sequences on the real store: windows, racing attempts, clearing, purge."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import eventlet
import pytest

from members.dependencies import hash_threads
from members.security import Attempts, Limits
from parentnet_kit.expiry import markers_database

NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _attempts(db, **limits):
    return Attempts(db, Limits(**limits))


def _fail(attempts, account, client, at):
    attempt = attempts.record("login", account, client, at)
    refusal = attempts.login_refusal(account, client, at)
    attempts.settle(attempt, "refused" if refusal else "failed")
    return refusal


def test_racing_attempts_see_each_other(db):
    attempts = _attempts(db, per_account_client=5)

    def one(_):
        attempt = attempts.record("login", "acct", "phone", NOON)
        refusal = attempts.login_refusal("acct", "phone", NOON)
        attempts.settle(attempt, "refused" if refusal else "failed")
        return refusal

    refusals = list(eventlet.GreenPool(50).imap(one, range(50)))
    assert sum(r is None for r in refusals) <= 5
    assert sum(r is not None for r in refusals) >= 45


def test_the_window_slides_and_retry_after_is_from_the_oldest_counted_attempt(db):
    attempts = _attempts(db, per_account_client=3)
    for minute in range(3):
        assert _fail(attempts, "acct", "phone", NOON + timedelta(minutes=minute)) is None
    refusal = _fail(attempts, "acct", "phone", NOON + timedelta(minutes=5))
    # Counted, newest first: this try (12:05, pending while checked), 12:02, 12:01, 12:00. The
    # oldest of the last three (12:01) leaves the 15-minute window at 12:16.
    assert refusal is not None and refusal.retry_after_seconds == 11 * 60 + 1
    # Refused attempts do not count: once the first failure is out of the window, one more try.
    assert _fail(attempts, "acct", "phone", NOON + timedelta(minutes=15, seconds=1)) is None
    # Another client of the same account is not concerned by the account+client limit.
    assert _fail(attempts, "acct", "laptop", NOON + timedelta(minutes=6)) is None


def test_a_success_clears_that_clients_failures_under_every_key(db):
    attempts = _attempts(db, per_account_client=3, per_client=3)
    for minute in range(3):
        _fail(attempts, "acct", "phone", NOON + timedelta(minutes=minute))
    ok = attempts.record("login", "acct", "phone", NOON + timedelta(minutes=3))
    attempts.settle(ok, "ok")
    attempts.succeeded("acct", "phone", NOON + timedelta(minutes=3), ok)
    # Cleared for the per-client count too: three more failures fit before a refusal.
    for minute in range(4, 7):
        assert _fail(attempts, "other", "phone", NOON + timedelta(minutes=minute)) is None
    assert _fail(attempts, "other", "phone", NOON + timedelta(minutes=7)) is not None


def test_a_success_reads_back_to_the_previous_success_only(db):
    """A member who signed in 20 times in the window: the next success reads its own entry, the
    failure since and the success before it, not all 22; the failure is cleared as before."""
    attempts = _attempts(db, per_account_client=3)

    def sign_in(at):
        ok = attempts.record("login", "acct", "phone", at)
        attempts.settle(ok, "ok")
        attempts.succeeded("acct", "phone", at, ok)

    for second in range(20):
        sign_in(NOON + timedelta(seconds=10 * second))
    at = NOON + timedelta(minutes=8)
    _fail(attempts, "acct", "phone", at)
    read = []
    newest_first = attempts._newest_first

    def counted(*args):
        for item in newest_first(*args):
            read.append(item[1]["outcome"])
            yield item

    attempts._newest_first = counted
    sign_in(at + timedelta(seconds=1))
    assert read == ["ok", "failed", "ok"]  # its own entry, the failure, the previous success
    # The failure was cleared: three more fit before a refusal.
    for second in range(2, 5):
        assert _fail(attempts, "acct", "phone", at + timedelta(seconds=second)) is None
    assert _fail(attempts, "acct", "phone", at + timedelta(seconds=6)) is not None


def test_windows_cross_midnight_and_the_purge_drops_whole_days(db):
    attempts = _attempts(db)
    midnight = datetime(2026, 12, 1, tzinfo=UTC)
    for second in (-30, -20, -10):
        attempts.rate_refusal("nearby", "acct", "", 3, timedelta(hours=1), midnight + timedelta(seconds=second))
    assert attempts.rate_refusal("nearby", "acct", "", 3, timedelta(hours=1), midnight) is not None
    assert {"attempts_20261130", "attempts_20261201"} <= set(db.list_collection_names())
    db["attempts"].insert_one({"_id": "from the code before", "at": midnight})

    assert attempts.purge(timedelta(days=2), midnight + timedelta(days=2, hours=1)) == 2
    assert set(db.list_collection_names()) & {"attempts", "attempts_20261130"} == set()
    assert "attempts_20261201" in db.list_collection_names()


def test_a_flood_of_refused_attempts_stays_refused(db):
    # Two failures, then 40 refused tries: a check reads at most 3 * 2 + 20 entries, so the two
    # failures behind the flood are out of its reach; the flood itself is what refuses.
    attempts = _attempts(db, per_account_client=2)
    at = NOON
    for _ in range(42):
        at += timedelta(seconds=1)
        _fail(attempts, "acct", "bot", at)
    refusal = _fail(attempts, "acct", "bot", at + timedelta(seconds=1))
    assert refusal is not None and 0 < refusal.retry_after_seconds <= 15 * 60 + 1


def test_refresh_tokens_are_kept_by_their_expiry_day_and_the_days_that_are_over_are_dropped(db):
    from members.security import Sessions, digest

    sessions = Sessions(db, timedelta(days=30))
    sessions.ensure_indexes()
    session_id, first = sessions.start("m1", NOON)
    assert first.startswith("pnr_20261230_")
    member, same_session, second = sessions.rotate(first, NOON + timedelta(hours=1))
    assert (member, same_session) == ("m1", session_id)
    days = markers_database(db)  # beside the expiry markers, not among members' collections
    assert days["refresh_tokens_20261230"].count_documents({}) == 2
    assert days["spent_refresh_tokens_20261230"].find_one({"_id": digest(first)}) is not None
    assert not [n for n in db.list_collection_names() if n.startswith(("refresh_tokens_", "spent_refresh_tokens_"))]
    # A replay of the spent token is theft: the session ends, and its newer token with it.
    assert sessions.rotate(first, NOON + timedelta(hours=2)) is None
    assert sessions.rotate(second, NOON + timedelta(hours=2)) is None
    # A token from before the days still rotates, from the legacy collections.
    legacy = "pnr_" + "x" * 43
    _, _live = sessions.start("m2", NOON)
    db["refresh_tokens"].insert_one(
        {"_id": digest(legacy), "session_id": _, "member_id": "m2", "expires_at": NOON + timedelta(days=1)}
    )
    assert sessions.rotate(legacy, NOON)[0] == "m2"
    # A token of the days kept beside members by earlier code rotates too, once.
    earlier = "pnr_20261215_" + "y" * 43
    _, _live = sessions.start("m3", NOON)
    db["refresh_tokens_20261215"].insert_one(
        {"_id": digest(earlier), "session_id": _, "member_id": "m3", "expires_at": NOON + timedelta(days=15)}
    )
    assert sessions.rotate(earlier, NOON)[0] == "m3"
    assert sessions.rotate(earlier, NOON) is None  # spent where it was kept: a replay ends the session
    # The purge drops days that are over, wherever they are, and, once a refresh lifetime has
    # passed since this code first ran, the legacy collections: here all.
    assert sessions.purge(NOON + timedelta(days=1)) == 0  # nothing is over yet
    assert sessions.purge(datetime.now(UTC) + timedelta(days=31)) == 6
    names = db.list_collection_names() + days.list_collection_names()
    assert not [n for n in names if "refresh_tokens" in n]


def test_sessions_go_once_their_newest_token_expired_and_refreshed_ones_stay(db):
    from members.security import Sessions

    sessions = Sessions(db, timedelta(days=30))
    sessions.ensure_indexes()
    db["sessions"].insert_one({"_id": "legacy", "member_id": "m1", "created_at": NOON, "revoked": False})
    assert sessions.expire(NOON) == 0  # marks the one from before: over a refresh lifetime from now
    idle, _ = sessions.start("m1", NOON)
    live, token = sessions.start("m1", NOON)
    revoked, _ = sessions.start("m2", NOON)
    sessions.revoke(revoked, NOON)
    _, _, token = sessions.rotate(token, NOON + timedelta(days=20))

    day31 = NOON + timedelta(days=31)
    assert sessions.expire(day31) >= 4
    assert [s for s in ("legacy", idle, live, revoked) if sessions.member_of(s)] == [live]
    _, _, token = sessions.rotate(token, day31)  # still signed in, and refreshed again
    assert sessions.revoke_all("m1", day31) == 1  # the gone ones' entries are skipped
    assert sessions.expire(day31 + timedelta(days=31)) >= 1
    assert sessions.member_of(live) is None
    assert sessions.expire(day31 + timedelta(days=32)) == 0  # emptied days go on a later date
    assert not [n for n in markers_database(db).list_collection_names() if n.startswith("sessions_expiring_")]


def test_known_clients_are_forgotten_after_the_days_and_kept_while_they_sign_in(db):
    attempts = _attempts(db, known_client_days=90)

    def sign_in(client, at):
        attempt = attempts.record("login", "acct", client, at)
        attempts.settle(attempt, "ok")
        attempts.succeeded("acct", client, at, attempt)

    db["known_clients"].insert_one({"_id": "acct:legacy", "at": NOON - timedelta(days=89)})
    sign_in("phone", NOON)
    sign_in("laptop", NOON)
    sign_in("laptop", NOON + timedelta(days=60))
    assert attempts.expire_known(NOON) == 0  # marks the one from before; nothing due yet
    assert attempts.expire_known(NOON + timedelta(days=92)) >= 3
    assert sorted(d["_id"] for d in db["known_clients"].find()) == ["acct:laptop"]
    assert attempts.is_known("acct", "laptop", NOON + timedelta(days=92))


def test_password_hashing_threads_default_to_the_cores_and_refuse_nonsense():
    """Each pool thread that ever hashed keeps 19 MiB (bench/hash_memory.py: 20 threads, 507 MiB
    resident; 2 threads, 89 MiB), so the pool is as large as the cores unless told otherwise."""
    cores = len(os.sched_getaffinity(0))
    assert hash_threads({}) == hash_threads({"PASSWORD_HASH_THREADS": ""}) == max(1, min(8, cores))
    assert hash_threads({"PASSWORD_HASH_THREADS": "3"}) == 3
    for bad in ("0", "-2", "65", "two", "1.5"):
        with pytest.raises(ValueError, match="PASSWORD_HASH_THREADS"):
            hash_threads({"PASSWORD_HASH_THREADS": bad})
