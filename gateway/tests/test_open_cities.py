"""The gateway's cached copy of the open cities: one RPC, asked again when a city is opened."""

from __future__ import annotations

from gateway import open_cities
from parentnet_kit import cities

FOUNDING = [c.to_dict() for c in cities.founding()]
VALPARAISO = cities.City(
    "valparaiso",
    "Valparaíso",
    "CL",
    "America/Santiago",
    ("es", "en"),
    -33.036,
    -71.63,
    names={"es": "Valparaíso", "en": "Valparaiso"},
).to_dict()


def post(client, query, headers=None):
    return client.post("/graphql", json={"query": query}, headers=headers or {}).json()


def test_cities_are_asked_once_then_again_after_a_city_is_opened(make_client):
    answer = list(FOUNDING)
    client, fake = make_client({"members.open_cities": lambda: answer})
    assert len(post(client, "{ cities { slug } }")["data"]["cities"]) == len(FOUNDING)
    post(client, "{ cities { slug } }")
    assert fake.calls.count(("members", "open_cities")) == 1

    answer.append(VALPARAISO)
    open_cities.DIRECTORY.changed()  # what the feed does when it hears members.city_opened
    body = post(client, "{ cities { slug name timeZone } }", {"accept-language": "en;q=0.9, fr;q=0.5"})
    assert {"slug": "valparaiso", "name": "Valparaiso", "timeZone": "America/Santiago"} in body["data"]["cities"]
    assert fake.calls.count(("members", "open_cities")) == 2


def test_a_city_is_a_node_named_in_the_language_asked(make_client):
    client, _ = make_client({"members.open_cities": [*FOUNDING, VALPARAISO]})
    slug_query = "{ cities { id slug } }"
    ids = {c["slug"]: c["id"] for c in post(client, slug_query)["data"]["cities"]}
    names = '... on City { name(language: "fr") en: name(language: "en-AU") }'
    node = post(client, f'{{ node(id: "{ids["valparaiso"]}") {{ {names} }} }}')
    assert node["data"]["node"] == {"name": "Valparaíso", "en": "Valparaiso"}


def test_cityopen_needs_a_signed_in_member(make_client):
    client, fake = make_client({})
    body = post(client, 'mutation { cityOpen(input: {geonamesId: 3868626, languages: ["es"]}) { city { slug } } }')
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert ("members", "open_city") not in fake.calls
