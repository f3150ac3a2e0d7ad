"""A client retrying a creation with the same ``Idempotency-Key`` gets what its first try made,
through the GraphQL API on the five real processes."""

from __future__ import annotations

from pymongo import MongoClient
from test_listings_end_to_end import CREATE as LISTING_CREATE
from test_listings_end_to_end import stroller
from test_outing_end_to_end import CREATE as OUTING_CREATE
from test_outing_end_to_end import proposal

from gateway.ids import from_global_id
from parentnet_kit import config, testing

TWO_LISTINGS = """mutation($a: ListingCreateInput!, $b: ListingCreateInput!) {
  first: listingCreate(input: $a) { listing { id } userErrors { code } }
  second: listingCreate(input: $b) { listing { id } userErrors { code } }
}"""


def send(http, query: str, variables: dict, token: str, key: str | None) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    response = http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_a_retried_creation_with_the_same_key_is_made_once(stack, http, sign_up):
    parent, other = sign_up("Retrying parent"), sign_up("Other parent")
    listings = MongoClient(config.mongo_uri())[stack.env["LISTINGS_DB"]].listings
    offer = {"input": stroller("GIVE", {"lat": 45.5090, "lon": -73.5540}, city="montreal")}
    key = testing.unique_name("key")

    made = send(http, LISTING_CREATE, offer, parent["token"], key)["listingCreate"]
    retried = send(http, LISTING_CREATE, offer, parent["token"], key)["listingCreate"]
    assert made["userErrors"] == [] and retried["userErrors"] == []
    assert retried["listing"]["id"] == made["listing"]["id"]
    assert listings.count_documents({"owner_id": from_global_id(parent["id"])[1]}) == 1

    # Another key, no key, or another member with the same key: each is a new listing.
    fresh = {
        send(http, LISTING_CREATE, offer, parent["token"], testing.unique_name("key"))["listingCreate"]["listing"][
            "id"
        ],
        send(http, LISTING_CREATE, offer, parent["token"], None)["listingCreate"]["listing"]["id"],
        send(http, LISTING_CREATE, offer, other["token"], key)["listingCreate"]["listing"]["id"],
    }
    assert len(fresh | {made["listing"]["id"]}) == 4

    # One key over two aliased creations: two listings, and the retry returns the same two.
    both = {"a": offer["input"], "b": offer["input"]}
    key = testing.unique_name("key")
    first = send(http, TWO_LISTINGS, both, parent["token"], key)
    again = send(http, TWO_LISTINGS, both, parent["token"], key)
    ids = (first["first"]["listing"]["id"], first["second"]["listing"]["id"])
    assert ids[0] != ids[1]
    assert (again["first"]["listing"]["id"], again["second"]["listing"]["id"]) == ids

    # Outings too.
    outing = {"input": proposal("Pique-nique au parc La Fontaine", 45.5270, -73.5700, city="montreal")}
    key = testing.unique_name("key")
    created = send(http, OUTING_CREATE, outing, parent["token"], key)["outingCreate"]["outing"]["id"]
    assert send(http, OUTING_CREATE, outing, parent["token"], key)["outingCreate"]["outing"]["id"] == created


def test_a_malformed_key_is_refused_naming_the_header_and_nothing_is_made(stack, http, sign_up):
    parent = sign_up("Careless client")
    listings = MongoClient(config.mongo_uri())[stack.env["LISTINGS_DB"]].listings
    before = listings.count_documents({})
    for bad in ("has a space", "x" * 201, "é".encode("latin-1")):
        response = http.post(
            "/graphql",
            json={
                "query": LISTING_CREATE,
                "variables": {"input": stroller("GIVE", {"lat": 45.50, "lon": -73.56}, city="montreal")},
            },
            headers={"Authorization": f"Bearer {parent['token']}", "Idempotency-Key": bad},
        )
        assert response.status_code == 400
        error = response.json()["errors"][0]
        assert "Idempotency-Key" in error["message"] and error["extensions"]["code"] == "BAD_REQUEST"
    assert listings.count_documents({}) == before
