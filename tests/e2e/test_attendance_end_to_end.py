"""Joining outings through the GraphQL API on the five real processes: places, the waitlist,
promotions, changes, cancellation, and who may see whom."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from conftest import post
from test_outing_end_to_end import CREATE, proposal

from parentnet_kit.testing import wait_for

JOIN = """mutation($id: ID!, $adults: Int, $children: Int) {
  outingJoin(input: {outingId: $id, adults: $adults, children: $children}) {
    place { status position }
    outing { attendance { families waitlist placesLeft } }
    userErrors { field message code }
  }
}"""
LEAVE = "mutation($id: ID!) { outingLeave(input: {outingId: $id}) { userErrors { code } } }"
ATTENDEES = """query($id: ID!) { node(id: $id) { ... on Outing {
  attendance { families adults children waitlist placesLeft }
  attendees(first: 100) { totalCount edges { status position node { id } } }
} } }"""
PLACE = "query($id: ID!) { node(id: $id) { ... on Outing { viewerPlace { status position } } } }"
INBOX = "{ inbox(first: 10) { unreadCount nodes { kind message subject { id } } } }"
NEARBY = """query($near: GeoPointInput!) { nearbyOutings(near: $near, radiusKm: 0.2, first: 50) {
  nodes { id attendance { placesLeft } } } }"""


def test_fifty_parents_race_for_ten_places(gql, http, sign_up, organizer):
    spot = {"lat": 48.8462, "lon": 2.3371}  # Jardin du Luxembourg
    made = gql(CREATE, {"input": {**proposal("Théâtre de marionnettes", **spot), "capacity": 10}})["outingCreate"]
    outing_id = made["outing"]["id"]
    with ThreadPoolExecutor(8) as pool:
        parents = list(pool.map(lambda i: sign_up(f"Parent{i}"), range(50)))
    with ThreadPoolExecutor(50) as pool:
        answers = list(
            pool.map(
                lambda p: post(http, JOIN, {"id": outing_id, "adults": 1, "children": 2}, p["token"]).json(), parents
            )
        )
    places = [a["data"]["outingJoin"]["place"]["status"] for a in answers]
    assert places.count("CONFIRMED") == 10 and places.count("WAITLISTED") == 40

    seen = gql(ATTENDEES, {"id": outing_id})["node"]
    assert seen["attendance"] == {"families": 10, "adults": 10, "children": 20, "waitlist": 40, "placesLeft": 0}
    order = [e["node"]["id"] for e in seen["attendees"]["edges"]]
    assert len(order) == len(set(order)) == 50
    by_id = {p["id"]: p for p in parents}

    leavers, next_three = order[:3], order[10:13]
    for member_id in leavers:
        assert gql(LEAVE, {"id": outing_id}, token=by_id[member_id]["token"])["outingLeave"]["userErrors"] == []
    after = gql(ATTENDEES, {"id": outing_id})["node"]["attendees"]["edges"]
    confirmed = [e["node"]["id"] for e in after if e["status"] == "CONFIRMED"]
    assert confirmed == order[3:10] + next_three
    for member_id in next_three:
        place = gql(PLACE, {"id": outing_id}, token=by_id[member_id]["token"])["node"]["viewerPlace"]
        assert place["status"] == "CONFIRMED"
        inbox = gql(INBOX, token=by_id[member_id]["token"])["inbox"]
        assert [(n["kind"], n["subject"]["id"]) for n in inbox["nodes"]] == [("waitlist_promoted", outing_id)]
    assert gql(INBOX, token=by_id[order[13]]["token"])["inbox"]["nodes"] == []

    # Attendance reaches search too, through attendance_changed events.
    def places_left_in_search():
        nodes = gql(NEARBY, {"near": spot})["nearbyOutings"]["nodes"]
        return next((n["attendance"]["placesLeft"] for n in nodes if n["id"] == outing_id), None)

    wait_for(lambda: places_left_in_search() == 0, timeout=10, what="attendance in search")


def test_strangers_cannot_change_or_see_who_comes(gql, http, sign_up):
    made = gql(CREATE, {"input": proposal("Atelier peinture", 48.8530, 2.3690)})["outingCreate"]["outing"]
    stranger = sign_up("Stranger")
    update = """mutation($id: ID!) { outingUpdate(input: {outingId: $id, title: "À moi"}) {
      outing { title } userErrors { field message code } } }"""
    refused = gql(update, {"id": made["id"]}, token=stranger["token"])["outingUpdate"]
    assert refused["outing"] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["input", "outingId"], "FORBIDDEN")]
    assert (
        gql("query($id: ID!) { node(id: $id) { ... on Outing { title } } }", {"id": made["id"]})["node"]["title"]
        == made["title"]
    )

    body = post(http, ATTENDEES, {"id": made["id"]}, stranger["token"]).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_whoever_blocked_you_is_neither_listed_nor_counted_among_attendees(gql, sign_up):
    """Issue 19's promise on this surface: the pages and totalCount agree with the list (a
    totalCount of 3 beside 2 listed, or a page of 1 with a next page, told the blocked member)."""
    made = gql(CREATE, {"input": proposal("Goûter au square", 48.8500, 2.3400)})["outingCreate"]["outing"]
    first, blocker, viewer = sign_up("First"), sign_up("Blocker"), sign_up("Viewer")
    for parent in (first, blocker, viewer):
        assert gql(JOIN, {"id": made["id"]}, token=parent["token"])["outingJoin"]["userErrors"] == []
    block = "mutation($id: ID!) { memberBlock(input: {memberId: $id}) { userErrors { code } } }"
    assert gql(block, {"id": viewer["id"]}, token=blocker["token"])["memberBlock"]["userErrors"] == []

    page = """query($id: ID!, $after: String) { node(id: $id) { ... on Outing {
      attendees(first: 1, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } }
    } } }"""
    seen, cursor = [], None
    while True:
        attendees = gql(page, {"id": made["id"], "after": cursor}, token=viewer["token"])["node"]["attendees"]
        assert attendees["totalCount"] == 2 and len(attendees["edges"]) == 1
        seen += [e["node"]["id"] for e in attendees["edges"]]
        if not attendees["pageInfo"]["hasNextPage"]:
            break
        cursor = attendees["pageInfo"]["endCursor"]
    assert seen == [first["id"], viewer["id"]]
    # The organizer still sees everyone coming.
    listed = gql(ATTENDEES, {"id": made["id"]})["node"]["attendees"]
    assert listed["totalCount"] == 3
    assert [e["node"]["id"] for e in listed["edges"]] == [first["id"], blocker["id"], viewer["id"]]


def test_a_cancelled_outing_tells_everyone_and_leaves_search(gql, sign_up):
    spot = {"lat": 48.8700, "lon": 2.3100}
    made = gql(CREATE, {"input": proposal("Parc Monceau", **spot)})["outingCreate"]["outing"]
    coming = sign_up("Coming")
    assert gql(JOIN, {"id": made["id"]}, token=coming["token"])["outingJoin"]["place"]["status"] == "CONFIRMED"

    def in_search():
        return made["id"] in [n["id"] for n in gql(NEARBY, {"near": spot})["nearbyOutings"]["nodes"]]

    wait_for(in_search, timeout=10, what="the outing in search")
    moved = """mutation($id: ID!) { outingUpdate(input: {outingId: $id, startsAt: "2031-05-06T11:00",
      endsAt: "2031-05-06T13:00"}) { outing { startsAt } userErrors { code } } }"""
    assert gql(moved, {"id": made["id"]})["outingUpdate"]["outing"]["startsAt"] == "2031-05-06T11:00:00+02:00"
    cancel = "mutation($id: ID!) { outingCancel(input: {outingId: $id}) { outing { status } userErrors { code } } }"
    assert gql(cancel, {"id": made["id"]})["outingCancel"]["outing"]["status"] == "cancelled"
    wait_for(lambda: not in_search(), timeout=10, what="the outing out of search")
    inbox = gql(INBOX, token=coming["token"])["inbox"]
    assert [n["kind"] for n in inbox["nodes"]] == ["outing_cancelled", "outing_changed"]
    assert inbox["unreadCount"] == 2
