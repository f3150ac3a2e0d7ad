"""The events service acts only for the member the request's identity token names, and decides
group roles from members' data: raw RPCs (not through the gateway) that claim otherwise are refused."""

from __future__ import annotations

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy
from test_coop_and_trips import shift_fields, trip_fields
from test_pictures import variants as picture_variants
from test_service import GOOD

from events.service import EventsService
from parentnet_kit import identity
from parentnet_kit import nameko_testing as members
from parentnet_kit.tokens import generate_key_pair

KEYS = generate_key_pair()
SIGNER = identity.IdentitySigner(KEYS[0])
FORGER = identity.IdentitySigner(generate_key_pair()[0])  # someone else's key


@pytest.fixture
def secured(container_factory, service_config):
    """The events service requiring identity tokens signed with KEYS; an outing in a group
    organized by "organizer", where "admin" is an admin and "plain" a member."""
    config = {**service_config, "INTERNAL_IDENTITY_PUBLIC_KEY": KEYS[1].decode(), "INTERNAL_IDENTITY_REQUIRED": True}
    container_factory(EventsService, config).start()
    members.group("g-identity", organizer="member", admin="admin", plain="member")
    with as_member(config, "organizer") as events:
        made = events.create_outing({**GOOD, "group_id": "g-identity"}, organizer_id="organizer")
    assert made["errors"] == [], made
    return config, made["outing"]["id"]


def as_member(config, member_id=None, signer=SIGNER, audience="events"):
    """A raw RPC client of the events service whose calls carry ``member_id``'s identity token."""
    data = {} if member_id is None else {identity.HEADER: signer.token(member_id, audience)}
    return _Proxy(config, data)


class _Proxy:
    def __init__(self, config, data):
        self.cluster = ClusterRpcProxy(config, context_data=data, timeout=15)

    def __enter__(self):
        return self.cluster.start().events

    def __exit__(self, *exc):
        self.cluster.stop()


def test_a_raw_rpc_claiming_to_be_a_group_admin_is_refused(secured):
    config, outing_id = secured
    # A member of the group with a genuine token, claiming the admin role: not believed.
    with as_member(config, "plain") as events:
        claimed = events.update_outing(outing_id, "plain", {"title": "Hijacked"}, "occurrence", True)
        cancel = events.cancel_outing(outing_id, "plain", "occurrence", actor_is_group_admin=True)
    assert [e["code"] for e in claimed["errors"]] == ["FORBIDDEN"]
    assert [e["code"] for e in cancel["errors"]] == ["FORBIDDEN"]
    # A token that names the member, acting as the admin: refused before anything is read.
    with as_member(config, "plain") as events, pytest.raises(RemoteError) as raised:
        events.update_outing(outing_id, "admin", {"title": "Hijacked"}, "occurrence", True)
    assert raised.value.exc_type == "Forbidden"
    # A forged token, one for another service, and none at all.
    for client in (
        as_member(config, "admin", signer=FORGER),
        as_member(config, "admin", audience="listings"),
        as_member(config),
    ):
        with client as events, pytest.raises(RemoteError) as raised:
            events.cancel_outing(outing_id, "admin", "occurrence", True)
        assert raised.value.exc_type == "Forbidden"
    with as_member(config, "organizer") as events:
        assert events.get_outing(outing_id)["status"] == "published"
        assert events.get_outing(outing_id)["title"] == GOOD["title"]
    # The group's admin, as members says, with a genuine token: allowed.
    with as_member(config, "admin") as events:
        renamed = events.update_outing(outing_id, "admin", {"title": "Renamed by the admin"})
    assert renamed["errors"] == [] and renamed["outing"]["title"] == "Renamed by the admin"
    # Demoted at members: the very next request is refused.
    members.group("g-identity", admin="member")
    with as_member(config, "admin") as events:
        assert [e["code"] for e in events.cancel_outing(outing_id, "admin")["errors"]] == ["FORBIDDEN"]


def test_reads_follow_the_verified_viewer_not_the_callers_lists(secured):
    config, _ = secured
    members.group("g-secret", visibility="private", insider="member")
    with as_member(config, "insider") as events:
        made = events.create_outing({**GOOD, "group_id": "g-secret"}, organizer_id="insider")
    secret = made["outing"]["id"]
    # An outsider naming the private group among "their" groups sees nothing of it.
    with as_member(config, "outsider") as events:
        page = events.group_outings(["g-secret"], "upcoming", 20, None, None, None, [], ["g-secret"])
        assert page["total"] == 0
    with as_member(config, "insider") as events:
        page = events.group_outings(["g-secret"], "upcoming", 20)
        assert [i["outing"]["id"] for i in page["items"]] == [secret]


def test_an_outing_read_by_id_answers_only_what_the_viewer_may_see(secured):
    """get_outing and get_outings apply the API's rule for the verified viewer (from the
    stop-27 review: they answered a private group's outing to anyone on the bus with its id):
    a private group's outing only to its members, nothing of an organizer to a member they
    blocked, without a token what a signed-out visitor sees; a forged token is refused."""
    config, public_id = secured
    members.group("g-hushed", visibility="private", insider="member")
    with as_member(config, "insider") as events:
        made = events.create_outing({**GOOD, "group_id": "g-hushed"}, organizer_id="insider")
    hushed = made["outing"]["id"]
    members.block("organizer", "blocked-one")

    def read(member_id, **kw):
        with as_member(config, member_id, **kw) as events:
            one = {i: (events.get_outing(i) or {}).get("id") for i in (public_id, hushed)}
            many = [(v or {}).get("id") for v in events.get_outings([public_id, hushed, "no-such-outing"])]
        assert [one[public_id], one[hushed], None] == many  # the batch answers as each read does
        return many[:2]

    assert read("insider") == [public_id, hushed]
    assert read("outsider") == [public_id, None]
    assert read(None) == [public_id, None]  # no token: a signed-out visitor's view
    assert read("blocked-one") == [None, None]  # the organizer blocked them
    with as_member(config, "insider", signer=FORGER) as events, pytest.raises(RemoteError) as raised:
        events.get_outings([hushed])
    assert raised.value.exc_type == "Forbidden"


def test_no_raw_rpc_gets_a_role_or_a_membership_it_does_not_have(secured):
    """Pictures, co-op and school runs decide from members' data, whatever the caller claims:
    a member claiming the admin role, an outsider booking or riding in a group they are not
    in, anyone reading another member's balance or inbox is refused."""
    config, outing_id = secured
    members.member("outsider")
    with as_member(config, "plain") as events:
        claimed = events.picture_add("outing", outing_id, "plain", picture_variants(), actor_is_admin=True)
        assert claimed["picture"] is None and [e["code"] for e in claimed["errors"]] == ["NOT_YOURS"]
        with pytest.raises(RemoteError) as raised:
            events.coop_balances("g-identity")
        assert raised.value.exc_type == "Forbidden"
        shift = events.coop_offer("plain", "g-identity", shift_fields(4, 10))["shift"]
        trip = events.trip_create("plain", "g-identity", trip_fields())["trip"]
        with pytest.raises(RemoteError) as raised:
            events.picture_add("outing", outing_id, "admin", picture_variants(), actor_is_admin=True)
        assert raised.value.exc_type == "Forbidden"
    with as_member(config, "admin") as events:
        added = events.picture_add("outing", outing_id, "admin", picture_variants())
        assert added["errors"] == [] and added["picture"] is not None
        assert sum(events.coop_balances("g-identity").values()) == 0
        day = events.trip_rota(trip["id"])[0]["date"]
    with as_member(config, "outsider") as events:
        for call_it in (
            lambda: events.coop_book(shift["id"], "outsider", 1),
            lambda: events.trip_join(trip["id"], "outsider", ["Lina"]),
            lambda: events.trip_volunteer(trip["id"], "outsider", day),
            lambda: events.coop_balance("g-identity", "plain"),
            lambda: events.inbox("plain"),
        ):
            with pytest.raises(RemoteError) as raised:
                call_it()
            assert raised.value.exc_type == "Forbidden"
    with as_member(config, "organizer") as events:
        assert events.coop_shift(shift["id"])["places_left"] == shift["places"]
        assert events.trip_riders(trip["id"]) == []
        assert events.trip_rota(trip["id"])[0]["driver_id"] is None
        # A member of the group books and rides.
        assert events.coop_book(shift["id"], "organizer", 1)["errors"] == []
        assert events.trip_join(trip["id"], "organizer", ["Lina"]) == {"errors": []}
        assert events.trip_volunteer(trip["id"], "organizer", day) == {"errors": []}


def test_where_a_member_is_going_goes_with_her_token_only(secured):
    """member_outings and places_of tell which outings a member organizes and goes to, when and
    where; coop_place_host moves her shifts. A raw RPC naming her without her token: refused."""
    config, outing_id = secured
    with as_member(config, "plain") as events:
        assert events.join_outing(outing_id, "plain")["errors"] == []
        mine = events.member_outings("plain")
        (place,) = events.places_of("plain", [outing_id])
        assert events.coop_place_host("plain") == 0
    assert [i["outing"]["id"] for i in mine["items"]] == [outing_id]
    assert place["status"] == "confirmed"
    for client in (
        as_member(config),
        as_member(config, "admin"),
        as_member(config, "plain", signer=FORGER),
        as_member(config, "plain", audience="listings"),
    ):
        for method, args in (
            ("member_outings", ("plain",)),
            ("places_of", ("plain", [outing_id])),
            ("coop_place_host", ("plain",)),
        ):
            with client as events, pytest.raises(RemoteError) as raised:
                getattr(events, method)(*args)
            assert raised.value.exc_type == "Forbidden", method
    # An anonymous page (the gateway's DataLoader without a viewer) has no place anywhere.
    with as_member(config) as events:
        assert events.places_of("", [outing_id]) == [None]


def test_a_hosts_shift_is_neither_shown_nor_booked_across_a_block(secured):
    """A second review booked the blocker's co-op shift as the blocked member: a block keeps a
    host's shifts from the member either way (list, by id, booking: NOT_FOUND, as for no shift),
    and a group's shifts and school runs are its members' only, on the bus too."""
    config, _ = secured
    with as_member(config, "admin") as events:
        shift = events.coop_offer("admin", "g-identity", shift_fields(2, 9))["shift"]
    members.block("admin", "plain")
    with as_member(config, "plain") as events:
        assert events.coop_shifts("g-identity") == []
        assert events.coop_shift(shift["id"]) is None
        booked = events.coop_book(shift["id"], "plain", 1)
    assert booked["booking"] is None and [e["code"] for e in booked["errors"]] == ["NOT_FOUND"]
    with as_member(config, "organizer") as events:  # not apart: sees and books it
        assert [s["id"] for s in events.coop_shifts("g-identity")] == [shift["id"]]
        assert events.coop_book(shift["id"], "organizer", 1)["errors"] == []
    with as_member(config, "stranger") as events:  # outside the group: nothing, not even by id
        assert events.coop_shifts("g-identity") == [] and events.coop_shift(shift["id"]) is None
    with as_member(config, None) as events:  # no token while one is required
        assert events.coop_shifts("g-identity") == [] and events.coop_shift(shift["id"]) is None
