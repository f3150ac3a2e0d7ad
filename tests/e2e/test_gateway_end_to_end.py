"""The gateway's promises to front-end teams, against the five real processes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from conftest import post
from test_outing_end_to_end import CREATE, proposal

from parentnet_kit.testing import wait_for

PAGE = """query($near: GeoPointInput!) {
  nearbyOutings(near: $near, radiusKm: 1, first: 50) {
    totalCount
    nodes { id title organizer { displayName } viewerPlace { status } }
  }
}"""


def test_a_page_of_fifty_outings_with_organizers_costs_three_rpc_calls(http, sign_up):
    organizers = [sign_up(f"Organizer{i}") for i in range(5)]
    centre = {"lat": 48.8200, "lon": 2.4000}  # Bois de Vincennes: 50 outings in a row, 11 m apart
    jobs = [(organizers[i % 5], proposal(f"Sortie {i}", centre["lat"] + i * 0.0001, centre["lon"])) for i in range(50)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda job: post(http, CREATE, {"input": job[1]}, job[0]["token"]).json(), jobs))

    viewer = sign_up("Viewer")

    def page():
        return post(http, PAGE, {"near": centre}, viewer["token"]).json()

    body = wait_for(
        lambda: (b := page())["data"]["nearbyOutings"]["totalCount"] >= 50 and b, timeout=15, what="50 outings"
    )
    nodes = body["data"]["nearbyOutings"]["nodes"]
    assert len(nodes) == 50 and all(n["organizer"]["displayName"].startswith("Organizer") for n in nodes)
    # search.nearby_outings + members.viewer_context + members.get_members (+ events.places_of for viewerPlace)
    assert body["extensions"]["rpcCalls"] <= 4
    without_places = post(http, PAGE.replace("viewerPlace { status }", ""), {"near": centre}, viewer["token"]).json()
    assert without_places["extensions"]["rpcCalls"] <= 3


def test_refused_before_any_rpc(http):
    deep = "{ nearbyOutings(near: {lat: 1, lon: 1}, radiusKm: 1) { nodes { organizer { %s } } } }"
    inner = "id"
    for _ in range(6):
        inner = f"groups {{ members {{ nodes {{ {inner} }} }} }}"
    cases = {
        "QUERY_TOO_DEEP": deep % inner,
        "TOO_MANY_ALIASES": "{ " + " ".join(f"a{i}: cities {{ slug }}" for i in range(100)) + " }",
        "BAD_USER_INPUT": "{ nearbyOutings(near: {lat: 1, lon: 1}, radiusKm: 1, first: 100000) { totalCount } }",
    }
    for code, query in cases.items():
        response = post(http, query)
        body = response.json()
        assert response.status_code == 400 and body["errors"][0]["extensions"]["code"] == code, body
        assert body["extensions"]["rpcCalls"] == 0
