"""Members through the GraphQL API, on the five real processes: accounts, profiles, parents
near me, groups, and a block that reaches search through events."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from conftest import post
from support import graphql
from test_outing_end_to_end import CREATE, NEARBY, proposal

from parentnet_kit.testing import wait_for

LOGIN = """mutation($input: MemberLoginInput!) {
  memberLogin(input: $input) { accessToken refreshToken retryAfterSeconds userErrors { field message code } }
}"""
REFRESH = """mutation($t: String!) {
  memberTokenRefresh(input: {refreshToken: $t}) { accessToken refreshToken userErrors { field code } }
}"""
PROFILE = """mutation($input: MemberUpdateProfileInput!) {
  memberUpdateProfile(input: $input) {
    member { id homeCell { id center { lat lon } } children { ageYears } }
    userErrors { field message code }
  }
}"""
NEARBY_PARENTS = """query($filter: ParentsNearbyFilter, $first: Int, $after: String) {
  parentsNearby(filter: $filter, first: $first, after: $after) {
    totalCount
    edges { cursor distanceBand node { id displayName } }
    pageInfo { hasNextPage endCursor }
    userErrors { field message code }
  }
}"""


def test_sign_in_refresh_and_logout(http, sign_up):
    me = sign_up("Awa")
    viewer = post(http, "{ viewer { id email } }", token=me["token"]).json()["data"]["viewer"]
    assert viewer == {"id": me["id"], "email": me["email"]}
    assert post(http, "{ viewer { id } }").json()["data"]["viewer"] is None

    login = post(http, LOGIN, {"input": {"email": me["email"].upper(), "password": "a long test password"}}).json()
    session = login["data"]["memberLogin"]
    assert session["userErrors"] == [] and session["accessToken"]

    rotated = post(http, REFRESH, {"t": session["refreshToken"]}).json()["data"]["memberTokenRefresh"]
    assert rotated["userErrors"] == []
    logout = post(http, "mutation { memberLogout { sessionsEnded } }", token=rotated["accessToken"]).json()
    assert logout["data"]["memberLogout"]["sessionsEnded"] == 1
    after = post(http, "{ viewer { id } }", token=rotated["accessToken"])
    assert after.status_code == 401 and after.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    again = post(http, REFRESH, {"t": rotated["refreshToken"]}).json()["data"]["memberTokenRefresh"]
    assert again["userErrors"][0]["code"] == "INVALID_REFRESH_TOKEN"
    # The first session, from memberRegister, is still alive.
    assert post(http, "{ viewer { id } }", token=me["token"]).status_code == 200


def test_forged_or_missing_tokens_are_refused_clearly(http):
    forged = post(http, "{ viewer { id } }", token="eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
    assert forged.status_code == 401
    assert forged.headers["www-authenticate"].startswith("Bearer")
    anonymous = post(http, "mutation { memberLogout { sessionsEnded } }").json()
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    create = post(http, CREATE, {"input": proposal("sans compte", 48.85, 2.29)}).json()
    assert create["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_aliased_guesses_in_one_request_are_counted_one_by_one(http, sign_up):
    me = sign_up("Target")
    aliases = " ".join(
        f'g{i}: memberLogin(input: {{email: "{me["email"]}", password: "guess {i}"}}) {{ userErrors {{ code }} }}'
        for i in range(12)
    )
    body = post(http, f"mutation {{ {aliases} }}").json()["data"]
    codes = [body[f"g{i}"]["userErrors"][0]["code"] for i in range(12)]
    assert codes.count("INVALID_CREDENTIALS") == 5  # the per account and address limit
    assert codes.count("THROTTLED") == 7
    # Concurrent requests are counted too: still refused, even with the right password.
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda p: post(http, LOGIN, {"input": {"email": me["email"], "password": p}}).json(),
                ["a long test password"] * 4,
            )
        )
    assert {a["data"]["memberLogin"]["userErrors"][0]["code"] for a in answers} == {"THROTTLED"}
    assert all(a["data"]["memberLogin"]["retryAfterSeconds"] > 0 for a in answers)


def test_parents_nearby_shows_bands_and_hides_protected_and_blocked(gql, sign_up):
    # Somewhere in Annecy, away from other tests' members.
    centre = {"lat": 45.9075, "lon": 6.1100}
    me, near, hidden, blocker = (sign_up(n, "annecy") for n in ("Me", "Near", "Hidden", "Blocker"))
    for who, dlat, extra in (
        (me, 0, {}),
        (near, 0.0005, {}),
        (hidden, 0.0004, {"protectedMode": True}),
        (blocker, 0.0006, {}),
    ):
        point = {"lat": centre["lat"] + dlat, "lon": centre["lon"]}
        result = gql(PROFILE, {"input": {"homeLocation": point, **extra}}, token=who["token"])["memberUpdateProfile"]
        assert result["userErrors"] == []
    assert result["member"]["homeCell"]["center"] != point  # only the cell's centre leaves the service

    blocked = gql(
        "mutation($id: ID!) { memberBlock(input: {memberId: $id}) { userErrors { code } } }",
        {"id": me["id"]},
        token=blocker["token"],
    )
    assert blocked["memberBlock"]["userErrors"] == []

    page = gql(NEARBY_PARENTS, {"first": 10}, token=me["token"])["parentsNearby"]
    assert page["userErrors"] == []
    # Other tests' members may live in Annecy too (further away): this test's own are what it checks.
    mine = {near["id"], hidden["id"], blocker["id"]}
    seen = [(e["node"]["id"], e["distanceBand"]) for e in page["edges"] if e["node"]["id"] in mine]
    assert seen == [(near["id"], "UNDER_1_KM")]
    # The blocker's profile is gone for me, by id too.
    assert gql("query($id: ID!) { node(id: $id) { id } }", {"id": blocker["id"]}, token=me["token"])["node"] is None

    bad = gql(PROFILE, {"input": {"homeLocation": {"lat": 48.85, "lon": 2.35}}}, token=me["token"])[
        "memberUpdateProfile"
    ]
    assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [(["input", "homeLocation"], "FAR_FROM_CITY")]


def test_a_blocked_member_no_longer_finds_the_blockers_outings(gql, sign_up, organizer):
    blocker, viewer = sign_up("Organiser"), sign_up("Viewer")
    spot = {"lat": 48.8800, "lon": 2.3700}  # Buttes-Chaumont
    made = gql(CREATE, {"input": proposal("Goûter aux Buttes", spot["lat"], spot["lon"])}, token=blocker["token"])
    outing_id = made["outingCreate"]["outing"]["id"]

    def seen(token):
        page = gql(NEARBY, {"near": spot, "radiusKm": 0.5, "first": 50}, token=token)["nearbyOutings"]
        return outing_id in [e["node"]["id"] for e in page["edges"]]

    wait_for(lambda: seen(viewer["token"]), timeout=10, what="the outing searchable")
    block = "mutation($id: ID!) { memberBlock(input: {memberId: $id}) { member { displayName } userErrors { code } } }"
    assert gql(block, {"id": viewer["id"]}, token=blocker["token"])["memberBlock"]["userErrors"] == []
    wait_for(lambda: not seen(viewer["token"]), timeout=10, what="the block to reach search")
    assert seen(sign_up("Someone")["token"])
    # Nor does the blocker find the blocked member's outings in discovery (both directions).
    theirs = gql(CREATE, {"input": proposal("Pique-nique du bloqué", spot["lat"], spot["lon"])}, token=viewer["token"])
    their_id = theirs["outingCreate"]["outing"]["id"]

    def found_by(token: str) -> bool:
        page = gql(NEARBY, {"near": spot, "radiusKm": 0.5, "first": 50}, token=token)["nearbyOutings"]
        return their_id in [e["node"]["id"] for e in page["edges"]]

    wait_for(lambda: found_by(organizer["token"]), timeout=10, what="the blocked member's outing searchable")
    assert not found_by(blocker["token"])
    node = gql("query($id: ID!) { node(id: $id) { id } }", {"id": outing_id}, token=viewer["token"])
    assert node["node"] is None
    organizer = gql(
        "query($id: ID!) { node(id: $id) { ... on Outing { organizer { displayName } } } }", {"id": outing_id}
    )
    assert organizer["node"]["organizer"] == {"displayName": "Organiser"}


def test_private_group_membership_through_the_api(gql, http, sign_up):
    admin, parent = sign_up("Admin"), sign_up("Parent")
    create = """mutation { groupCreate(input: {name: "Parents du 11e", city: "paris", visibility: PRIVATE,
      joinPolicy: APPROVAL}) { group { id memberCount } membership { role status } userErrors { field code } } }"""
    made = gql(create, token=admin["token"])["groupCreate"]
    assert made["membership"] == {"role": "ADMIN", "status": "ACTIVE"}
    group_id = made["group"]["id"]

    join = "mutation($g: ID!) { groupJoin(input: {groupId: $g}) { membership { status } userErrors { code } } }"
    assert gql(join, {"g": group_id}, token=parent["token"])["groupJoin"]["membership"] == {"status": "PENDING"}

    members_query = "query($g: ID!) { node(id: $g) { ... on Group { memberCount members { totalCount } } } }"
    body = post(http, members_query, {"g": group_id}, parent["token"]).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    approve = """mutation($g: ID!, $m: ID!) { groupRequestApprove(input: {groupId: $g, memberId: $m}) {
      membership { status member { displayName } } userErrors { field code } } }"""
    approved = gql(approve, {"g": group_id, "m": parent["id"]}, token=admin["token"])["groupRequestApprove"]
    assert approved["membership"] == {"status": "ACTIVE", "member": {"displayName": "Parent"}}
    seen = gql(members_query, {"g": group_id}, token=parent["token"])["node"]
    assert seen == {"memberCount": 2, "members": {"totalCount": 2}}


def test_a_suite_long_member_renews_its_access_token_as_an_app_does(sign_up, http, monkeypatch):
    """The fixtures' members (support.graphql.SignedIn) refresh their access token before it
    expires, so the session's organizer still works in a run longer than its 15 minutes."""
    member = sign_up("Renewer")
    first = dict.__getitem__(member, "token")
    monkeypatch.setattr(graphql, "REFRESH_MARGIN_SECONDS", 10**6)  # every read is "about to expire"
    renewed = member["token"]
    assert renewed != first and member["refresh"]
    body = post(http, "{ viewer { id } }", None, renewed).json()
    assert body["data"]["viewer"]["id"] == member["id"]
