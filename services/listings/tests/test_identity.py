"""The listings service, required to check identity tokens, as a raw RPC caller on the bus sees
it: a listing's exact pickup address, a member's own listings and her notices go only with her
genuine token."""

from __future__ import annotations

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy
from test_listings import BASTILLE, listing

from listings.service import ListingsService
from parentnet_kit import identity
from parentnet_kit import nameko_testing as members
from parentnet_kit.tokens import generate_key_pair

KEYS = generate_key_pair()
SIGNER = identity.IdentitySigner(KEYS[0])
FORGER = identity.IdentitySigner(generate_key_pair()[0])


class _Proxy:
    def __init__(self, config, data):
        self.cluster = ClusterRpcProxy(config, context_data=data, timeout=15)

    def __enter__(self):
        return self.cluster.start().listings

    def __exit__(self, *exc):
        self.cluster.stop()


def as_member(config, member_id=None, signer=SIGNER, audience="listings"):
    data = {} if member_id is None else {identity.HEADER: signer.token(member_id, audience)}
    return _Proxy(config, data)


@pytest.fixture
def secured(container_factory, service_config):
    """Listings requiring tokens; "owner" lends a bed at a street address, "asker" matched it."""
    config = {**service_config, "INTERNAL_IDENTITY_PUBLIC_KEY": KEYS[1].decode(), "INTERNAL_IDENTITY_REQUIRED": True}
    container_factory(ListingsService, config).start()
    with as_member(config, "asker") as listings:
        wanted = listings.create_listing(listing("wanted", "Cherche lit", BASTILLE, category="furniture"), "asker")
    assert wanted["errors"] == [], wanted
    with as_member(config, "owner") as listings:
        made = listings.create_listing(listing("lend", "Lit parapluie", BASTILLE, category="furniture"), "owner")
    assert made["errors"] == [] and made["listing"]["pickup_address"].startswith("12 rue")
    return config, made["listing"]["id"]


def refusal(client, method, *args):
    with client as listings, pytest.raises(RemoteError) as raised:
        getattr(listings, method)(*args)
    return raised.value.exc_type


def test_the_pickup_address_goes_with_the_owners_token_only(secured):
    config, listing_id = secured
    with as_member(config, "owner") as listings:
        (mine,) = listings.get_listings([listing_id], "owner")
        own = listings.listings_of("owner")["listings"]
    assert mine["pickup_address"].startswith("12 rue")
    assert [v["pickup_address"] for v in own] == [mine["pickup_address"]]
    # No token, someone else's (naming the owner as viewer), a forged one: no address, no point.
    for client in (as_member(config), as_member(config, "asker"), as_member(config, "owner", signer=FORGER)):
        with client as listings:
            try:
                (view,) = listings.get_listings([listing_id], "owner")
            except RemoteError as error:
                assert error.exc_type == "Forbidden"
                continue
        assert "pickup_address" not in view and "pickup_location" not in view, view
    for client in (as_member(config), as_member(config, "asker"), as_member(config, "owner", audience="events")):
        assert refusal(client, "listings_of", "owner") == "Forbidden"


def test_a_members_notices_go_with_her_token_only(secured):
    config, _ = secured
    with as_member(config, "asker") as listings:
        items = listings.inbox("asker")["items"]
    assert [n["kind"] for n in items] == ["listing_matched"]
    for client in (as_member(config), as_member(config, "owner"), as_member(config, "asker", signer=FORGER)):
        assert refusal(client, "inbox", "asker") == "Forbidden"
        assert refusal(client, "mark_read", "asker", [items[0]["id"]]) == "Forbidden"
    with as_member(config, "asker") as listings:
        assert listings.mark_read("asker", [items[0]["id"]]) == 1


def test_a_contact_read_by_id_answers_only_what_the_viewer_may_see(secured):
    """get_contacts applies the API's rule for the verified viewer (from the stop-27 review: it
    answered a private group's contact, name and phone, to anyone on the bus with its id): a
    group's contact only to its members, a city's to anyone, with a token or without; a forged
    token is refused."""
    config, _ = secured
    members.group("g-quiet", visibility="private", insider="member")
    fields = {"kind": "paediatrician", "city": "paris", "phone": "+33 1 43 00 00 00", "languages": ["fr"]}
    with as_member(config, "insider") as listings:
        grouped = listings.add_contact({**fields, "name": "Dr Quiet", "group_id": "g-quiet"}, "insider")
        open_one = listings.add_contact({**fields, "name": "Dr Open"}, "insider")
    ids = [open_one["contact"]["id"], grouped["contact"]["id"], "no-such-contact"]

    def read(member_id, **kw):
        with as_member(config, member_id, **kw) as listings:
            return [(v or {}).get("name") for v in listings.get_contacts(ids)]

    assert read("insider") == ["Dr Open", "Dr Quiet", None]
    assert read("outsider") == ["Dr Open", None, None]
    assert read(None) == ["Dr Open", None, None]
    assert refusal(as_member(config, "insider", signer=FORGER), "get_contacts", ids) == "Forbidden"
