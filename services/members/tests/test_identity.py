"""The members service acts only for the member the request's identity token names: raw RPCs
(not through the gateway) with no token, a forged one, one for another service, or a genuine
one for another member are refused before anything is read or changed."""

from __future__ import annotations

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy
from test_accounts import register
from test_pictures import variants as picture_variants

from members.service import MembersService
from parentnet_kit import identity
from parentnet_kit.tokens import generate_key_pair

KEYS = generate_key_pair()
SIGNER = identity.IdentitySigner(KEYS[0])
FORGER = identity.IdentitySigner(generate_key_pair()[0])  # someone else's key


def as_member(config, member_id=None, signer=SIGNER, audience="members"):
    """A raw RPC client of the members service whose calls carry ``member_id``'s identity token."""
    data = {} if member_id is None else {identity.HEADER: signer.token(member_id, audience)}
    return _Proxy(config, data)


class _Proxy:
    def __init__(self, config, data):
        self.cluster = ClusterRpcProxy(config, context_data=data, timeout=15)

    def __enter__(self):
        return self.cluster.start().members

    def __exit__(self, *exc):
        self.cluster.stop()


def start(container_factory, service_config, required):
    """The members service verifying tokens signed with KEYS (``required``: refusing requests
    without one); Awa and Bea registered, Bea admin of an approval group Awa asked to join."""
    config = {
        **service_config,
        "INTERNAL_IDENTITY_PUBLIC_KEY": KEYS[1].decode(),
        "INTERNAL_IDENTITY_REQUIRED": required,
    }
    container = container_factory(MembersService, config)
    container.start()
    awa = register(container, email="awa@example.org", name="Awa")["member"]["id"]
    bea_signed_in = register(container, email="bea@example.org", name="Bea")
    bea = bea_signed_in["member"]["id"]
    with as_member(config, bea) as members:
        fields = {"name": "Parents du 11e", "city": "paris", "visibility": "private", "join_policy": "approval"}
        group = members.create_group(bea, fields)["group"]
    with as_member(config, awa) as members:
        assert members.join_group(awa, group["id"])["membership"]["status"] == "pending"
    return config, awa, bea, group["id"]


@pytest.fixture
def secured(container_factory, service_config):
    return start(container_factory, service_config, required=True)


def acting_as_bea(members, awa, bea, gid):
    """Every call acts or reads as Bea; each one is refused unless the token is Bea's own."""
    return {
        "viewer": lambda: members.viewer(bea),
        "update_profile": lambda: members.update_profile(bea, {"display_name": "Hijacked"}),
        "get_members": lambda: members.get_members([awa], viewer_id=bea),
        "parents_nearby": lambda: members.parents_nearby(bea),
        "block": lambda: members.block(bea, awa),
        "unblock": lambda: members.unblock(bea, awa),
        "join_group": lambda: members.join_group(bea, gid),
        "list_groups": lambda: members.list_groups("paris", bea),
        "create_group": lambda: members.create_group(bea, {"name": "Hijackers", "city": "paris"}),
        "leave_group": lambda: members.leave_group(bea, gid),
        "decide_request": lambda: members.decide_request(bea, gid, awa, True),
        "set_role": lambda: members.set_role(bea, gid, awa, "admin"),
        "group_members": lambda: members.group_members(gid, bea, True),
        "get_groups": lambda: members.get_groups([gid], bea),
        "open_city": lambda: members.open_city(bea, {"geonames_id": 2988507}),
        "grant_network_admin": lambda: members.grant_network_admin(bea, awa),
        "picture_add": lambda: members.picture_add("member", bea, bea, picture_variants()),
        "picture_remove": lambda: members.picture_remove("member", bea, "any-picture", bea),
        "logout": lambda: members.logout(bea, "any-session", True),
    }


def test_no_token_a_forged_one_or_another_members_is_refused(secured):
    config, awa, bea, gid = secured
    clients = {
        "no token": as_member(config),
        "forged": as_member(config, bea, signer=FORGER),
        "for another service": as_member(config, bea, audience="events"),
        "Awa's, acting as Bea": as_member(config, awa),
    }
    for how, client in clients.items():
        with client as members:
            for method, call_it in acting_as_bea(members, awa, bea, gid).items():
                with pytest.raises(RemoteError) as raised:
                    call_it()
                assert raised.value.exc_type == "Forbidden", (how, method)
    # Nothing was read for them or changed: Awa's request still waits, Bea has one group, her
    # name and no block.
    with as_member(config, bea) as members:
        me = members.viewer(bea)
        assert me["display_name"] == "Bea"
        assert [g["id"] for g in members.member_groups(bea)] == [gid]
        assert members.block_relations(bea) == {"blocked": [], "blocked_by": []}
        pending = members.group_members(gid, bea, True)
        assert [e["node"]["id"] for e in pending["edges"]] == [awa]
        assert members.pictures_of("member", [bea]) == [[]]


def test_the_members_own_token_acts_for_them(secured):
    config, awa, bea, gid = secured
    with as_member(config, bea) as members:
        assert members.update_profile(bea, {"display_name": "Béatrice"})["errors"] == []
        assert members.viewer(bea)["display_name"] == "Béatrice"
        assert members.decide_request(bea, gid, awa, True)["membership"]["status"] == "active"
        assert members.block(bea, awa)["errors"] == []
        assert members.get_groups([gid], bea)[0]["member_count"] == 2
        assert members.picture_add("member", bea, bea, picture_variants())["errors"] == []
    with as_member(config, awa) as members:
        # Bea blocked Awa: for Awa she is absent, as a member who never registered.
        assert members.get_members([bea], viewer_id=awa) == [None]
        assert members.leave_group(awa, gid)["errors"] == []


def test_what_a_member_blocked_and_her_groups_go_with_her_token_only(secured):
    """viewer_context, block_relations, blocked_by and member_groups tell whom a member blocked,
    who blocked her and her private groups. Her token answers them, signed for members (the
    gateway) or relayed by the service she called (events asking while it serves her request);
    another member's token gets viewer_context's public part (protected mode) only; no token, a
    forged or expired one: refused. Anonymous reads (no viewer) answer as before."""
    config, awa, bea, gid = secured
    with as_member(config, bea) as members:
        assert members.block(bea, awa)["errors"] == []
    for client in (as_member(config, bea), as_member(config, bea, audience="events")):
        with client as members:
            context = members.viewer_context(bea)
            assert (context["groups"], context["blocked"], context["blocked_by"]) == ({gid: "admin"}, [awa], [])
            assert [g["id"] for g in members.member_groups(bea)] == [gid]
            assert members.block_relations(bea) == {"blocked": [awa], "blocked_by": []}
    with as_member(config, awa, audience="events") as members:
        assert members.blocked_by(awa) == [bea]  # her own
        assert members.viewer_context(bea) == {"blocked_by": [], "blocked": [], "groups": {}, "protected": False}
    expired = identity.IdentitySigner(KEYS[0]).token(bea, "members", now=0)
    for how, client in {
        "no token": as_member(config),
        "forged": as_member(config, bea, signer=FORGER),
        "expired": _Proxy(config, {identity.HEADER: expired}),
        "Awa's": as_member(config, awa, audience="conversations"),
    }.items():
        with client as members:
            calls = {
                "member_groups": lambda m=members: m.member_groups(bea),
                "block_relations": lambda m=members: m.block_relations(bea),
                "blocked_by": lambda m=members, whom=(bea if how == "Awa's" else awa): m.blocked_by(whom),
            }
            if how != "Awa's":
                calls["viewer_context"] = lambda m=members: m.viewer_context(bea)
            for method, call_it in calls.items():
                with pytest.raises(RemoteError) as raised:
                    call_it()
                assert raised.value.exc_type == "Forbidden", (how, method)
    with as_member(config) as members:
        assert members.is_network_admin(bea) is False
        assert [m["id"] for m in members.get_members([bea])] == [bea]
        assert members.get_groups([gid], None)[0]["id"] == gid


def test_without_requiring_tokens_a_call_with_none_acts_as_before(container_factory, service_config):
    """The previous release's gateway sends no token (N-1): its calls act for the member they
    name; a token that came is still checked."""
    config, awa, bea, gid = start(container_factory, service_config, required=False)
    with as_member(config) as members:
        assert members.update_profile(bea, {"display_name": "Béa"})["errors"] == []
        assert members.decide_request(bea, gid, awa, False)["errors"] == []
    with as_member(config, awa) as members, pytest.raises(RemoteError) as raised:
        members.update_profile(bea, {"display_name": "Hijacked"})
    assert raised.value.exc_type == "Forbidden"
    with as_member(config, bea) as members:
        assert members.viewer(bea)["display_name"] == "Béa"
