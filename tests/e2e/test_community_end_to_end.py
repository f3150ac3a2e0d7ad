"""Co-op childcare and school runs through the GraphQL API, on the five real processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import post

from parentnet_kit.testing import wait_for

GROUP = """mutation { groupCreate(input: {name: "Parents de l'école Vaucanson", city: "paris"}) {
  group { id } userErrors { code } } }"""
JOIN_GROUP = "mutation($g: ID!) { groupJoin(input: {groupId: $g}) { userErrors { code } } }"
OFFER = """mutation($input: CoopShiftOfferInput!) { coopShiftOffer(input: $input) {
  shift { id placesLeft childHours } userErrors { field code } } }"""
BOOK = """mutation($s: ID!, $n: Int!) { coopShiftBook(input: {shiftId: $s, children: $n}) {
  booking { id childHours status } shift { placesLeft } userErrors { field code } } }"""
CANCEL_BOOKING = """mutation($b: ID!) { coopBookingCancel(input: {bookingId: $b}) {
  booking { state } shift { placesLeft } userErrors { field code } } }"""
BALANCE = "query($g: ID!) { node(id: $g) { ... on Group { viewerCoopBalance { childHours floorChildHours } } } }"
EVERYONE = """query($g: ID!) { node(id: $g) { ... on Group {
  coopBalances { isEscrow childHours member { displayName } } } } }"""
SHIFTS = "query($g: ID!) { node(id: $g) { ... on Group { coopShifts { id placesLeft } } } }"
TRIP_CREATE = """mutation($input: TripCreateInput!) {
  tripCreate(input: $input) { trip { id rota { date } } userErrors { field code } } }"""
TRIP_JOIN = "mutation($t: ID!, $c: [String!]!) { tripJoin(input: {tripId: $t, children: $c}) { userErrors { code } } }"
VOLUNTEER = "mutation($t: ID!, $d: String!) { tripVolunteer(input: {tripId: $t, date: $d}) { userErrors { code } } }"
PROPOSE = """mutation($t: ID!, $a: String!, $b: String!) {
  tripSwapPropose(input: {tripId: $t, myDate: $a, theirDate: $b}) {
  swap { id } userErrors { code } } }"""
ACCEPT_SWAP = """mutation($s: ID!, $t: ID!) { tripSwapAccept(input: {swapId: $s, tripId: $t}) {
  swap { state } trip { rota { date driver { displayName } } riders { children } } userErrors { code } } }"""


def shift(group: str, start: datetime, hours: int = 2, places: int = 3) -> dict:
    """coopShiftOffer's input: a shift in Paris from ``start`` (aware) for ``hours``."""
    return {
        "groupId": group,
        "city": "paris",
        "startsAt": start.isoformat(),
        "endsAt": (start + timedelta(hours=hours)).isoformat(),
        "places": places,
    }


def school_run(group: str, title: str = "Pédibus Vaucanson") -> dict:
    """tripCreate's input: a walk to school every weekday at 08:15 in Paris, 8 seats."""
    return {
        "groupId": group,
        "title": title,
        "mode": "WALK",
        "weekdays": [0, 1, 2, 3, 4],
        "time": "08:15",
        "city": "paris",
        "meetingPoint": "Square du Temple",
        "meetingLocation": {"lat": 48.8645, "lon": 2.3605},
        "destination": "École Vaucanson",
        "seats": 8,
    }


def test_coop_shift_booked_with_credits_and_balances_for_admins(gql, http, sign_up):
    admin, host, parent, outsider = (sign_up(n) for n in ("Admin", "Host", "Parent", "Outsider"))
    group = gql(GROUP, token=admin["token"])["groupCreate"]["group"]["id"]
    for who in (host, parent):
        assert gql(JOIN_GROUP, {"g": group}, token=who["token"])["groupJoin"]["userErrors"] == []
    start = (datetime.now(UTC) + timedelta(days=3)).replace(hour=14, minute=0, second=0, microsecond=0)
    offered = gql(OFFER, {"input": shift(group, start)}, token=host["token"])["coopShiftOffer"]["shift"]
    assert offered["childHours"] == 2.0 and offered["placesLeft"] == 3

    booked = gql(BOOK, {"s": offered["id"], "n": 2}, token=parent["token"])["coopShiftBook"]
    assert booked["userErrors"] == [] and booked["booking"]["childHours"] == 4.0 and booked["shift"]["placesLeft"] == 1
    hidden = post(http, BOOK, {"s": offered["id"], "n": 1}, outsider["token"]).json()["data"]["coopShiftBook"]
    assert hidden["userErrors"][0]["code"] == "NOT_FOUND"  # not a member: the shift does not exist for them

    assert gql(BALANCE, {"g": group}, token=parent["token"])["node"]["viewerCoopBalance"] == {
        "childHours": -4.0,
        "floorChildHours": -10.0,
    }
    accounts = gql(EVERYONE, {"g": group}, token=admin["token"])["node"]["coopBalances"]
    assert (
        sum(a["childHours"] for a in accounts) == 0
        and {"isEscrow": True, "childHours": 4.0, "member": None} in accounts
    )
    refused = post(http, EVERYONE, {"g": group}, parent["token"]).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_a_school_run_rota_and_a_swap_through_the_api(gql, sign_up):
    ana, bao = sign_up("Ana"), sign_up("Bao")
    group = gql(GROUP, token=ana["token"])["groupCreate"]["group"]["id"]
    gql(JOIN_GROUP, {"g": group}, token=bao["token"])
    trip = gql(TRIP_CREATE, {"input": school_run(group)}, token=ana["token"])["tripCreate"]["trip"]
    days = [d["date"] for d in trip["rota"]]
    gql(TRIP_JOIN, {"t": trip["id"], "c": ["Lina"]}, token=ana["token"])
    gql(TRIP_JOIN, {"t": trip["id"], "c": ["Minh", "Thu"]}, token=bao["token"])
    gql(VOLUNTEER, {"t": trip["id"], "d": days[0]}, token=ana["token"])
    gql(VOLUNTEER, {"t": trip["id"], "d": days[1]}, token=bao["token"])
    swap = gql(PROPOSE, {"t": trip["id"], "a": days[0], "b": days[1]}, token=ana["token"])["tripSwapPropose"]["swap"]
    done = gql(ACCEPT_SWAP, {"s": swap["id"], "t": trip["id"]}, token=bao["token"])["tripSwapAccept"]
    assert done["userErrors"] == [] and done["swap"] == {"state": "DONE"}
    drivers = {d["date"]: (d["driver"] or {}).get("displayName") for d in done["trip"]["rota"]}
    assert (drivers[days[0]], drivers[days[1]]) == ("Bao", "Ana")
    inbox = gql("{ inbox { nodes { kind subject { id } } } }", token=ana["token"])["inbox"]["nodes"]
    assert [n["kind"] for n in inbox].count("trip_rota_changed") == 2 and inbox[0]["subject"]["id"] == trip["id"]


def test_shifts_and_trips_are_found_nearby_by_the_group_only(gql, sign_up):
    member, outsider = sign_up("Member"), sign_up("Outsider")
    group = gql(GROUP, token=member["token"])["groupCreate"]["group"]["id"]
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    fields = {**shift(group, start, hours=3, places=2), "location": {"lat": 48.8330, "lon": 2.3560}}
    offered = gql(OFFER, {"input": fields}, token=member["token"])["coopShiftOffer"]["shift"]
    near = """query($near: GeoPointInput!) { nearbyGroupActivities(near: $near, radiusKm: 2) {
      kind distanceKm shift { id } trip { id } } }"""
    spot = {"lat": 48.8335, "lon": 2.3565}

    def found(token):
        return [a["shift"]["id"] for a in gql(near, {"near": spot}, token=token)["nearbyGroupActivities"] if a["shift"]]

    wait_for(lambda: offered["id"] in found(member["token"]), timeout=10, what="the shift searchable by the group")
    assert found(outsider["token"]) == []
