"""A block in school runs, through GraphQL: a school run says where and when a parent's children
walk, so nothing of a blocker's shows to the member they blocked, nor the other way (issue 5's
promise, as co-op shifts keep it): not the trips they started (by ID, in the group's list, to
join, to take a day), not their children among the riders, not the days they drive, no swap
proposal reaches across, a swap proposed before the block is not accepted after it, and neither
is told when the other's swap changes the rota. A third parent of the group still sees
everything. The last four tests are review 5's (h-review5), which found those faults."""

from __future__ import annotations

import pytest
from test_blocks_in_search import BLOCK
from test_community_end_to_end import PROPOSE, TRIP_CREATE, TRIP_JOIN, VOLUNTEER, school_run
from test_conversations_end_to_end import JOIN, PUBLIC_GROUP

from parentnet_kit.testing import wait_for

TRIP = """query($id: ID!) { node(id: $id) { ... on Trip { id riders { children } rota { date driver { id } } } } }"""
GROUP_TRIPS = """query($id: ID!) { node(id: $id) { ... on Group { trips { id } } } }"""
INBOX = "{ inbox { nodes { kind } } }"
SEATS = """query($id: ID!) { node(id: $id) { ... on Trip { id seats riders { children member { id } }
  rota { date driver { id } } } } }"""
JOIN_FULL = """mutation($t: ID!, $c: [String!]!) { tripJoin(input: {tripId: $t, children: $c}) {
  trip { seats riders { children } } userErrors { field message code } } }"""
ACCEPT = """mutation($s: ID!, $t: ID!) { tripSwapAccept(input: {swapId: $s, tripId: $t}) {
  swap { state } userErrors { code } } }"""
NOTICES = "{ inbox(first: 50) { nodes { type message subject { id } } } }"


def test_a_blocker_and_the_member_they_blocked_see_nothing_of_each_others_school_runs(gql, sign_up):
    alice, bob, cara, group = _group_of_three(gql, sign_up)
    alices = gql(TRIP_CREATE, {"input": school_run(group, "Pédibus d'Alice")}, token=alice["token"])
    alices_run = alices["tripCreate"]["trip"]["id"]
    caras = gql(TRIP_CREATE, {"input": school_run(group, "Pédibus de Cara")}, token=cara["token"])["tripCreate"]
    caras_run, days = caras["trip"]["id"], [d["date"] for d in caras["trip"]["rota"]]
    for member, child, day in ((alice, "Lina", days[0]), (bob, "Tom", days[1])):
        assert gql(TRIP_JOIN, {"t": caras_run, "c": [child]}, token=member["token"])["tripJoin"]["userErrors"] == []
        taken = gql(VOLUNTEER, {"t": caras_run, "d": day}, token=member["token"])["tripVolunteer"]
        assert taken["userErrors"] == []

    def seen_by(member) -> dict:
        trips = gql(GROUP_TRIPS, {"id": group}, token=member["token"])["node"]["trips"]
        run = gql(TRIP, {"id": caras_run}, token=member["token"])["node"]
        drivers = {d["date"]: (d["driver"] or {}).get("id") for d in run["rota"]}
        return {
            "Alice's run by ID": gql(TRIP, {"id": alices_run}, token=member["token"])["node"] is not None,
            "group's runs": {t["id"] for t in trips},
            "riders of Cara's run": sorted(c for r in run["riders"] for c in r["children"]),
            "drivers of day 0 and 1": [drivers.get(days[0], "left out"), drivers.get(days[1], "left out")],
        }

    before = seen_by(bob)
    assert before == {
        "Alice's run by ID": True,
        "group's runs": {alices_run, caras_run},
        "riders of Cara's run": ["Lina", "Tom"],
        "drivers of day 0 and 1": [alice["id"], bob["id"]],
    }
    assert gql(BLOCK, {"id": bob["id"]}, token=alice["token"])["memberBlock"]["userErrors"] == []

    assert seen_by(bob) == {
        "Alice's run by ID": False,
        "group's runs": {caras_run},
        "riders of Cara's run": ["Tom"],
        "drivers of day 0 and 1": ["left out", bob["id"]],
    }
    assert seen_by(alice) == {
        "Alice's run by ID": True,
        "group's runs": {alices_run, caras_run},
        "riders of Cara's run": ["Lina"],
        "drivers of day 0 and 1": [alice["id"], "left out"],
    }
    assert seen_by(cara) == before  # the rest of the group sees both families as before

    # Bob cannot act on Alice's run, and the answers are those for a run that does not exist.
    errors = {
        "join": gql(TRIP_JOIN, {"t": alices_run, "c": ["Tom"]}, token=bob["token"])["tripJoin"]["userErrors"],
        "take a day": gql(VOLUNTEER, {"t": alices_run, "d": days[2]}, token=bob["token"])["tripVolunteer"][
            "userErrors"
        ],
    }
    assert errors == {"join": [{"code": "NOT_FOUND"}], "take a day": [{"code": "NOT_FOUND"}]}
    # Nor ask Alice to swap her day: answered as a day nobody takes, and Alice is told nothing.
    proposed = gql(PROPOSE, {"t": caras_run, "a": days[1], "b": days[0]}, token=bob["token"])["tripSwapPropose"]
    assert (proposed["swap"], proposed["userErrors"]) == (None, [{"code": "INVALID"}])
    kinds = [n["kind"] for n in gql(INBOX, token=alice["token"])["inbox"]["nodes"]]
    assert "TRIP_SWAP_PROPOSED" not in kinds


def _group_of_three(gql, sign_up):
    """Alice (who will block Bob), Bob, and Cara (a third parent who started the group)."""
    alice, bob, cara = sign_up("Alice"), sign_up("Bob"), sign_up("Cara")
    group = gql(PUBLIC_GROUP, token=cara["token"])["groupCreate"]["group"]["id"]
    for member in (alice, bob):
        assert gql(JOIN, {"g": group}, token=member["token"])["groupJoin"]["userErrors"] == []
    return alice, bob, cara, group


def _caras_run(gql, cara, group, seats: int = 8):
    made = gql(TRIP_CREATE, {"input": {**school_run(group, "Pédibus de Cara"), "seats": seats}}, token=cara["token"])
    trip = made["tripCreate"]["trip"]
    return trip["id"], [d["date"] for d in trip["rota"]]


def _kinds_about(gql, member, trip_id: str, kind: str) -> list[str]:
    return [
        n["message"]
        for n in gql(NOTICES, token=member["token"])["inbox"]["nodes"]
        if n["type"] == kind and (n["subject"] or {}).get("id") == trip_id
    ]


def _swap_with_cara(gql, proposer: dict, cara: dict, run: str, days: list[str]) -> None:
    """The proposer offers their day (``days[0]``) for Cara's (``days[1]``), Cara accepts, and
    returns once Cara has been told of both days' change."""
    swap = gql(PROPOSE, {"t": run, "a": days[0], "b": days[1]}, token=proposer["token"])["tripSwapPropose"]
    assert swap["userErrors"] == []
    accepted = gql(ACCEPT, {"s": swap["swap"]["id"], "t": run}, token=cara["token"])["tripSwapAccept"]
    assert (accepted["swap"]["state"], accepted["userErrors"]) == ("DONE", [])
    wait_for(lambda: len(_kinds_about(gql, cara, run, "TRIP_ROTA_CHANGED")) >= 2, 20, what="Cara told of the swap")


def test_a_rider_the_blocker_blocked_is_not_told_of_her_swap(gql, sign_up):
    """Bob rides Cara's run; Alice (who blocked Bob) swaps her day with Cara's. Every rider is
    sent TRIP_ROTA_CHANGED for both days, but not Bob: "the rota changed" on a day his rota does
    not even list (Alice's) would tell him of her. Cara, a party to it, is told as before."""
    alice, bob, cara, group = _group_of_three(gql, sign_up)
    run, days = _caras_run(gql, cara, group)
    for member, day in ((alice, days[0]), (cara, days[1])):
        assert gql(VOLUNTEER, {"t": run, "d": day}, token=member["token"])["tripVolunteer"]["userErrors"] == []
    assert gql(TRIP_JOIN, {"t": run, "c": ["Tom"]}, token=bob["token"])["tripJoin"]["userErrors"] == []
    assert gql(BLOCK, {"id": bob["id"]}, token=alice["token"])["memberBlock"]["userErrors"] == []
    assert days[0] not in [d["date"] for d in gql(SEATS, {"id": run}, token=bob["token"])["node"]["rota"]]

    _swap_with_cara(gql, alice, cara, run, days)
    told_bob = _kinds_about(gql, bob, run, "TRIP_ROTA_CHANGED")
    assert told_bob == [], f"Bob, blocked by Alice, was told of her swap: {told_bob}"


def test_the_blocker_is_not_told_of_the_blocked_members_swap(gql, sign_up):
    """The other way: Alice's child rides Cara's run; Bob (whom Alice blocked) swaps his day with
    Cara's. Alice, who sees nothing of Bob in the run (his day is left out of her rota), is not
    told of it: the blocker hears nothing of the blocked member's doings."""
    alice, bob, cara, group = _group_of_three(gql, sign_up)
    run, days = _caras_run(gql, cara, group)
    assert gql(TRIP_JOIN, {"t": run, "c": ["Lina"]}, token=alice["token"])["tripJoin"]["userErrors"] == []
    for member, day in ((bob, days[0]), (cara, days[1])):
        assert gql(VOLUNTEER, {"t": run, "d": day}, token=member["token"])["tripVolunteer"]["userErrors"] == []
    assert gql(BLOCK, {"id": bob["id"]}, token=alice["token"])["memberBlock"]["userErrors"] == []

    _swap_with_cara(gql, bob, cara, run, days)
    told_alice = _kinds_about(gql, alice, run, "TRIP_ROTA_CHANGED")
    assert told_alice == [], f"Alice, who blocked Bob, was told of his swap: {told_alice}"


def test_a_swap_proposed_before_the_block_is_not_found_after_it(gql, sign_up):
    """Alice offered Bob a swap before blocking him. After the block Bob cannot accept it (it
    answers NOT_FOUND, as a swap that was never his), and the rota stays as it was: a blocked
    member does not change when the blocker walks the children."""
    alice, bob, cara, group = _group_of_three(gql, sign_up)
    run, days = _caras_run(gql, cara, group)
    for member, day in ((alice, days[0]), (bob, days[1])):
        assert gql(VOLUNTEER, {"t": run, "d": day}, token=member["token"])["tripVolunteer"]["userErrors"] == []
    swap = gql(PROPOSE, {"t": run, "a": days[0], "b": days[1]}, token=alice["token"])["tripSwapPropose"]
    assert swap["userErrors"] == []
    assert gql(BLOCK, {"id": bob["id"]}, token=alice["token"])["memberBlock"]["userErrors"] == []

    accepted = gql(ACCEPT, {"s": swap["swap"]["id"], "t": run}, token=bob["token"])["tripSwapAccept"]
    rota = gql(SEATS, {"id": run}, token=cara["token"])["node"]["rota"]
    drivers = {d["date"]: d["driver"]["id"] for d in rota if d["driver"]}
    assert {
        "Bob's accept": (accepted["swap"], [e["code"] for e in accepted["userErrors"]]),
        "drivers (Cara's view)": [drivers.get(days[0]), drivers.get(days[1])],
    } == {
        "Bob's accept": (None, ["NOT_FOUND"]),
        "drivers (Cara's view)": [alice["id"], bob["id"]],
    }


@pytest.mark.xfail(
    strict=True,
    reason="Known, left (stop 30): seats are shared, so a FULL answer counts children the asker does not "
    "see; hiding the count would let a blocked member overfill the car. Outings' and co-op shifts' places left "
    "count a blocker's family the same way.",
)
def test_a_full_answer_counts_the_blockers_hidden_children(gql, sign_up):
    """Bob sees a 3-seat run with no riders (Alice's two children are hidden from him), yet
    joining with two children answers FULL "only 1 place left": the blocker's family is still
    counted, so Bob learns a hidden family of two rides, i.e. someone in the group blocked him.
    Had Alice never joined, the same join would succeed."""
    alice, bob, cara, group = _group_of_three(gql, sign_up)
    run, _ = _caras_run(gql, cara, group, seats=3)
    assert gql(TRIP_JOIN, {"t": run, "c": ["Lina", "Mia"]}, token=alice["token"])["tripJoin"]["userErrors"] == []
    assert gql(BLOCK, {"id": bob["id"]}, token=alice["token"])["memberBlock"]["userErrors"] == []

    seen = gql(SEATS, {"id": run}, token=bob["token"])["node"]
    assert (seen["seats"], seen["riders"]) == (3, [])  # as if Alice never joined: 3 free seats
    caras = gql(SEATS, {"id": run}, token=cara["token"])["node"]["riders"]
    assert [r["children"] for r in caras] == [["Lina", "Mia"]]  # a third parent sees Alice's family
    joined = gql(JOIN_FULL, {"t": run, "c": ["Tom", "Léo"]}, token=bob["token"])["tripJoin"]
    assert joined["userErrors"] == [], f"Bob sees 3 free seats but is told: {joined['userErrors']}"
