"""Co-op childcare and school runs through the GraphQL API, on the five real processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import post

from parentnet_kit.testing import wait_for

GROUP = """mutation { groupCreate(input: {name: "Parents de l'école Vaucanson", city: "paris"}) {
  group { id } userErrors { code } } }"""
JOIN_GROUP = "mutation($g: ID!) { groupJoin(input: {groupId: $g}) { userErrors { code } } }"


def test_coop_shift_booked_with_credits_and_balances_for_admins(gql, http, sign_up):
    admin, host, parent, outsider = (sign_up(n) for n in ("Admin", "Host", "Parent", "Outsider"))
    group = gql(GROUP, token=admin["token"])["groupCreate"]["group"]["id"]
    for who in (host, parent):
        assert gql(JOIN_GROUP, {"g": group}, token=who["token"])["groupJoin"]["userErrors"] == []
    start = (datetime.now(UTC) + timedelta(days=3)).replace(hour=14, minute=0, second=0, microsecond=0)
    offer = """mutation($input: CoopShiftOfferInput!) { coopShiftOffer(input: $input) {
      shift { id placesLeft childHours } userErrors { field code } } }"""
    fields = {
        "groupId": group,
        "city": "paris",
        "startsAt": start.isoformat(),
        "endsAt": (start + timedelta(hours=2)).isoformat(),
        "places": 3,
    }
    shift = gql(offer, {"input": fields}, token=host["token"])["coopShiftOffer"]["shift"]
    assert shift["childHours"] == 2.0 and shift["placesLeft"] == 3

    book = """mutation($s: ID!, $n: Int!) { coopShiftBook(input: {shiftId: $s, children: $n}) {
      booking { id childHours status } shift { placesLeft } userErrors { field code } } }"""
    booked = gql(book, {"s": shift["id"], "n": 2}, token=parent["token"])["coopShiftBook"]
    assert booked["userErrors"] == [] and booked["booking"]["childHours"] == 4.0 and booked["shift"]["placesLeft"] == 1
    hidden = post(http, book, {"s": shift["id"], "n": 1}, outsider["token"]).json()["data"]["coopShiftBook"]
    assert hidden["userErrors"][0]["code"] == "NOT_FOUND"  # not a member: the shift does not exist for them

    balance = "query($g: ID!) { node(id: $g) { ... on Group { viewerCoopBalance { childHours floorChildHours } } } }"
    assert gql(balance, {"g": group}, token=parent["token"])["node"]["viewerCoopBalance"] == {
        "childHours": -4.0,
        "floorChildHours": -10.0,
    }
    everyone = """query($g: ID!) { node(id: $g) { ... on Group {
      coopBalances { isEscrow childHours member { displayName } } } } }"""
    accounts = gql(everyone, {"g": group}, token=admin["token"])["node"]["coopBalances"]
    assert (
        sum(a["childHours"] for a in accounts) == 0
        and {"isEscrow": True, "childHours": 4.0, "member": None} in accounts
    )
    refused = post(http, everyone, {"g": group}, parent["token"]).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_a_school_run_rota_and_a_swap_through_the_api(gql, sign_up):
    ana, bao = sign_up("Ana"), sign_up("Bao")
    group = gql(GROUP, token=ana["token"])["groupCreate"]["group"]["id"]
    gql(JOIN_GROUP, {"g": group}, token=bao["token"])
    create = """mutation($input: TripCreateInput!) {
      tripCreate(input: $input) { trip { id rota { date } } userErrors { field code } } }"""
    fields = {
        "groupId": group,
        "title": "Pédibus Vaucanson",
        "mode": "WALK",
        "weekdays": [0, 1, 2, 3, 4],
        "time": "08:15",
        "city": "paris",
        "meetingPoint": "Square du Temple",
        "meetingLocation": {"lat": 48.8645, "lon": 2.3605},
        "destination": "École Vaucanson",
        "seats": 8,
    }
    trip = gql(create, {"input": fields}, token=ana["token"])["tripCreate"]["trip"]
    days = [d["date"] for d in trip["rota"]]
    join = "mutation($t: ID!, $c: [String!]!) { tripJoin(input: {tripId: $t, children: $c}) { userErrors { code } } }"
    gql(join, {"t": trip["id"], "c": ["Lina"]}, token=ana["token"])
    gql(join, {"t": trip["id"], "c": ["Minh", "Thu"]}, token=bao["token"])
    take = "mutation($t: ID!, $d: String!) { tripVolunteer(input: {tripId: $t, date: $d}) { userErrors { code } } }"
    gql(take, {"t": trip["id"], "d": days[0]}, token=ana["token"])
    gql(take, {"t": trip["id"], "d": days[1]}, token=bao["token"])
    propose = """mutation($t: ID!, $a: String!, $b: String!) {
      tripSwapPropose(input: {tripId: $t, myDate: $a, theirDate: $b}) {
      swap { id } userErrors { code } } }"""
    swap = gql(propose, {"t": trip["id"], "a": days[0], "b": days[1]}, token=ana["token"])["tripSwapPropose"]["swap"]
    accept = """mutation($s: ID!, $t: ID!) { tripSwapAccept(input: {swapId: $s, tripId: $t}) {
      trip { rota { date driver { displayName } } riders { children } } userErrors { code } } }"""
    done = gql(accept, {"s": swap["id"], "t": trip["id"]}, token=bao["token"])["tripSwapAccept"]
    assert done["userErrors"] == []
    drivers = {d["date"]: (d["driver"] or {}).get("displayName") for d in done["trip"]["rota"]}
    assert (drivers[days[0]], drivers[days[1]]) == ("Bao", "Ana")
    inbox = gql("{ inbox { nodes { kind subject { id } } } }", token=ana["token"])["inbox"]["nodes"]
    assert [n["kind"] for n in inbox].count("trip_rota_changed") == 2 and inbox[0]["subject"]["id"] == trip["id"]


def test_shifts_and_trips_are_found_nearby_by_the_group_only(gql, sign_up):
    member, outsider = sign_up("Member"), sign_up("Outsider")
    group = gql(GROUP, token=member["token"])["groupCreate"]["group"]["id"]
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    offer = (
        "mutation($input: CoopShiftOfferInput!) { coopShiftOffer(input: $input) { shift { id } userErrors { code } } }"
    )
    shift = gql(
        offer,
        {
            "input": {
                "groupId": group,
                "city": "paris",
                "startsAt": start.isoformat(),
                "endsAt": (start + timedelta(hours=3)).isoformat(),
                "places": 2,
                "location": {"lat": 48.8330, "lon": 2.3560},
            }
        },
        token=member["token"],
    )["coopShiftOffer"]["shift"]
    near = """query($near: GeoPointInput!) { nearbyGroupActivities(near: $near, radiusKm: 2) {
      kind distanceKm shift { id } trip { id } } }"""
    spot = {"lat": 48.8335, "lon": 2.3565}

    def found(token):
        return [a["shift"]["id"] for a in gql(near, {"near": spot}, token=token)["nearbyGroupActivities"] if a["shift"]]

    wait_for(lambda: shift["id"] in found(member["token"]), timeout=10, what="the shift searchable by the group")
    assert found(outsider["token"]) == []
