"""Blocks and groups at volume, from outside, through the GraphQL API (from the stop-26 review).

One stack of its own with two members processes and two gateways (``devtools.isolated``'s
``MixedStack``: ``members@2`` and ``gateway@b`` beside the usual ones), filled by
``devtools.volume`` (members, groups, memberships and blocks in far cities). The heavy member,
Vera, makes 300 blocks (lifts 100), receives 120, joins 200 groups and leaves 190, all through the
API (the blocks she receives are signed raw RPCs, as the gateway sends them). Then what a user
checks: a block hides both sides at once in parents near me, profiles, nearby outings and
messages, an unblock brings them back, a join or leave shows at once, each read through the other
gateway than the write; racing block/unblock/block from two phones ends in the state the store
holds in every view; a kill -9 of both members processes right after a block is answered loses
nothing. Phones talk from loopback addresses of their own (limits as deployed).
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import post
from pymongo import MongoClient
from support.graphql import register
from support.phones import PhoneTransport, next_address
from test_outing_end_to_end import CREATE as OUTING_CREATE
from test_outing_end_to_end import proposal

from devtools import volume
from devtools.isolated import free_port, mixed_stack
from gateway.ids import from_global_id, to_global_id
from parentnet_kit import config, identity
from parentnet_kit.testing import wait_for

VOLUME_MEMBERS = int(os.environ.get("RELATIONS_VOLUME_MEMBERS", "6000"))  # 240 groups, 6,000 members
HOME = {"lat": 48.8600, "lon": 2.3500}
BLOCK = "mutation($id: ID!) { memberBlock(input: {memberId: $id}) { userErrors { code } } }"
UNBLOCK = "mutation($id: ID!) { memberUnblock(input: {memberId: $id}) { userErrors { code } } }"
JOIN = "mutation($g: ID!) { groupJoin(input: {groupId: $g}) { userErrors { code } } }"
LEAVE = "mutation($g: ID!) { groupLeave(input: {groupId: $g}) { userErrors { code } } }"
SET_HOME = """mutation($home: GeoPointInput) { memberUpdateProfile(input: {homeLocation: $home}) {
  userErrors { field code } } }"""
NEAR_ME = "{ parentsNearby(first: 100) { edges { node { id } } } }"
OUTINGS = """query($near: GeoPointInput!) { nearbyOutings(near: $near, radiusKm: 3, first: 100) {
  nodes { id } } }"""
MEMBER = "query($id: ID!) { node(id: $id) { id } }"
MY_GROUPS = "{ viewer { groups { id } } }"
GROUP = """query($id: ID!) { node(id: $id) { ... on Group { memberCount
  members(first: 100) { edges { node { id } } } } } }"""
CREATE_GROUP = """mutation($name: String!) { groupCreate(input: {name: $name, city: "paris"}) {
  group { id } userErrors { code } } }"""
SEND = """mutation($to: ID!, $text: String!) { messageSend(input: {recipientId: $to, text: $text}) {
  message { id } userErrors { code } } }"""
INBOX = "{ messageRequests(first: 100) { nodes { id } } conversations(first: 100) { nodes { id } } }"


class Api:
    """The two gateways, each reached from phones of their own."""

    def __init__(self, stack) -> None:
        self.transport = PhoneTransport()
        self.clients = {
            name: httpx.Client(
                base_url=f"http://127.0.0.1:{stack.port_of(name)}",
                timeout=45,
                transport=self.transport,
                headers={"accept": "application/graphql-response+json"},
            )
            for name in ("gateway", "gateway@b")
        }

    def run(self, gateway: str, query: str, variables: dict | None, who: dict, phone: str | None = None) -> dict:
        body = post(self.clients[gateway], query, variables, who["token"], local_address=phone or who["phone"]).json()
        assert "errors" not in body, body
        return body["data"]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        self.transport.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with mixed_stack("relations", tmp_path_factory.mktemp("rel"), start=False) as running:
        running.gateway_ports["gateway@b"] = free_port()
        volume.fill(
            config.mongo_uri(),
            VOLUME_MEMBERS,
            members_db=running.env["MEMBERS_DB"],
            in_cities=volume.FAR_FROM_TESTS,
            outbox_history=False,
        )
        running.start_all()
        running.start("members@2")
        running.start("gateway@b")
        running.wait_healthy(180)
        wait_for(lambda: _ready(running, "gateway@b"), 60, what="the second gateway ready")
        api = Api(running)
        yield running, api
        api.close()


def _ready(stack, name: str) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{stack.port_of(name)}/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def sign_up(api: Api, name: str) -> dict:
    phone = next_address()
    made = register(api.clients["gateway"], name, "paris", local_address=phone)
    assert made["userErrors"] == [], made
    return {
        "token": made["accessToken"],
        "id": made["member"]["id"],
        "local": from_global_id(made["member"]["id"])[1],
        "phone": phone,
    }


def signer(stack) -> identity.IdentitySigner:
    return identity.IdentitySigner(Path(stack.run_dir / "keys" / "identity-private.pem").read_bytes())


@pytest.fixture(scope="module")
def vera(world):
    """The heavy member, at volume: 300 blocks made (100 lifted), 120 received, 200 groups
    joined (190 left); returns her with what her views must say."""
    stack, api = world
    vera = sign_up(api, "Vera")
    assert api.run("gateway", SET_HOME, {"home": HOME}, vera)["memberUpdateProfile"]["userErrors"] == []
    db = MongoClient(config.mongo_uri())[stack.env["MEMBERS_DB"]]
    others = [d["_id"] for d in db.members.find({"_id": {"$regex": "^vol"}}, {"_id": 1}).limit(420)]
    groups = [d["_id"] for d in db.groups.find({"_id": {"$regex": "^vol"}}, {"_id": 1})][:200]
    db.client.close()
    assert len(others) == 420 and len(groups) == 200
    phones = [next_address() for _ in range(4)]

    def through(query: str, key: str, variables: dict, n: int) -> list:
        gateway = ("gateway", "gateway@b")[n % 2]
        return api.run(gateway, query, variables, vera, phones[n % 4])[key]["userErrors"]

    with ThreadPoolExecutor(4) as pool:
        made = list(
            pool.map(
                lambda p: through(BLOCK, "memberBlock", {"id": to_global_id("Member", p[1])}, p[0]),
                enumerate(others[:300]),
            )
        )
        lifted = list(
            pool.map(
                lambda p: through(UNBLOCK, "memberUnblock", {"id": to_global_id("Member", p[1])}, p[0]),
                enumerate(others[:100]),
            )
        )
        joined = list(
            pool.map(lambda p: through(JOIN, "groupJoin", {"g": to_global_id("Group", p[1])}, p[0]), enumerate(groups))
        )
        left = list(
            pool.map(
                lambda p: through(LEAVE, "groupLeave", {"g": to_global_id("Group", p[1])}, p[0]),
                enumerate(groups[:190]),
            )
        )
    assert all(e == [] for e in made + lifted + joined + left)
    sign = signer(stack)
    from nameko.standalone.rpc import ClusterRpcProxy

    def blocked_by(blocker: str) -> dict:
        context = {identity.HEADER: sign.token(blocker, "members")}
        with ClusterRpcProxy({"AMQP_URI": stack.env["AMQP_URI"]}, context_data=context, timeout=30) as bus:
            return bus.members.block(blocker, vera["local"])

    with ThreadPoolExecutor(4) as pool:
        received = list(pool.map(blocked_by, others[300:420]))
    assert all(r["errors"] == [] for r in received)
    fields = proposal(f"Goûter de Vera {uuid.uuid4().hex[:4]}", HOME["lat"], HOME["lon"])
    made = api.run("gateway", OUTING_CREATE, {"input": fields}, vera)["outingCreate"]
    assert made["userErrors"] == [], made
    return {
        **vera,
        "outing": made["outing"]["id"],
        "blocks": set(others[100:300]),
        "blocked_by": set(others[300:420]),
        "groups": set(groups[190:]),
    }


def partner(world, vera: dict, name: str) -> dict:
    """A parent living next to Vera, with an outing near her, both seen by her."""
    _, api = world
    other = sign_up(api, name)
    home = {"lat": HOME["lat"] + 0.001, "lon": HOME["lon"] + 0.001}
    assert api.run("gateway", SET_HOME, {"home": home}, other)["memberUpdateProfile"]["userErrors"] == []
    fields = proposal(f"Goûter de {name} {uuid.uuid4().hex[:4]}", home["lat"], home["lon"])
    made = api.run("gateway", OUTING_CREATE, {"input": fields}, other)["outingCreate"]
    assert made["userErrors"] == [], made
    other["outing"] = made["outing"]["id"]
    wait_for(lambda: other["outing"] in outings_seen(api, "gateway", vera), 15, what="the partner's outing indexed")
    wait_for(
        lambda: vera["outing"] in outings_seen(api, "gateway", other), 15, what="vera's outing seen by the partner"
    )
    return other


def outings_seen(api: Api, gateway: str, who: dict) -> set[str]:
    return {n["id"] for n in api.run(gateway, OUTINGS, {"near": HOME}, who)["nearbyOutings"]["nodes"]}


def near(api: Api, gateway: str, who: dict) -> set[str]:
    return {e["node"]["id"] for e in api.run(gateway, NEAR_ME, None, who)["parentsNearby"]["edges"]}


def apart_views(api: Api, gateway: str, vera: dict, other: dict) -> dict[str, bool]:
    """For each view, whether the two are kept apart in it (True) or see each other (False)."""
    return {
        "vera's parents near me": other["id"] not in near(api, gateway, vera),
        "other's parents near me": vera["id"] not in near(api, gateway, other),
        "vera's nearby outings": other["outing"] not in outings_seen(api, gateway, vera),
        "other's nearby outings": vera["outing"] not in outings_seen(api, gateway, other),
        "other's node(vera)": api.run(gateway, MEMBER, {"id": vera["id"]}, other)["node"] is None,
    }


def search_apart(api: Api, gateway: str, vera: dict, other: dict) -> dict[str, bool]:
    """The views search answers (fed by events): whether each hides the other's outing."""
    return {
        "vera's nearby outings": other["outing"] not in outings_seen(api, gateway, vera),
        "other's nearby outings": vera["outing"] not in outings_seen(api, gateway, other),
    }


def reached(api: Api, gateway: str, vera: dict, sender: dict) -> bool:
    """``sender`` writes to Vera: whether anything at all shows in Vera's message lists."""
    api.run(gateway, SEND, {"to": vera["id"], "text": f"Bonjour {uuid.uuid4().hex[:4]}"}, sender)
    lists = api.run(gateway, INBOX, None, vera)
    return bool(lists["messageRequests"]["nodes"] or lists["conversations"]["nodes"])


def test_vera_at_volume_sees_her_groups_from_both_gateways(world, vera):
    _, api = world
    for gateway in ("gateway", "gateway@b"):
        mine = {from_global_id(g["id"])[1] for g in api.run(gateway, MY_GROUPS, None, vera)["viewer"]["groups"]}
        assert mine == vera["groups"], gateway


def test_a_block_shows_everywhere_at_once_and_an_unblock_once_search_has_it(world, vera):
    """Each state read at once (no wait) through the other gateway than the write. A block hides
    both sides at once everywhere (the gateway drops from search's pages what members says is
    apart). An unblock shows at once everywhere but in the search views, which bring the other's
    outing back once search's block index has the unblock (the gateway can only take away): those
    are waited for (15 s). When a view lags, the failure says how long it took to agree."""
    _, api = world
    other = partner(world, vera, "Wanda")
    seen = {"before": apart_views(api, "gateway@b", vera, other)}
    assert api.run("gateway", BLOCK, {"id": other["id"]}, vera)["memberBlock"]["userErrors"] == []
    answered = time.monotonic()
    seen["blocked"] = apart_views(api, "gateway@b", vera, other)
    seen["blocked"]["a message from the blocked one kept from vera"] = not reached(api, "gateway@b", vera, other)
    lag = {}
    if not all(seen["blocked"].values()):
        wait_for(lambda: all(search_apart(api, "gateway@b", vera, other).values()), 15, 0.2, "the block in search")
        lag["block, s"] = round(time.monotonic() - answered, 2)
    assert api.run("gateway@b", UNBLOCK, {"id": other["id"]}, vera)["memberUnblock"]["userErrors"] == []
    answered = time.monotonic()
    seen["unblocked"] = apart_views(api, "gateway", vera, other)
    if any(seen["unblocked"].values()):
        wait_for(lambda: not any(search_apart(api, "gateway", vera, other).values()), 15, 0.2, "the unblock in search")
        lag["unblock, s"] = round(time.monotonic() - answered, 2)
    for view in search_apart(api, "gateway", vera, other):  # followed after search's lag, above
        seen["unblocked"].pop(view)
    want = {
        "before": dict.fromkeys(seen["before"], False),
        "blocked": dict.fromkeys(seen["blocked"], True),
        "unblocked": dict.fromkeys(seen["unblocked"], False),
    }
    assert seen == want, f"views agreed only after {lag}"


def test_joining_and_leaving_show_at_once_in_every_view_through_the_other_gateway(world, vera):
    _, api = world
    founder = sign_up(api, "Fondatrice")
    made = api.run("gateway", CREATE_GROUP, {"name": f"Square {uuid.uuid4().hex[:6]}"}, founder)["groupCreate"]
    group = made["group"]["id"]
    wrong = []
    for round_ in range(6):
        write, read = ("gateway", "gateway@b") if round_ % 2 == 0 else ("gateway@b", "gateway")
        assert api.run(write, JOIN, {"g": group}, vera)["groupJoin"]["userErrors"] == []
        mine = {g["id"] for g in api.run(read, MY_GROUPS, None, vera)["viewer"]["groups"]}
        listed = api.run(read, GROUP, {"id": group}, founder)["node"]
        members = {e["node"]["id"] for e in listed["members"]["edges"]}
        if group not in mine or vera["id"] not in members or listed["memberCount"] != 2:
            wrong.append(("joined", round_, group in mine, vera["id"] in members, listed["memberCount"]))
        assert api.run(write, LEAVE, {"g": group}, vera)["groupLeave"]["userErrors"] == []
        mine = {g["id"] for g in api.run(read, MY_GROUPS, None, vera)["viewer"]["groups"]}
        listed = api.run(read, GROUP, {"id": group}, founder)["node"]
        members = {e["node"]["id"] for e in listed["members"]["edges"]}
        if group in mine or vera["id"] in members or listed["memberCount"] != 1:
            wrong.append(("left", round_, group in mine, vera["id"] in members, listed["memberCount"]))
    assert wrong == []


def test_racing_block_unblock_block_from_two_phones_ends_as_the_store_says_in_every_view(world, vera):
    """Vera's two phones (each its own address, one per gateway) send block, unblock and block at
    the same instant; once all are answered, every view agrees with the block the store holds,
    and a last unblock shows at once."""
    stack, api = world
    other = partner(world, vera, "Rita")
    phones = [next_address(), next_address()]
    db = MongoClient(config.mongo_uri())[stack.env["MEMBERS_DB"]]
    sign = signer(stack)
    from nameko.standalone.rpc import ClusterRpcProxy

    def context(times: int = 4) -> list[bool]:
        token = {identity.HEADER: sign.token(vera["local"], "members")}
        with ClusterRpcProxy({"AMQP_URI": stack.env["AMQP_URI"]}, context_data=token, timeout=30) as bus:
            return [other["local"] in bus.members.viewer_context(vera["local"])["blocked"] for _ in range(times)]

    disagreements = []
    for round_ in range(6):
        barrier = threading.Barrier(3)

        def send(step: tuple[str, str, str], barrier: threading.Barrier = barrier) -> list:
            query, key, phone = step
            gateway = "gateway" if phone == phones[0] else "gateway@b"
            barrier.wait()
            return api.run(gateway, query, {"id": other["id"]}, vera, phone)[key]["userErrors"]

        steps = [
            (BLOCK, "memberBlock", phones[0]),
            (UNBLOCK, "memberUnblock", phones[1]),
            (BLOCK, "memberBlock", phones[0]),
        ]
        with ThreadPoolExecutor(3) as pool:
            assert all(e == [] for e in pool.map(send, steps))
        doc = db.blocks.find_one({"_id": f"block:{vera['local']}:{other['local']}"})
        truth = bool(doc and doc["active"])
        views = {
            "vera's parents near me (a)": other["id"] not in near(api, "gateway", vera),
            "vera's parents near me (b)": other["id"] not in near(api, "gateway@b", vera),
            "other's node(vera) (a)": api.run("gateway", MEMBER, {"id": vera["id"]}, other)["node"] is None,
            "other's node(vera) (b)": api.run("gateway@b", MEMBER, {"id": vera["id"]}, other)["node"] is None,
        }
        for n, blocked in enumerate(context()):
            views[f"members.viewer_context #{n}"] = blocked
        if any(v != truth for v in views.values()):
            disagreements.append({"round": round_, "store": truth, **views})
        # The search views are fed by events (the block index): they must come to the same state.
        wait_for(
            lambda t=truth: all(v == t for v in search_apart(api, "gateway", vera, other).values()),
            15,
            0.2,
            f"round {round_}: every view as the store says ({truth})",
        )
    assert api.run("gateway", UNBLOCK, {"id": other["id"]}, vera)["memberUnblock"]["userErrors"] == []
    db.client.close()
    assert disagreements == []
    wait_for(lambda: not any(search_apart(api, "gateway@b", vera, other).values()), 15, 0.2, "the last unblock")
    last = apart_views(api, "gateway@b", vera, other)
    assert last == dict.fromkeys(last, False)


def test_a_block_answered_just_before_a_kill_9_of_members_holds_after_the_restart(world, vera):
    stack, api = world
    other = partner(world, vera, "Karla")
    assert api.run("gateway", BLOCK, {"id": other["id"]}, vera)["memberBlock"]["userErrors"] == []
    for name in ("members", "members@2"):
        os.killpg(stack.processes[name].pid, signal.SIGKILL)
    for name in ("members", "members@2"):
        stack.processes[name].wait(10)
        stack.processes.pop(name)
        stack.start(name)
    stack.wait_healthy(120)
    # At once after the restart, through the other gateway: what members answers, and messages.
    seen = apart_views(api, "gateway@b", vera, other)
    seen["a message from the blocked one kept from vera"] = not reached(api, "gateway@b", vera, other)
    for view in search_apart(api, "gateway@b", vera, other):
        seen.pop(view)
    # Search is fed by the block's event: the sweeper republishes what the crash left, so
    # within the suites' 15 s.
    wait_for(lambda: all(search_apart(api, "gateway@b", vera, other).values()), 15, 0.2, "the block in search")
    assert seen == dict.fromkeys(seen, True)
