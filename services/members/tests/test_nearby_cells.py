"""Parents near me by the tiles of ``nearby_cells``: reads by ``_id`` only, stale entries never
shown, a member entered twice answered once, existing members adopted by a timer (issue 17)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pymongo import MongoClient
from test_accounts import PASSWORD, _signer, call

from members import cells, domain, nearby_cells, security
from members.service import MembersService
from members.store import MemberStore
from parentnet_kit.testing import StoreReads, wait_for

# Paris, 9th arrondissement: the centre of its cell.
_cell = cells.cell_for(48.8760, 2.3380)
HOME = {"lat": _cell.lat, "lon": _cell.lon}


def km_north(km: float) -> dict[str, float]:
    return {"lat": HOME["lat"] + km / 111.2, "lon": HOME["lon"]}


@pytest.fixture
def watched(service_config):
    """A MemberStore on the test's own database, whose commands are recorded."""
    commands = StoreReads()
    client = MongoClient(service_config["MONGO_URI"], tz_aware=True, event_listeners=[commands])
    db = client[service_config["MEMBERS_DB"]]
    store = MemberStore(db, None, _signer(service_config), security.Limits(), timedelta(days=1), lambda f, *a: f(*a))
    yield store, commands
    client.close()


def _register(store: MemberStore, name: str, n: int) -> str:
    fields = {"email": f"{name.lower()}.{n}@example.org", "password": PASSWORD, "display_name": name, "city": "paris"}
    result = store.register(fields, f"10.1.{n // 250}.{n % 250}")
    assert result["errors"] == [], result
    return result["member"]["id"]


def _member(store: MemberStore, name: str, n: int, home: dict[str, float] | None = None, **profile) -> str:
    member_id = _register(store, name, n)
    if home or profile:
        updated = store.update_profile(member_id, {**profile, **({"home_location": home} if home else {})})
        assert updated["errors"] == [], updated
    return member_id


def _bands(page: dict) -> dict[str, str]:
    assert page["errors"] == [], page
    return {edge["node"]["id"]: edge["distance_band"] for edge in page["edges"]}


def test_a_new_database_searches_by_id_only(watched):
    store, commands = watched
    store.ensure_indexes()
    assert store.nearby.adopted(), "an empty database is adopted at once"
    me = _member(store, "Me", 1, HOME)
    near = _member(store, "Near", 2, km_north(0.3))
    mid = _member(store, "Mid", 3, km_north(2.0))
    far = _member(store, "Far", 4, km_north(6.0))
    _member(store, "Away", 5, km_north(25.0))
    _member(store, "Hidden", 6, km_north(0.3), protected_mode=True)
    _member(store, "Homeless", 7)

    commands.clear()
    page = store.parents_nearby(me, {}, 10, None)
    assert _bands(page) == {near: "UNDER_1_KM", mid: "FROM_1_TO_3_KM", far: "FROM_3_TO_10_KM"}
    assert page["total"] == 3
    assert commands.not_by_id(in_allowed=True) == []
    assert any(r.selector == {"_id": near} for r in commands.reads), "members are read by _id"


def test_stale_and_repeated_entries_are_never_shown_twice_or_wrongly(watched):
    store, _ = watched
    store.ensure_indexes()
    me = _member(store, "Me", 1, HOME)
    mover = _member(store, "Mover", 2, km_north(0.3))
    shy = _member(store, "Shy", 3, km_north(2.0))
    twice = _member(store, "Twice", 4, km_north(6.0))
    assert _bands(store.parents_nearby(me, {}, 10, None)) == {
        mover: "UNDER_1_KM",
        shy: "FROM_1_TO_3_KM",
        twice: "FROM_3_TO_10_KM",
    }

    # Moved away: its old entry is stale. Protected: its entry is stale.
    assert store.update_profile(mover, {"home_location": km_north(-15.0)})["errors"] == []
    assert store.update_profile(shy, {"protected_mode": True})["errors"] == []
    # A retried or redelivered write enters again; an entry whose commit never happened points
    # at a member who is elsewhere, or at nobody.
    state = store.members.get(twice)
    store.nearby.enter(None, state)
    ghost = domain.with_cell({**state, "_id": "ghost-member", "home": km_north(0.2)})
    assert store.nearby.enter(None, ghost)
    elsewhere = domain.with_cell({**store.members.get(me), "home": km_north(0.1)})
    store.nearby.enter(None, {**elsewhere, "_id": twice})
    page = store.parents_nearby(me, {}, 10, None)
    assert _bands(page) == {twice: "FROM_3_TO_10_KM"}
    assert page["total"] == 1

    # Back home and visible again: shown once, in the band of where they are now.
    assert store.update_profile(mover, {"home_location": km_north(2.0)})["errors"] == []
    assert store.update_profile(shy, {"protected_mode": False})["errors"] == []
    page = store.parents_nearby(me, {}, 10, None)
    assert _bands(page) == {mover: "FROM_1_TO_3_KM", shy: "FROM_1_TO_3_KM", twice: "FROM_3_TO_10_KM"}
    assert page["total"] == 3
    # Paging over the tiles: the same members, once each, in the same order as one page.
    first = store.parents_nearby(me, {}, 2, None)
    rest = store.parents_nearby(me, {}, 2, first["edges"][-1]["cursor"])
    assert [e["node"]["id"] for e in first["edges"] + rest["edges"]] == [e["node"]["id"] for e in page["edges"]]
    assert first["has_next_page"] and not rest["has_next_page"]


def _legacy_members(db, count: int) -> list[str]:
    """Members as code before the tiles left them: in the members collection, in no tile."""
    now = domain.now_utc()
    ids = []
    for n in range(count):
        clean = {"email": f"old{n}@example.org", "display_name": f"Old {n}", "city": "paris"}
        state = domain.with_cell({**domain.new_member_state(clean, "x", now), "home": km_north(0.5 + n)})
        db.members.insert_one(state)
        ids.append(state["_id"])
    return ids


def test_existing_members_are_searched_by_scan_until_adopted_then_by_id(watched):
    store, commands = watched
    old = _legacy_members(store.db, 4)  # 0.5, 1.5, 2.5 and 3.5 km north
    store.ensure_indexes()
    assert not store.nearby.adopted(), "a database with members is not adopted at start-up"
    me = _member(store, "Me", 1, HOME)
    expected = {
        old[0]: "UNDER_1_KM",
        old[1]: "FROM_1_TO_3_KM",
        old[2]: "FROM_1_TO_3_KM",
        old[3]: "FROM_3_TO_10_KM",
    }
    assert _bands(store.parents_nearby(me, {}, 10, None)) == expected  # the scan

    assert store.adopt_nearby() == 5  # the four and me
    assert store.adopt_nearby() is None  # once per database
    assert store.db["sequences_adopted"].find_one({"_id": nearby_cells.MARKER}) is not None
    commands.clear()
    assert _bands(store.parents_nearby(me, {}, 10, None)) == expected
    assert commands.not_by_id(in_allowed=True) == []


def test_another_process_adopting_is_left_to_it(watched):
    store, _ = watched
    _legacy_members(store.db, 1)
    now = domain.now_utc()
    store.db["sequences_adopted"].insert_one({"_id": nearby_cells.CLAIM, "at": now})
    assert store.adopt_nearby() is None
    assert not store.nearby.adopted()
    # A claim older than CLAIM_EXPIRES is a process that died: taken over.
    store.db["sequences_adopted"].update_one(
        {"_id": nearby_cells.CLAIM}, {"$set": {"at": now - nearby_cells.CLAIM_EXPIRES - timedelta(seconds=1)}}
    )
    assert store.adopt_nearby() == 1
    assert store.nearby.adopted()


def test_the_service_adopts_existing_members_on_a_timer_after_it_answers(container_factory, service_config, db):
    old = _legacy_members(db, 2)
    container = container_factory(MembersService, service_config)
    container.start()
    assert call(container, "ping") == "pong"
    fields = {"email": "me@example.org", "password": PASSWORD, "display_name": "Me", "city": "paris"}
    me = call(container, "register", fields, client="10.2.0.1")["member"]["id"]
    assert call(container, "update_profile", me, {"home_location": HOME})["errors"] == []
    assert _bands(call(container, "parents_nearby", me, {}, 10)) == {old[0]: "UNDER_1_KM", old[1]: "FROM_1_TO_3_KM"}
    marker = {"_id": nearby_cells.MARKER}
    wait_for(lambda: db["sequences_adopted"].find_one(marker), 60, 0.2, "the timer's adoption")
    tiles = {e["member_id"] for e in db[nearby_cells.COLLECTION].find({"member_id": {"$exists": True}})}
    assert set(old) | {me} <= tiles
    assert _bands(call(container, "parents_nearby", me, {}, 10)) == {old[0]: "UNDER_1_KM", old[1]: "FROM_1_TO_3_KM"}
