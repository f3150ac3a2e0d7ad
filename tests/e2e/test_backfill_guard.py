"""The services' export RPCs (the search backfill's sources) and the search copy of memberships.

- Each ``export_*`` RPC answers only the backfill's operator token (``parentnet_kit.identity
  .BACKFILL``): a raw RPC on the bus without a token, with a member's genuine token, or with a
  token for another service is refused. They page out who blocked whom, every membership of
  every private group, private groups' threads: before, anyone on the bus could read them.
- An upgrade's gap, closed: search keeps its own copy of memberships (a private group's items
  show to members it knows of). On the first deploy of that copy, or after losing it, it is
  empty, and members of a private group would not find its items until their membership
  changed. ``python -m search.backfill --only memberships`` fills it from
  ``members.export_memberships``: the member finds the group's outing again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import post, run_backfill
from test_blocks_in_search import activities_found
from test_community_end_to_end import OFFER, TRIP_CREATE, school_run, shift
from test_conversations_end_to_end import JOIN, PUBLIC_GROUP
from test_my_outings_end_to_end import GROUP
from test_outing_end_to_end import CREATE as OUTING_CREATE
from test_outing_end_to_end import proposal

from gateway.ids import from_global_id
from parentnet_kit import config, identity
from parentnet_kit.testing import wait_for

NEARBY = """query($near: GeoPointInput!) { nearbyOutings(near: $near, radiusKm: 2, first: 50) {
  nodes { id } } }"""
# A corner of Montréal no other test places anything near.
PLACE = {"lat": 45.6100, "lon": -73.5200}
EXPORTS = [
    ("members", "export_blocks", {}),
    ("members", "export_memberships", {}),
    ("members", "export_groups", {}),
    ("events", "export_outings", {}),
    ("events", "export_activities", {"kind": "coop_shift"}),
    ("listings", "export_listings", {}),
    ("listings", "export_contacts", {}),
    ("conversations", "export_discussions", {"subject_type": "thread"}),
]


def _signer(stack) -> identity.IdentitySigner:
    return identity.IdentitySigner(Path(stack.run_dir / "keys" / "identity-private.pem").read_bytes())


def bus(stack, service: str, method: str, token: str | None, **kwargs: Any) -> Any:
    """``service.method(**kwargs)`` sent raw on the bus; "Forbidden" when refused."""
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ClusterRpcProxy

    context = {identity.HEADER: token} if token is not None else {}
    with ClusterRpcProxy({"AMQP_URI": stack.env["AMQP_URI"]}, context_data=context, timeout=20) as cluster:
        try:
            return getattr(getattr(cluster, service), method)(**kwargs)
        except RemoteError as error:
            if error.exc_type == "Forbidden":
                return "Forbidden"
            raise


@pytest.mark.parametrize(("service", "method", "args"), EXPORTS, ids=[m for _, m, _ in EXPORTS])
def test_an_export_answers_the_backfills_token_only(stack, sign_up, service, method, args):
    member = from_global_id(sign_up("Eve")["id"])[1]
    signer = _signer(stack)
    operator = identity.operator_subject(identity.BACKFILL)
    assert bus(stack, service, method, None, size=5, **args) == "Forbidden"
    assert bus(stack, service, method, signer.token(member, service), size=5, **args) == "Forbidden"
    assert bus(stack, service, method, signer.token(operator, "search"), size=5, **args) == "Forbidden"
    assert bus(stack, service, method, signer.token("operator:other-tool", service), size=5, **args) == "Forbidden"
    answered = bus(stack, service, method, signer.token(operator, service), size=5, **args)
    assert isinstance(answered, list)


def test_a_lost_memberships_copy_is_filled_by_the_backfill(stack, gql, sign_up, http):
    alice, bob = sign_up("Alice"), sign_up("Bob")
    tag = uuid.uuid4().hex[:8]
    group = gql(GROUP, {"name": f"Refuge {tag}", "visibility": "PRIVATE"}, token=alice["token"])["groupCreate"]
    inside = proposal(f"Goûter caché {tag}", PLACE["lat"], PLACE["lon"], groupId=group["group"]["id"], city="montreal")
    outing = gql(OUTING_CREATE, {"input": inside}, token=alice["token"])["outingCreate"]["outing"]["id"]

    def alice_finds() -> bool:
        body = post(http, NEARBY, {"near": PLACE}, alice["token"]).json()
        return outing in [n["id"] for n in body["data"]["nearbyOutings"]["nodes"]]

    wait_for(alice_finds, 15, what="the private outing found by its group's member")
    # The copy is lost (or was never filled: the first deploy of it): Alice's membership with it.
    es, alias = config.elasticsearch_url(), f"{stack.env['SEARCH_INDEX_PREFIX']}memberships"
    membership = f"gm:{from_global_id(group['group']['id'])[1]}:{from_global_id(alice['id'])[1]}"
    httpx.delete(f"{es}/{alias}/_doc/{membership}", params={"refresh": "true"}).raise_for_status()
    assert not alice_finds()  # fail-closed: search knows no membership of hers

    run = run_backfill(stack, "--only", "memberships", "--page", "50")
    assert run.returncode == 0, run.stderr
    assert "memberships" in run.stdout
    wait_for(alice_finds, 15, what="the private outing found again after the backfill")
    body = post(http, NEARBY, {"near": PLACE}, bob["token"]).json()
    assert outing not in [n["id"] for n in body["data"]["nearbyOutings"]["nodes"]]  # still not Bob's


def test_activities_indexed_before_they_named_their_members_are_rebuilt_by_the_backfill(stack, gql, sign_up, http):
    """Activity documents name their host or organizer (``member_ids``) since stop 28, so search
    can leave out a blocker's. Those indexed before have none: ``python -m search.backfill
    --only activities`` rebuilds them from ``events.export_activities`` (a shift as its last
    event carried it, a school run as ``trip_created`` did), and the group still finds both."""
    alice, bob = sign_up("Alice"), sign_up("Bob")
    group = gql(PUBLIC_GROUP, token=alice["token"])["groupCreate"]["group"]["id"]
    assert gql(JOIN, {"g": group}, token=bob["token"])["groupJoin"]["userErrors"] == []
    spot = {"lat": 45.6150, "lon": -73.5250}
    start = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    made = gql(OFFER, {"input": {**shift(group, start, hours=2, places=2), "location": spot}}, token=alice["token"])
    shift_id = from_global_id(made["coopShiftOffer"]["shift"]["id"])[1]
    run = {**school_run(group, title="Pédibus du backfill"), "meetingLocation": spot}
    trip_id = from_global_id(gql(TRIP_CREATE, {"input": run}, token=alice["token"])["tripCreate"]["trip"]["id"])[1]

    def bob_finds() -> set[str]:
        return {from_global_id(i)[1] for i in activities_found(http, bob["token"], spot)} & {shift_id, trip_id}

    wait_for(lambda: bob_finds() == {shift_id, trip_id}, 15, what="the shift and the school run found")
    es, alias = config.elasticsearch_url(), f"{stack.env['SEARCH_INDEX_PREFIX']}activities"
    for doc in (shift_id, trip_id):  # as a release before stop 28 indexed them (external versions)
        found = httpx.get(f"{es}/{alias}/_doc/{doc}").json()
        old = {k: v for k, v in found["_source"].items() if k != "member_ids"}
        put = httpx.put(
            f"{es}/{found['_index']}/_doc/{doc}",
            params={"refresh": "true", "version": found["_version"] + 1, "version_type": "external"},
            json=old,
        )
        assert put.status_code in (200, 201), put.text

    def named() -> dict[str, list[str] | None]:
        return {d: httpx.get(f"{es}/{alias}/_doc/{d}").json()["_source"].get("member_ids") for d in (shift_id, trip_id)}

    assert named() == {shift_id: None, trip_id: None}
    before = set(httpx.get(f"{es}/_alias/{alias}").json())
    done = run_backfill(stack, "--only", "activities", "--page", "50")
    assert done.returncode == 0, done.stderr
    assert set(httpx.get(f"{es}/_alias/{alias}").json()) != before  # a new revision behind the alias
    alice_id = from_global_id(alice["id"])[1]
    assert named() == {shift_id: [alice_id], trip_id: [alice_id]}
    assert bob_finds() == {shift_id, trip_id}
