"""The reads every signed-in request and every sign-in make go by ``_id`` only, at volume.

FerretDB 1.24 serves ``{_id: <string>}`` from an index and reads the whole collection for any
other filter (docs/store.md): the viewer context, blocks, memberships, throttling and "sign out
everywhere" are checked here, on a store holding other members' data, by the commands the
store receives (a pymongo command listener), and by what they answer.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_accounts import PASSWORD, _signer, call, register

from members import security
from members.service import MembersService
from members.store import MemberStore
from parentnet_kit import testing


@pytest.fixture
def container(container_factory, service_config_at_volume):
    container = container_factory(MembersService, service_config_at_volume)
    container.start()
    return container


@pytest.fixture
def watched(service_config_at_volume):
    """A MemberStore on the volume database whose selections are recorded (``testing.StoreReads``)."""
    config = service_config_at_volume
    with testing.recording_store(config["MONGO_URI"], config["MEMBERS_DB"]) as (db, reads):
        store = MemberStore(db, None, _signer(config), security.Limits(), timedelta(days=1), lambda f, *a: f(*a))
        yield store, reads


def _member(container, name):
    return register(container, email=f"{name.lower()}.{id(container)}@example.org", name=name)["member"]["id"]


def test_viewer_context_blocks_and_groups_read_by_id_at_volume(container, watched, volume_db):
    store, commands = watched
    me, friend, foe = (_member(container, n) for n in ("Me", "Friend", "Foe"))
    made = [call(container, "create_group", friend, {"name": f"Parc {i}", "city": "paris"}) for i in range(3)]
    gids = [m["group"]["id"] for m in made]
    for gid in gids:
        assert call(container, "join_group", me, gid)["errors"] == []
    assert call(container, "leave_group", me, gids[2])["errors"] == []
    call(container, "block", foe, me)
    call(container, "block", me, friend)
    call(container, "unblock", me, friend)

    commands.clear()
    context = store.viewer_context(me)
    groups = {gids[0]: "member", gids[1]: "member"}
    assert context == {"blocked": [], "blocked_by": [foe], "groups": groups, "protected": False}
    assert {g["id"] for g in store.member_groups(me)} == set(gids[:2])
    assert store.blocked(foe) == [me] and store.blocked_by(friend) == []
    assert store._admin_count(gids[0]) == 1
    assert commands.not_by_id(in_allowed=True) == []

    # A volume member's context is what its documents say (read here the slow way).
    db = store.db
    someone = db.memberships.find_one({"status": "active", "member_id": {"$regex": "^vol"}})["member_id"]
    expected = {m["group_id"]: m["role"] for m in db.memberships.find({"member_id": someone, "status": "active"})}
    commands.clear()
    assert store.viewer_context(someone)["groups"] == expected
    assert commands.not_by_id(in_allowed=True) == []


def test_sign_in_throttling_and_sign_out_everywhere_read_by_id_at_volume(container, watched):
    store, commands = watched
    email = f"awa.{id(container)}@example.org"
    register(container, email=email)
    for _ in range(2):
        assert store.login(email, PASSWORD, "10.1.1.1")["errors"] == []
    member_id = store.login(email, "wrong", "10.1.1.1")
    commands.clear()
    signed_in = store.login(email, PASSWORD, "10.1.1.1")
    assert signed_in["errors"] == [] and member_id["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert store.logout(signed_in["member"]["id"], "", everywhere=True) == 4  # the sign-up's and three logins
    assert commands.not_by_id(in_allowed=True) == []


def test_a_crash_between_the_index_entry_and_the_commit_leaves_nothing_visible(container, watched):
    store, _ = watched
    me = _member(container, "Crashed")
    # As if the process died right after appending the entries and before the commits.
    store.groups_of.append(me, {"group_id": "never-created"})
    store.blocks_of.append(me, {"block_id": f"block:{me}:nobody"})
    assert store.viewer_context(me) == {"blocked": [], "blocked_by": [], "groups": {}, "protected": False}
    gid = call(container, "create_group", me, {"name": "Après", "city": "paris"})["group"]["id"]
    assert store.viewer_context(me)["groups"] == {gid: "admin"}


def test_memberships_blocks_and_sessions_from_before_are_adopted_at_start_up(container_factory, service_config, db):
    db.memberships.insert_one(
        {"_id": "gm:g1:old", "version": 1, "group_id": "g1", "member_id": "old", "role": "admin", "status": "active"}
    )
    db.blocks.insert_one({"_id": "block:old:x", "version": 1, "blocker_id": "old", "blocked_id": "x", "active": True})
    db.sessions.insert_one({"_id": "s-old", "member_id": "old", "revoked": False})
    container = container_factory(MembersService, service_config)
    container.start()
    assert call(container, "viewer_context", "old") == {
        "blocked": ["x"],
        "blocked_by": [],
        "groups": {"g1": "admin"},
        "protected": False,
    }
    assert call(container, "viewer_context", "x")["blocked_by"] == ["old"]
    assert call(container, "logout", "old", "", True) == 1
