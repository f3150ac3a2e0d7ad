"""A block in school runs, through GraphQL: a school run says where and when a parent's children
walk, so nothing of a blocker's shows to the member they blocked, nor the other way (issue 5's
promise, as co-op shifts keep it): not the trips they started (by ID, in the group's list, to
join, to take a day), not their children among the riders, not the days they drive, and no swap
proposal reaches across. A third parent of the group still sees everything."""

from __future__ import annotations

from test_blocks_in_search import BLOCK
from test_community_end_to_end import PROPOSE, TRIP_CREATE, TRIP_JOIN, VOLUNTEER, school_run
from test_conversations_end_to_end import JOIN, PUBLIC_GROUP

TRIP = """query($id: ID!) { node(id: $id) { ... on Trip { id riders { children } rota { date driver { id } } } } }"""
GROUP_TRIPS = """query($id: ID!) { node(id: $id) { ... on Group { trips { id } } } }"""
INBOX = "{ inbox { nodes { kind } } }"


def test_a_blocker_and_the_member_they_blocked_see_nothing_of_each_others_school_runs(gql, sign_up):
    alice, bob, cara = sign_up("Alice"), sign_up("Bob"), sign_up("Cara")
    group = gql(PUBLIC_GROUP, token=cara["token"])["groupCreate"]["group"]["id"]
    for member in (alice, bob):
        assert gql(JOIN, {"g": group}, token=member["token"])["groupJoin"]["userErrors"] == []
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
