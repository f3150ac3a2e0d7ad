"""Listings in a real nameko container on the real MongoDB-protocol server and RabbitMQ:
matching, reservations, the private pickup address, expiry, trusted contacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_hook

from listings.service import ListingsService
from parentnet_kit import nameko_testing as members
from parentnet_kit.expiry import markers_database
from parentnet_kit.testing import call_twice
from parentnet_kit.testing import drain_events as published

BASTILLE = {"lat": 48.8532, "lon": 2.3692}
TWO_KM_EAST = {"lat": 48.8532, "lon": 2.3692 + 2.0 / 73.2}  # ~2 km at this latitude


def call(container, method, *args, **kwargs):
    with entrypoint_hook(container, method) as hook:
        return hook(*args, **kwargs)


def listing(kind: str, title: str, where: dict, **extra) -> dict:
    return {
        "kind": kind,
        "category": "pram_stroller",
        "title": title,
        "city": "paris",
        "pickup_address": "12 rue de la Roquette, 75011 Paris",
        "pickup_location": where,
        **extra,
    }


@pytest.fixture
def container(container_factory, service_config):
    container = container_factory(ListingsService, service_config)
    container.start()
    return container


@pytest.fixture
def container_at_volume(container_factory, service_config_at_volume):
    container = container_factory(ListingsService, service_config_at_volume)
    container.start()
    return container


def post(container, owner, fields, apart=()):
    result = call(container, "create_listing", fields, owner, list(apart))
    assert result["errors"] == [], result
    return result["listing"]


def test_a_wanted_stroller_meets_an_offer_two_km_away(container, service_config):
    offer = post(container, "offerer", listing("give", "Poussette double", TWO_KM_EAST, condition="good"))
    wanted = post(container, "seeker", listing("wanted", "Cherche poussette double", BASTILLE, match_radius_km=3))
    for member, other in (("seeker", offer), ("offerer", wanted)):
        items = call(container, "inbox", member)["items"]
        assert [(n["kind"], n["subject"]["id"]) for n in items] == [("listing_matched", other["id"])]
    events = published(service_config["AMQP_URI"])
    matched = [e for e in events if e["type"] == "listing_matched"]
    assert len(matched) == 1 and matched[0]["data"]["wanted_id"] == wanted["id"]
    # Running the matching again tells nobody twice.
    call(container, "sweep")
    assert len(call(container, "inbox", "seeker")["items"]) == 1


def test_no_match_beyond_the_radius_across_categories_or_sizes_or_between_blocked_members(container):
    post(container, "seeker", listing("wanted", "Poussette", BASTILLE, match_radius_km=1))
    post(container, "far", listing("give", "Poussette", TWO_KM_EAST))
    post(container, "car", listing("give", "Siège auto", BASTILLE, category="car_seat"))
    post(container, "blocked", listing("give", "Poussette", BASTILLE), apart=["seeker"])
    post(container, "shoes-wanted", listing("wanted", "Chaussures", BASTILLE, category="shoes", size="24"))
    post(container, "shoes-offered", listing("give", "Chaussures", BASTILLE, category="shoes", size="EU 26"))
    for member in ("seeker", "far", "car", "blocked", "shoes-wanted", "shoes-offered"):
        assert call(container, "inbox", member)["items"] == [], member


def test_the_exact_address_goes_only_to_the_accepted_reserver(container):
    offer = post(container, "owner", listing("lend", "Lit parapluie", BASTILLE, category="furniture"))
    assert offer["pickup_address"].startswith("12 rue")  # the owner sees it
    assert call(container, "get_listings", [offer["id"]], "asker")[0].get("pickup_address") is None
    public = call(container, "get_listings", [offer["id"]], None)[0]
    assert "pickup_address" not in public and "pickup_location" not in public
    assert public["pickup_area"]["id"] and public["pickup_area"]["lat"] != BASTILLE["lat"]

    reserved = call(container, "reserve_listing", offer["id"], "asker", [])
    assert reserved["errors"] == [] and "pickup_address" not in reserved["listing"]
    assert call(container, "decide_reservation", offer["id"], "asker", True)["errors"][0]["code"] == "FORBIDDEN"
    accepted = call(container, "decide_reservation", offer["id"], "owner", True)
    assert accepted["errors"] == []
    assert call(container, "get_listings", [offer["id"]], "asker")[0]["pickup_address"].startswith("12 rue")
    assert "pickup_address" not in call(container, "get_listings", [offer["id"]], "someone-else")[0]
    kinds = [n["kind"] for n in call(container, "inbox", "asker")["items"]]
    assert kinds == ["listing_reservation_accepted"]


def test_two_members_reserving_at_the_same_moment(container_at_volume, service_config_at_volume):
    container, service_config = container_at_volume, service_config_at_volume
    offer = post(container, "owner", listing("give", "Porte-bébé", BASTILLE, category="maternity"))
    with ClusterRpcProxy(service_config) as cluster:
        calls = [cluster.listings.reserve_listing.call_async(offer["id"], m, []) for m in ("ana", "bao")]
        answers = [c.result() for c in calls]
    codes = sorted(a["errors"][0]["code"] if a["errors"] else "OK" for a in answers)
    assert codes == ["ALREADY_RESERVED", "OK"]
    loser = next(a for a in answers if a["errors"])
    assert loser["errors"][0]["message"] == "Somebody reserved it first."

    # Declined: it is available again, and a new round can be won.
    assert call(container, "decide_reservation", offer["id"], "owner", False)["listing"]["status"] == "active"
    assert call(container, "reserve_listing", offer["id"], "chen", [])["errors"] == []


def test_expired_listings_close_without_anyone_acting(container, service_config, db):
    offer = post(container, "owner", listing("give", "Body 6 mois", BASTILLE, category="clothes", size="68"))
    past = datetime.now(UTC) - timedelta(minutes=1)
    db.listings.update_one({"_id": offer["id"]}, {"$set": {"expires_at": past}})
    db.listings_expiring.update_one({"_id": offer["id"]}, {"$set": {"expires_at": past}})
    due = markers_database(db)  # the sweep's schedule: the hour it falls due, in the markers' database
    due[f"listings_due_{past:%Y%m%d%H}"].insert_one({"_id": offer["id"], "expires_at": past})
    older = post(container, "owner", listing("give", "Bavoirs", BASTILLE, category="clothes", size="68"))
    db.listings.update_one({"_id": older["id"]}, {"$set": {"expires_at": past}})
    db[f"listings_due_{past:%Y%m%d%H}"].insert_one({"_id": older["id"], "expires_at": past})  # as earlier code did
    assert [n for n in db.list_collection_names() if n.startswith("listings_due_")] != []
    call(container, "expire")
    assert [v["status"] for v in call(container, "get_listings", [offer["id"], older["id"]], None)] == ["expired"] * 2
    closed = [e for e in published(service_config["AMQP_URI"]) if e["type"] == "listing_closed"]
    assert [e["data"]["status"] for e in closed] == ["expired", "expired"]
    renewed = call(container, "renew_listing", offer["id"], "owner")
    assert renewed["listing"]["status"] == "active"


def test_bad_listing_input_is_named_and_nothing_is_stored(container, db):
    bad = listing("sell", "", {"lat": 95, "lon": 2.3}, category="clothes", photos=["http://x.test/a.jpg"])
    result = call(container, "create_listing", bad, "owner", [])
    assert {(tuple(e["field"]), e["code"]) for e in result["errors"]} == {
        (("title",), "REQUIRED"),
        (("size",), "REQUIRED"),
        (("price", "amount"), "REQUIRED"),
        (("photos", "0"), "INVALID"),
        (("pickup_location", "lat"), "OUT_OF_RANGE"),
    }
    assert db.listings.count_documents({}) == 0 and db.listings_outbox.count_documents({}) == 0


def test_trusted_contacts_are_recommended_once_per_member(container):
    fields = {
        "kind": "paediatrician",
        "name": "Dr Nguyen",
        "city": "paris",
        "phone": "+33 1 43 00 00 00",
        "languages": ["fr", "vi"],
    }
    added = call(container, "add_contact", fields, "m1")
    assert added["errors"] == [] and added["contact"]["recommendations"] == 1
    contact_id = added["contact"]["id"]
    assert call(container, "recommend_contact", contact_id, "m2")["contact"]["recommendations"] == 2
    again = call(container, "recommend_contact", contact_id, "m2")
    assert again["errors"][0]["code"] == "ALREADY_RECOMMENDED"
    other = call(container, "add_contact", {**fields, "name": "Crèche Les Lucioles", "kind": "nursery"}, "m3")
    members.group("g1", m3="member")
    outsider = {**fields, "name": "Pas du groupe", "kind": "childminder", "group_id": "g1"}
    refused = call(container, "add_contact", outsider, "m4")
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [(["group_id"], "NOT_MEMBER")]
    group_only = call(
        container, "add_contact", {**fields, "name": "Nounou du groupe", "kind": "childminder", "group_id": "g1"}, "m3"
    )
    listed = call(container, "list_contacts", "paris")
    assert [c["name"] for c in listed["contacts"]] == ["Dr Nguyen", "Crèche Les Lucioles"]
    assert call(container, "list_contacts", "paris", "nursery")["contacts"][0]["id"] == other["contact"]["id"]
    in_group = call(container, "list_contacts", "paris", None, "vi", ["g1"])
    assert group_only["contact"]["id"] in [c["id"] for c in in_group["contacts"]]


def test_a_redelivered_posting_or_contact_is_stored_once(container, service_config, db):
    uri = service_config["AMQP_URI"]
    fields = listing("give", "Poussette", BASTILLE)
    first, again = call_twice(uri, "listings", "create_listing", fields=fields, owner_id="owner", apart=[])
    assert first["errors"] == [] and again["errors"] == []
    assert again["listing"]["id"] == first["listing"]["id"]
    assert db.listings.count_documents({}) == 1
    posted = [e for e in published(uri) if e["type"] == "listing_posted"]
    assert [e["aggregate_id"] for e in posted] == [first["listing"]["id"]]
    # Another request for the same thing is another listing.
    assert post(container, "owner", fields)["id"] != first["listing"]["id"]

    contact = {"kind": "paediatrician", "name": "Dr Nguyen", "city": "paris", "phone": "+33 1 43 00 00 00"}
    first, again = call_twice(uri, "listings", "add_contact", fields=contact, member_id="m1")
    assert first["errors"] == [] and again["errors"] == []
    assert again["contact"]["id"] == first["contact"]["id"] and again["contact"]["recommendations"] == 1
    assert db.contacts.count_documents({}) == 1


def test_my_listings_page_by_id_at_volume(container_at_volume, service_config_at_volume):
    container = container_at_volume
    owner = f"owner-{datetime.now(UTC).timestamp()}"
    posted = [post(container, owner, listing("give", f"Poussette {i}", BASTILLE))["id"] for i in range(5)]
    post(container, f"other-{owner}", listing("give", "Pas à moi", BASTILLE))
    first = call(container, "listings_of", owner, 3)
    assert first["total"] == 5 and first["has_next_page"]
    rest = call(container, "listings_of", owner, 3, first["listings"][-1]["id"])
    assert rest["total"] == 5 and not rest["has_next_page"]
    ids = [li["id"] for li in first["listings"] + rest["listings"]]
    assert ids == posted[::-1]  # newest first
    # A volume owner's listings are there too, indexed as the service indexes them.
    from pymongo import MongoClient

    db = MongoClient(service_config_at_volume["MONGO_URI"])[service_config_at_volume["LISTINGS_DB"]]
    someone = db.listings.find_one({"owner_id": {"$regex": "^vol"}})["owner_id"]
    expected = {d["_id"] for d in db.listings.find({"owner_id": someone})}
    theirs = call(container, "listings_of", someone, 100)
    assert {li["id"] for li in theirs["listings"]} == expected and theirs["total"] == len(expected)


def test_blocks_and_protected_mode_come_from_members_not_the_caller(container):
    """The caller says nothing of blocks or protected mode; members does, and it holds."""
    members.block("giver", "seeker")
    members.member("shy", protected=True)
    offer = post(container, "giver", listing("give", "Poussette", BASTILLE))
    post(container, "seeker", listing("wanted", "Cherche poussette", BASTILLE, match_radius_km=3))
    assert call(container, "inbox", "seeker")["items"] == [] and call(container, "inbox", "giver")["items"] == []
    refused = call(container, "reserve_listing", offer["id"], "seeker")
    assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"]
    assert post(container, "shy", listing("give", "Jouet", BASTILLE))["pickup_area"]["id"] == "city:paris"
