"""Profiles, parents near me, blocks and groups, in a real nameko container on the real servers."""

from __future__ import annotations

import json

import pytest
from cachetools import TTLCache
from nameko.standalone.rpc import ClusterRpcProxy
from pymongo import MongoClient
from test_accounts import call, published, register

from members import cells
from members.dependencies import Members
from members.service import MembersService
from members.store import PUBLIC_CACHED, PUBLIC_TTL
from parentnet_kit import config, testing
from parentnet_kit.contracts import IDEMPOTENCY_HEADER
from parentnet_kit.testing import call_twice, wait_for

# Paris, 5th arrondissement: the centre of its cell, so that "near" below shares the cell.
_cell = cells.cell_for(48.8510, 2.3470)
HOME = {"lat": _cell.lat, "lon": _cell.lon}


def km_north(km: float) -> dict[str, float]:
    return {"lat": HOME["lat"] + km / 111.2, "lon": HOME["lon"]}


@pytest.fixture
def container(container_factory, service_config):
    container = container_factory(MembersService, service_config)
    container.start()
    return container


def member(container, name, home=None, **profile):
    result = register(container, email=f"{name.lower()}@example.org", name=name)
    member_id = result["member"]["id"]
    if home or profile:
        fields = {**profile, **({"home_location": home} if home else {})}
        updated = call(container, "update_profile", member_id, fields)
        assert updated["errors"] == [], updated
    return member_id


def test_profile_update_keeps_the_home_inside_the_service(container, service_config):
    me = member(container, "Awa")
    result = call(
        container,
        "update_profile",
        me,
        {
            "home_location": {"lat": 48.8510, "lon": 2.3470},
            "languages": ["fr", "wo"],
            "children": [{"birth_year": 2023, "birth_month": 4}],
        },
    )
    assert result["errors"] == []
    view = result["member"]
    assert view["has_home_location"] is True
    assert view["home_cell"]["id"] != "city:paris"
    assert (view["home_cell"]["lat"], view["home_cell"]["lon"]) == (HOME["lat"], HOME["lon"])
    assert "home" not in view

    protected = call(container, "update_profile", me, {"protected_mode": True})["member"]
    assert protected["home_cell"]["id"] == "city:paris"
    # Other services are told, through the gateway, to place what this member posts at city level.
    assert call(container, "viewer_context", me)["protected"] is True

    # The founding cities' city_opened (the first migration, at start) are not this test's.
    events = [e for e in published(service_config["AMQP_URI"]) if e["type"] != "city_opened"]
    assert [e["type"] for e in events] == ["member_registered", "member_updated", "member_updated"]
    assert [e["version"] for e in events] == [1, 2, 3]
    assert "48.851" not in json.dumps(events) and "2.347" not in json.dumps(events)
    assert events[-1]["data"]["discoverable"] is False


def test_bad_profile_input_names_the_field_and_changes_nothing(container, db):
    me = member(container, "Awa")
    before = db.members.find_one({"_id": me})
    result = call(
        container, "update_profile", me, {"display_name": "Awa D.", "home_location": {"lat": 48.85, "lon": 200}}
    )
    assert [(e["field"], e["code"]) for e in result["errors"]] == [(["home_location", "lon"], "OUT_OF_RANGE")]
    assert db.members.find_one({"_id": me}) == before


def test_parents_nearby_in_bands_without_protected_or_blocked_members(container):
    me = member(container, "Me", HOME, languages=["fr", "ar"], children=[{"birth_year": 2025, "birth_month": 3}])
    near = member(container, "Near", km_north(0.1), languages=["fr"], children=[{"birth_year": 2025, "birth_month": 9}])
    mid = member(container, "Mid", km_north(2.0), languages=["en"], children=[{"birth_year": 2019, "birth_month": 1}])
    far = member(container, "Far", km_north(6.0), languages=["ar"])
    member(container, "Away", km_north(25.0))
    member(container, "Hidden", km_north(0.3), protected_mode=True)
    blocker = member(container, "Blocker", km_north(0.3))
    blocked = member(container, "Blocked", km_north(0.3))
    assert call(container, "block", blocker, me)["errors"] == []
    assert call(container, "block", me, blocked)["errors"] == []

    page = call(container, "parents_nearby", me, {}, 10)
    assert page["errors"] == []
    bands = {edge["node"]["id"]: edge["distance_band"] for edge in page["edges"]}
    assert bands == {near: "UNDER_1_KM", mid: "FROM_1_TO_3_KM", far: "FROM_3_TO_10_KM"}
    assert [e["distance_band"] for e in page["edges"]] == ["UNDER_1_KM", "FROM_1_TO_3_KM", "FROM_3_TO_10_KM"]
    assert all("distance" not in json.dumps(e["node"]) for e in page["edges"])

    shared = call(container, "parents_nearby", me, {"shared_language": True}, 10)
    assert {e["node"]["id"] for e in shared["edges"]} == {near, far}
    similar = call(container, "parents_nearby", me, {"similar_child_ages": True}, 10)
    assert [e["node"]["id"] for e in similar["edges"]] == [near]

    first = call(container, "parents_nearby", me, {}, 2)
    rest = call(container, "parents_nearby", me, {}, 2, first["edges"][-1]["cursor"])
    assert first["has_next_page"] and not rest["has_next_page"]
    assert [e["node"]["id"] for e in first["edges"] + rest["edges"]] == [near, mid, far]
    assert first["total"] == rest["total"] == 3


def test_a_blocked_member_cannot_see_the_blocker(container):
    me = member(container, "Me", HOME)
    other = member(container, "Other", km_north(0.5))
    call(container, "block", other, me)
    assert call(container, "get_members", [other, me], me)[0] is None
    assert call(container, "blocked_by", me) == [other]
    assert call(container, "viewer_context", me) == {
        "blocked_by": [other],
        "blocked": [],
        "groups": {},
        "protected": False,
    }
    assert call(container, "viewer_context", other) == {
        "blocked_by": [],
        "blocked": [me],
        "groups": {},
        "protected": False,
    }
    assert call(container, "parents_nearby", me, {}, 10)["edges"] == []
    call(container, "unblock", other, me)
    assert call(container, "viewer_context", me) == {"blocked_by": [], "blocked": [], "groups": {}, "protected": False}
    assert call(container, "get_members", [other], me)[0]["display_name"] == "Other"


def test_private_group_with_approval(container, service_config):
    admin = member(container, "Admin")
    parent = member(container, "Parent")
    outsider = member(container, "Outsider")
    fields = {"name": "Parents du 11e", "city": "paris", "visibility": "private", "join_policy": "approval"}
    group = call(container, "create_group", admin, fields)["group"]
    gid = group["id"]

    request = call(container, "join_group", parent, gid)
    assert request["membership"]["status"] == "pending"
    refused = call(container, "decide_request", outsider, gid, parent, True)
    assert refused["errors"][0]["code"] == "FORBIDDEN"
    assert call(container, "group_members", gid, outsider) is None
    assert [e["node"]["id"] for e in call(container, "group_members", gid, admin, True)["edges"]] == [parent]

    approved = call(container, "decide_request", admin, gid, parent, True)
    assert approved["membership"]["status"] == "active"
    members = call(container, "group_members", gid, parent)
    assert {(e["node"]["id"], e["role"]) for e in members["edges"]} == {(admin, "admin"), (parent, "member")}
    assert call(container, "group_members", gid, outsider) is None
    assert call(container, "get_groups", [gid], outsider)[0]["member_count"] == 2

    assert call(container, "viewer_context", parent) == {
        "blocked_by": [],
        "blocked": [],
        "groups": {gid: "member"},
        "protected": False,
    }
    assert call(container, "leave_group", admin, gid)["errors"][0]["code"] == "LAST_ADMIN"
    assert call(container, "set_role", admin, gid, parent, "admin")["errors"] == []
    assert call(container, "leave_group", admin, gid)["errors"] == []

    types = [e["type"] for e in published(service_config["AMQP_URI"]) if e["type"].startswith("group")]
    assert types == ["group_membership_changed", "group_created"] + ["group_membership_changed"] * 4


def test_outsiders_browsing_a_public_group_do_not_see_protected_members(container):
    admin = member(container, "Admin")
    shy = member(container, "Shy", protected_mode=True)
    outsider = member(container, "Outsider")
    gid = call(container, "create_group", admin, {"name": "Square du Temple", "city": "paris"})["group"]["id"]
    assert call(container, "join_group", shy, gid)["membership"]["status"] == "active"
    seen_by_outsider = {e["node"]["id"] for e in call(container, "group_members", gid, outsider)["edges"]}
    seen_by_member = {e["node"]["id"] for e in call(container, "group_members", gid, admin)["edges"]}
    assert seen_by_outsider == {admin}
    assert seen_by_member == {admin, shy}


def test_a_redelivered_group_creation_makes_one_group(container, service_config):
    admin = member(container, "Admin")
    fields = {"name": "Parents du Marais", "city": "paris"}
    made, again = call_twice(service_config["AMQP_URI"], "members", "create_group", creator_id=admin, fields=fields)
    assert made["errors"] == [] and again["errors"] == []
    assert again["group"]["id"] == made["group"]["id"]
    db = MongoClient(config.mongo_uri())[service_config["MEMBERS_DB"]]
    assert db.groups.count_documents({}) == 1 and db.memberships.count_documents({}) == 1
    created = [e for e in published(service_config["AMQP_URI"]) if e["type"] == "group_created"]
    assert len(created) == 1
    assert call(container, "create_group", admin, fields)["group"]["id"] != made["group"]["id"]


def test_a_redelivered_sign_up_signs_in_to_the_one_account_it_made(container, service_config):
    fields = {"email": "twice@example.org", "password": "a long enough password", "display_name": "Twice"}
    fields["city"] = "paris"
    first, again = call_twice(service_config["AMQP_URI"], "members", "register", fields=fields)
    assert first["errors"] == [] and again["errors"] == [], again
    assert again["member"]["id"] == first["member"]["id"] and again["access_token"]
    db = MongoClient(config.mongo_uri())[service_config["MEMBERS_DB"]]
    assert db.members.count_documents({}) == 1
    # A new request with that email is refused as before.
    taken = call(container, "register", fields)
    assert taken["errors"][0]["code"] == "EMAIL_TAKEN"


def test_a_shared_key_never_signs_anyone_in_to_another_account(container, service_config):
    # Any caller may name a key (the gateway sends one only for signed-in creations): two
    # sign-ups under one key are still two accounts, and a replay needs the password.
    password = "a long enough password"
    with ClusterRpcProxy(service_config, context_data={IDEMPOTENCY_HEADER: "same"}, timeout=10) as cluster:
        ana = cluster.members.register(
            {"email": "ana@example.org", "password": password, "display_name": "Ana", "city": "paris"}
        )
        bea = cluster.members.register(
            {"email": "bea@example.org", "password": password, "display_name": "Bea", "city": "paris"}
        )
        assert ana["errors"] == [] and bea["errors"] == []
        assert ana["member"]["id"] != bea["member"]["id"]
        replayed = cluster.members.register(
            {"email": "ana@example.org", "password": "somebody else's guess", "display_name": "Ana", "city": "paris"}
        )
        assert replayed["errors"][0]["code"] == "EMAIL_TAKEN" and "access_token" not in replayed
        again = cluster.members.register(
            {"email": "ana@example.org", "password": password, "display_name": "Ana", "city": "paris"}
        )
        assert again["errors"] == [] and again["member"]["id"] == ana["member"]["id"]


def test_a_blocked_member_sees_a_group_as_if_the_blocker_had_never_joined(container):
    """Issue 19: the blocked side cannot tell from a group's count and list that a member of it
    blocked them; both read as for a group the blocker never joined (as a stranger sees it)."""
    admin = member(container, "Founder")
    blocker = member(container, "Blocker")
    blocked = member(container, "Blocked")
    stranger = member(container, "Stranger")
    gid = call(container, "create_group", admin, {"name": "Parents du canal", "city": "paris"})["group"]["id"]
    call(container, "join_group", blocker, gid)
    call(container, "block", blocker, blocked)

    def seen_by(viewer):
        group = call(container, "get_groups", [gid], viewer)[0]
        listed = call(container, "group_members", gid, viewer)
        return group["member_count"], listed["total"], [e["node"]["id"] for e in listed["edges"]]

    assert seen_by(blocked) == (1, 1, [admin])
    assert seen_by(stranger) == (2, 2, sorted([admin, blocker], key=lambda i: f"gm:{gid}:{i}"))
    [listed] = [g for g in call(container, "list_groups", "paris", blocked, 100)["edges"] if g["node"]["id"] == gid]
    assert listed["node"]["member_count"] == 1
    call(container, "unblock", blocker, blocked)
    assert seen_by(blocked)[:2] == (2, 2)


def test_other_members_profiles_are_kept_briefly_and_edits_and_blocks_show_at_once(container, service_config):
    """get_members (the organizers of a page of outings) reads each other member once per
    PUBLIC_TTL in a process: a block, an edit through this process and the viewer's own profile
    are current at once; another process's edit shows once the copy expires."""
    store = next(e for e in container.extensions if isinstance(e, Members)).store
    clock = [0.0]
    store.public_states = TTLCache(PUBLIC_CACHED, PUBLIC_TTL.total_seconds(), timer=lambda: clock[0])
    me = member(container, "Me")
    others = [member(container, f"Organizer{n}") for n in range(5)]
    first = call(container, "get_members", [*others, me], me)
    assert [v["display_name"] for v in first] == [*(f"Organizer{n}" for n in range(5)), "Me"]
    with testing.recording_store(service_config["MONGO_URI"], service_config["MEMBERS_DB"]) as (db, reads):
        stored, store.members.aggregates = store.members.aggregates, db["members"]
        try:
            assert call(container, "get_members", [*others, me], me) == first
        finally:
            store.members.aggregates = stored
    assert [r.selector for r in reads.reads if r.collection == "members"] == [{"_id": me}]
    call(container, "update_profile", others[0], {"display_name": "Renamed"})
    call(container, "block", others[1], me)
    elsewhere = MongoClient(service_config["MONGO_URI"])[service_config["MEMBERS_DB"]]["members"]
    elsewhere.update_one({"_id": others[2]}, {"$set": {"display_name": "Changed elsewhere"}})
    names = [v and v["display_name"] for v in call(container, "get_members", others, me)]
    assert names == ["Renamed", None, "Organizer2", "Organizer3", "Organizer4"]
    clock[0] += PUBLIC_TTL.total_seconds() + 1
    assert call(container, "get_members", [others[2]], me)[0]["display_name"] == "Changed elsewhere"


def test_a_profile_changed_through_another_members_process_shows_at_once(container_factory, service_config):
    """Two members processes (a rolling deploy, or more than one instance): a rename through one
    reaches the other's kept copy through the member_updated event each process hears
    (parentnet_kit.broadcast), not after PUBLIC_TTL (review 6 saw the old name for 28.7 s)."""
    one = container_factory(MembersService, service_config)
    two = container_factory(MembersService, service_config)
    for started in (one, two):
        started.start()
        assert next(e for e in started.extensions if isinstance(e, Members)).profiles.listening.wait(10)
    me, organizer = member(one, "Me"), member(one, "Organizer")
    assert call(one, "get_members", [organizer], me)[0]["display_name"] == "Organizer"  # kept by one
    assert call(two, "update_profile", organizer, {"display_name": "Renamed"})["errors"] == []
    wait_for(
        lambda: call(one, "get_members", [organizer], me)[0]["display_name"] == "Renamed",
        timeout=5,
        what="the other process's copy dropped",
    )
