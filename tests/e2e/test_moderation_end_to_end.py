"""Moderation through the GraphQL API on the real processes (issue 19): a reported listing or
outing hidden by a network moderator leaves lists, search and the live feed; the audit log keeps
the action; the reporter is told; a suspended member cannot propose; a group admin sees only their
group's queue; a non-moderator sees nothing."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

from conftest import post
from pymongo import MongoClient
from support.subscriptions import Subscriber, ws_url

from parentnet_kit.testing import wait_for

REPORT = """mutation($input: ContentReportInput!) {
  contentReport(input: $input) { report { id status reason subjectId snapshot { title text author { id } } }
    userErrors { field message code } } }"""
QUEUE = """query($group: ID) { moderationQueue(groupId: $group, first: 50) {
  totalCount nodes { id subjectType subjectId reason note status snapshot { title text group { id } } } } }"""
AUDIT = """query($group: ID) { moderationAuditLog(groupId: $group, first: 50) {
  totalCount nodes { id action reason actor { id } subjectId member { id } reportId until at } } }"""
ACT = """mutation($input: ModerationActInput!) {
  moderationAct(input: $input) { moderationAction { id action reason } userErrors { field message code } } }"""
GRANT = """mutation($input: NetworkModeratorGrantInput!) {
  networkModeratorGrant(input: $input) { granted userErrors { field code } } }"""
INBOX = "{ inbox(first: 20) { nodes { type message } } }"
LISTING = """mutation($input: ListingCreateInput!) {
  listingCreate(input: $input) { listing { id } userErrors { field message code } } }"""
NEARBY_LISTINGS = """query($near: GeoPointInput!) {
  nearbyListings(near: $near, radiusKm: 3, first: 100) { nodes { id } } }"""
OUTING = """mutation($input: OutingCreateInput!) {
  outingCreate(input: $input) { outing { id } userErrors { field message code } } }"""
NEARBY_OUTINGS = """query($near: GeoPointInput!) {
  nearbyOutings(near: $near, radiusKm: 3, first: 100) { nodes { id } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
JOIN = "mutation($id: ID!) { outingJoin(input: {outingId: $id}) { userErrors { code } } }"
PASSWORD = "a long test password"


def outing_input(title: str, where: dict, **extra) -> dict:
    return {
        "title": title,
        "description": "Goûter pour les enfants",
        "category": "PARK",
        "startsAt": "2031-06-06T10:00",
        "endsAt": "2031-06-06T12:00",
        "venueName": "Parc de la Villette",
        "location": where,
        "city": "paris",
        "capacity": 10,
        **extra,
    }


def _network_admin(http, stack) -> dict:
    """A network admin, named as ops do (``python -m members.admins grant``)."""
    register = """mutation($input: MemberRegisterInput!) { memberRegister(input: $input) {
      accessToken member { id } } }"""
    email = f"moderation-admin-{uuid.uuid4().hex[:8]}@parentnet.test"
    fields = {"email": email, "password": PASSWORD, "displayName": "Admin", "city": "paris"}
    registered = post(http, register, {"input": fields}).json()["data"]["memberRegister"]
    granted = subprocess.run(
        [sys.executable, "-m", "members.admins", "grant", email],
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert granted.returncode == 0, granted.stderr
    return {"token": registered["accessToken"], "id": registered["member"]["id"]}


def _moderator(http, stack, gql, sign_up) -> dict:
    admin = _network_admin(http, stack)
    moderator = sign_up("Moderator")
    granted = gql(GRANT, {"input": {"memberId": moderator["id"]}}, token=admin["token"])["networkModeratorGrant"]
    assert granted == {"granted": True, "userErrors": []}
    return moderator


def test_a_reported_listing_hidden_by_a_network_moderator_is_gone_and_the_reporter_told(http, stack, gql, sign_up):
    owner, reporter, bystander = sign_up("Owner"), sign_up("Reporter"), sign_up("Bystander")
    moderator = _moderator(http, stack, gql, sign_up)
    where = {"lat": 48.8790, "lon": 2.3900}
    listing_input = {
        "kind": "GIVE",
        "category": "TOYS",
        "title": f"Jouets {uuid.uuid4().hex[:6]}",
        "city": "paris",
        "pickupAddress": "1 rue de Belleville, Paris",
        "pickupLocation": where,
    }
    made = gql(LISTING, {"input": listing_input}, token=owner["token"])["listingCreate"]
    assert made["userErrors"] == []
    listing_id = made["listing"]["id"]

    def listed() -> bool:
        nodes = gql(NEARBY_LISTINGS, {"near": where}, token=bystander["token"])["nearbyListings"]["nodes"]
        return listing_id in {n["id"] for n in nodes}

    wait_for(listed, timeout=10, what="the listing in search")

    # A non-moderator sees no queue, not even its count; and cannot act.
    report_input = {"subjectId": listing_id, "reason": "SCAM", "note": "Asks for money first"}
    filed = gql(REPORT, {"input": report_input}, token=reporter["token"])["contentReport"]
    assert filed["userErrors"] == []
    assert filed["report"]["status"] == "OPEN"
    assert filed["report"]["snapshot"]["title"] == listing_input["title"]
    assert filed["report"]["snapshot"]["author"]["id"] == owner["id"]
    for who in (reporter, bystander, owner):
        assert gql(QUEUE, {}, token=who["token"])["moderationQueue"] == {"totalCount": 0, "nodes": []}
        assert gql(AUDIT, {}, token=who["token"])["moderationAuditLog"] == {"totalCount": 0, "nodes": []}
    refused = gql(
        ACT,
        {"input": {"reportId": filed["report"]["id"], "action": "HIDE", "reason": "mine"}},
        token=bystander["token"],
    )["moderationAct"]
    assert [e["code"] for e in refused["userErrors"]] == ["FORBIDDEN"]

    # The network moderator finds it in the network's queue, with what was reported.
    assert gql("{ networkModerator }", token=moderator["token"]) == {"networkModerator": True}
    assert gql("{ networkModerator }", token=bystander["token"]) == {"networkModerator": False}
    queue = gql(QUEUE, {}, token=moderator["token"])["moderationQueue"]
    [item] = [n for n in queue["nodes"] if n["subjectId"] == listing_id]
    assert item["reason"] == "SCAM" and item["note"] == "Asks for money first"
    assert item["snapshot"]["title"] == listing_input["title"]

    heard = "subscription { notificationReceived { type message } }"
    with Subscriber(ws_url(stack), heard, token=reporter["token"]) as reporter_hears:
        acted = gql(
            ACT, {"input": {"reportId": item["id"], "action": "HIDE", "reason": "A scam"}}, token=moderator["token"]
        )["moderationAct"]
        assert acted["userErrors"] == [] and acted["moderationAction"]["action"] == "HIDE"
        (live,) = reporter_hears.wait(1)  # the reporter is told live, too
    assert live["payload"]["data"]["notificationReceived"]["type"] == "REPORT_RESOLVED"

    # Gone from search and from node() for everyone but its owner. Search and listings each
    # apply moderation's event from their own queue, in no promised order: wait for each.
    wait_for(lambda: not listed(), timeout=15, what="the hidden listing gone from nearbyListings")
    wait_for(
        lambda: gql(NODE, {"id": listing_id}, token=bystander["token"])["node"] is None,
        timeout=15,
        what="the hidden listing gone from node() for a bystander",
    )
    assert gql(NODE, {"id": listing_id}, token=owner["token"])["node"] == {"id": listing_id}
    # The report left the queue; the audit log has the action, who, why.
    queue = gql(QUEUE, {}, token=moderator["token"])["moderationQueue"]
    assert listing_id not in {n["subjectId"] for n in queue["nodes"]}
    log = gql(AUDIT, {}, token=moderator["token"])["moderationAuditLog"]["nodes"]
    [entry] = [e for e in log if e["subjectId"] == listing_id]
    assert entry["action"] == "HIDE" and entry["reason"] == "A scam" and entry["actor"]["id"] == moderator["id"]
    assert entry["reportId"] == item["id"]

    # The reporter is told.
    def told():
        nodes = gql(INBOX, token=reporter["token"])["inbox"]["nodes"]
        return [n for n in nodes if n["type"] == "REPORT_RESOLVED"]

    [notice] = wait_for(told, timeout=15, what="the reporter told the outcome")
    # In the reporter's language: a new member's is their city's first (Paris: French).
    assert notice["message"] == "Merci pour votre signalement : un modérateur a masqué ce que vous avez signalé."

    # Restored, it comes back.
    restored = gql(
        ACT,
        {"input": {"subjectId": listing_id, "action": "RESTORE", "reason": "Appeal upheld"}},
        token=moderator["token"],
    )["moderationAct"]
    assert restored["userErrors"] == []
    wait_for(listed, timeout=15, what="the restored listing back in nearbyListings")


def test_a_hidden_outing_leaves_search_and_the_live_feed_and_a_suspended_member_cannot_propose(
    http, stack, gql, sign_up
):
    organizer, reporter, parent = sign_up("Organizer"), sign_up("Reporter"), sign_up("Parent")
    # Ops name this network moderator with the command itself.
    moderator = sign_up("Moderator")
    assert gql(QUEUE, {}, token=moderator["token"])["moderationQueue"]["totalCount"] == 0
    granted = subprocess.run(
        [sys.executable, "-m", "moderation.roles", "grant", moderator["email"]],
        env={**os.environ, **stack.operator_env()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert granted.returncode == 0, granted.stderr
    where = {"lat": 48.8890, "lon": 2.3940}
    hidden = gql(OUTING, {"input": outing_input("Goûter douteux", where)}, token=organizer["token"])["outingCreate"]
    control = gql(OUTING, {"input": outing_input("Goûter témoin", where)}, token=moderator["token"])["outingCreate"]
    hidden_id, control_id = hidden["outing"]["id"], control["outing"]["id"]

    def found() -> set[str]:
        nodes = gql(NEARBY_OUTINGS, {"near": where}, token=parent["token"])["nearbyOutings"]["nodes"]
        return {n["id"] for n in nodes}

    wait_for(lambda: {hidden_id, control_id} <= found(), timeout=10, what="both outings in search")
    report = gql(REPORT, {"input": {"subjectId": hidden_id, "reason": "SPAM"}}, token=reporter["token"])
    report_id = report["contentReport"]["report"]["id"]
    # What the report keeps of the outing: its words and who, never where (nor in its events).
    client = MongoClient(stack.env["MONGO_URI"])
    local_id = base64.urlsafe_b64decode(hidden_id + "=" * (-len(hidden_id) % 4)).decode().partition(":")[2]
    [kept] = client[stack.env["MODERATION_DB"]]["reports"].find({"subject_id": local_id})
    client.close()
    assert kept["snapshot"]["title"] == "Goûter douteux"
    assert str(where["lat"])[:6] not in repr(kept) and "location" not in repr(kept)
    attendance = "subscription($id: ID!) { outingAttendanceChanged(outingId: $id) { id } }"
    with (
        Subscriber(ws_url(stack), attendance, {"id": hidden_id}, token=parent["token"]) as hidden_feed,
        Subscriber(ws_url(stack), attendance, {"id": control_id}, token=parent["token"]) as control_feed,
    ):
        acted = gql(
            ACT, {"input": {"reportId": report_id, "action": "REMOVE", "reason": "Spam"}}, token=moderator["token"]
        )
        assert acted["moderationAct"]["userErrors"] == []
        wait_for(lambda: hidden_id not in found(), timeout=15, what="the removed outing gone from nearbyOutings")
        # Events applies moderation's event from its own queue, apart from search's: wait until
        # it has (node() is events' answer), else the join below could precede the removal.
        wait_for(
            lambda: gql(NODE, {"id": hidden_id}, token=parent["token"])["node"] is None,
            timeout=15,
            what="the removed outing gone from node()",
        )
        # What happens to it after is pushed to nobody; the control outing's news still is.
        gql(JOIN, {"id": hidden_id}, token=parent["token"])
        gql(JOIN, {"id": control_id}, token=parent["token"])
        control_feed.wait(1)
        assert hidden_feed.messages == []
    assert control_id in found()
    assert gql(NODE, {"id": hidden_id}, token=parent["token"])["node"] is None

    # Suspended for a week: cannot propose an outing (nor post a listing), and is told so.
    until = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    suspend = {"reportId": report_id, "action": "SUSPEND", "reason": "Repeated spam", "until": until}
    assert gql(ACT, {"input": suspend}, token=moderator["token"])["moderationAct"]["userErrors"] == []

    def refused():
        made = gql(OUTING, {"input": outing_input("Encore", where)}, token=organizer["token"])["outingCreate"]
        return made["userErrors"] if made["outing"] is None else None

    errors = wait_for(refused, timeout=15, interval=0.2, what="the suspended member refused")
    assert [e["code"] for e in errors] == ["SUSPENDED"]
    log = gql(AUDIT, {}, token=moderator["token"])["moderationAuditLog"]["nodes"]
    assert {"REMOVE", "SUSPEND"} <= {e["action"] for e in log if e["reportId"] == report_id}


def test_a_group_admin_sees_only_their_group_queue(http, stack, gql, sign_up):
    admin, member, reporter, other_admin = sign_up("Admin"), sign_up("Member"), sign_up("Reporter"), sign_up("Other")
    make = 'mutation($name: String!) { groupCreate(input: {name: $name, city: "paris"}) { group { id } } }'
    join = "mutation($g: ID!) { groupJoin(input: {groupId: $g}) { userErrors { code } } }"
    group_id = gql(make, {"name": f"Parents {uuid.uuid4().hex[:6]}"}, token=admin["token"])["groupCreate"]["group"][
        "id"
    ]
    other_group = gql(make, {"name": f"Autres {uuid.uuid4().hex[:6]}"}, token=other_admin["token"])["groupCreate"]
    for who in (member, reporter):
        assert gql(join, {"g": group_id}, token=who["token"])["groupJoin"]["userErrors"] == []
    where = {"lat": 48.8500, "lon": 2.4000}
    in_group = gql(OUTING, {"input": outing_input("Sortie du groupe", where, groupId=group_id)}, token=member["token"])[
        "outingCreate"
    ]
    assert in_group["userErrors"] == []
    outside = gql(OUTING, {"input": outing_input("Sortie publique", where)}, token=member["token"])["outingCreate"]
    for outing in (in_group, outside):
        filed = gql(
            REPORT, {"input": {"subjectId": outing["outing"]["id"], "reason": "HARASSMENT"}}, token=reporter["token"]
        )
        assert filed["contentReport"]["userErrors"] == []

    # The group's admin (a role kept from members' events, within seconds) sees their group's report only.
    def group_queue():
        return gql(QUEUE, {"group": group_id}, token=admin["token"])["moderationQueue"]["nodes"] or None

    [item] = wait_for(group_queue, timeout=15, what="the group admin's queue")
    assert item["subjectId"] == in_group["outing"]["id"]
    assert item["snapshot"]["group"]["id"] == group_id
    assert gql(QUEUE, {}, token=admin["token"])["moderationQueue"] == {"totalCount": 0, "nodes": []}
    # Another group's admin and a plain member get nothing of it.
    other_id = other_group["group"]["id"]
    wait_for(
        lambda: gql(QUEUE, {"group": other_id}, token=other_admin["token"])["moderationQueue"]["totalCount"] == 0,
        timeout=15,
        what="the other admin's own empty queue",
    )
    for who in (other_admin, member):
        assert gql(QUEUE, {"group": group_id}, token=who["token"])["moderationQueue"] == {"totalCount": 0, "nodes": []}
    # The group admin hides it; their group's audit log has it, and they cannot suspend anyone.
    hide = {"reportId": item["id"], "action": "HIDE", "reason": "Not kind"}
    assert gql(ACT, {"input": hide}, token=admin["token"])["moderationAct"]["userErrors"] == []
    log = gql(AUDIT, {"group": group_id}, token=admin["token"])["moderationAuditLog"]["nodes"]
    assert [e["action"] for e in log] == ["HIDE"]
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    suspend = {"reportId": item["id"], "action": "SUSPEND", "reason": "No", "until": until}
    refused = gql(ACT, {"input": suspend}, token=admin["token"])["moderationAct"]["userErrors"]
    assert [e["code"] for e in refused] == ["FORBIDDEN"]


def test_a_removed_trusted_contact_leaves_the_directory(http, stack, gql, sign_up):
    adder, reporter, parent = sign_up("Adder"), sign_up("Reporter"), sign_up("Parent")
    moderator = _moderator(http, stack, gql, sign_up)
    name = f"Dr Faux {uuid.uuid4().hex[:6]}"
    create = """mutation($name: String!) { contactCreate(input: {kind: MIDWIFE, name: $name, city: "saint-denis",
      phone: "+33 4 00 00 00 00", languages: ["fr"]}) { contact { id } userErrors { code } } }"""
    made = gql(create, {"name": name}, token=adder["token"])["contactCreate"]
    assert made["userErrors"] == [], made
    contact_id = made["contact"]["id"]
    directory = '{ contacts(city: "saint-denis", kind: MIDWIFE, first: 100) { totalCount nodes { id } } }'

    def listed() -> bool:
        return contact_id in {n["id"] for n in gql(directory, token=parent["token"])["contacts"]["nodes"]}

    assert listed()
    filed = gql(REPORT, {"input": {"subjectId": contact_id, "reason": "SCAM"}}, token=reporter["token"])
    report_id = filed["contentReport"]["report"]["id"]
    remove = {"reportId": report_id, "action": "REMOVE", "reason": "Not a doctor"}
    assert gql(ACT, {"input": remove}, token=moderator["token"])["moderationAct"]["userErrors"] == []
    wait_for(lambda: not listed(), timeout=15, what="the removed contact gone from the directory")
    assert gql(NODE, {"id": contact_id}, token=parent["token"])["node"] is None
