"""Whom a search is for: raw RPCs (not through the gateway) claiming a viewer or a private group
find nothing private; groups come from the service's copy of memberships (members' events),
narrowed by the caller's list; a token that does not verify is refused."""

from __future__ import annotations

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy
from test_indexing import EIFFEL, document, membership, outing

from parentnet_kit import identity
from parentnet_kit.envelope import Event
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.testing import wait_for
from parentnet_kit.tokens import generate_key_pair
from search.dependencies import make_client
from search.service import SearchService

KEYS = generate_key_pair()
SIGNER = identity.IdentitySigner(KEYS[0])
FORGER = identity.IdentitySigner(generate_key_pair()[0])


class _Search:
    def __init__(self, config, data):
        self.cluster = ClusterRpcProxy(config, context_data=data, timeout=15)

    def __enter__(self):
        return self.cluster.start().search

    def __exit__(self, *exc):
        self.cluster.stop()


def as_member(config, member_id=None, signer=SIGNER, audience="search"):
    """A raw RPC client of search; with ``member_id``, its calls carry that member's token."""
    return _Search(config, {} if member_id is None else {identity.HEADER: signer.token(member_id, audience)})


def activity(activity_id: str, group: str) -> Event:
    data = {
        "id": activity_id,
        "group_id": group,
        "title": "Garde partagée",
        "area": {"lat": EIFFEL["lat"], "lon": EIFFEL["lon"]},
        "city": "paris",
        "starts_at": "2030-01-01T09:00:00Z",
        "ends_at": "2030-01-01T11:00:00Z",
    }
    return Event("coop_shift_offered", "events", activity_id, 1, "paris", data)


@pytest.fixture
def secured(container_factory, service_config):
    """Search requiring identity tokens; a private group g1 (ann a member, bob not) with an outing
    and a co-op shift, a public outing, and a member-only check that everything is indexed."""
    config = {**service_config, "INTERNAL_IDENTITY_PUBLIC_KEY": KEYS[1].decode(), "INTERNAL_IDENTITY_REQUIRED": True}
    container_factory(SearchService, config).start()
    publisher = EventPublisher(config["AMQP_URI"])
    private = outing("o-private", 1, "Atelier du groupe", 48.8556, 2.2986)
    private.data.update(group_id="g1", group_visibility="private")
    publisher.publish(private)
    publisher.publish(outing("o-public", 1, "Ouvert à tous", 48.8557, 2.2987))
    publisher.publish(membership("g1", "ann"))
    publisher.publish(activity("shift-1", "g1"))
    wait_for(lambda: document(config, "o-public") and document(config, "o-private"), 10, what="both outings")
    wait_for(lambda: nearby(config, "ann", "ann", ["g1"]) == ["o-private", "o-public"], 15, what="ann's groups")
    yield config, publisher
    publisher.close()


def nearby(config, token_for, viewer_id, groups, **client) -> list[str]:
    with as_member(config, token_for, **client) as search:
        page = search.nearby_outings(EIFFEL, 5, 10, None, viewer_id, groups)
    return sorted(e["node"]["id"] for e in page["edges"])


def test_a_raw_rpc_claiming_a_private_group_finds_nothing_private(secured):
    config, _ = secured
    # Bob's genuine token, claiming the group he is not in: public only, in every search.
    assert nearby(config, "bob", "bob", ["g1"]) == ["o-public"]
    assert nearby(config, "bob", None, ["g1"]) == ["o-public"]
    bounds = {"north": 48.87, "south": 48.85, "east": 2.31, "west": 2.28}
    with as_member(config, "bob") as search:
        clusters = search.map_clusters(bounds, 12, ["outings"], "bob", ["g1"])["clusters"]
        suggested = search.suggest("atelier", EIFFEL, 8, "bob", ["g1"])["suggestions"]
        activities = search.nearby_activities(EIFFEL, 5, ["g1"], 10)["edges"]
    assert sum(c["count"] for c in clusters) == 1
    assert [s["id"] for s in suggested if s["kind"] == "outing"] == []
    assert activities == []
    # Ann, a member, with her own token: the group's outing and shift.
    with as_member(config, "ann") as search:
        assert [e["node"]["id"] for e in search.nearby_activities(EIFFEL, 5, ["g1"], 10)["edges"]] == ["shift-1"]
        assert [s["id"] for s in search.suggest("atelier", EIFFEL, 8, "ann", ["g1"])["suggestions"]] == ["o-private"]


def test_no_token_with_claims_a_bad_token_or_another_members_is_refused(secured):
    config, _ = secured
    for client in (
        as_member(config),  # no token, claiming ann and her group
        as_member(config, "ann", signer=FORGER),
        as_member(config, "ann", audience="events"),
        as_member(config, "bob"),  # bob's genuine token, naming ann
    ):
        with client as search, pytest.raises(RemoteError) as raised:
            search.nearby_outings(EIFFEL, 5, 10, None, "ann", ["g1"])
        assert raised.value.exc_type == "Forbidden"
        with client as search, pytest.raises(RemoteError) as raised:
            search.discussions("atelier", "ann", ["g1"])
        assert raised.value.exc_type == "Forbidden"
    with as_member(config) as search, pytest.raises(RemoteError) as raised:
        search.nearby_activities(EIFFEL, 5, ["g1"], 10)
    assert raised.value.exc_type == "Forbidden"
    # Signed out (no token, no claims): public outings, as before.
    assert nearby(config, None, None, None) == ["o-public"]


def test_a_leave_shows_at_once_through_the_callers_list_and_the_copy_follows_the_events(secured):
    config, publisher = secured
    # The gateway's fresh list no longer names g1 (ann just left): hidden at once.
    assert nearby(config, "ann", "ann", []) == ["o-public"]
    # Her leave reaches the copy: hidden even if a caller still names the group.
    publisher.publish(membership("g1", "ann", version=2, status="left"))
    wait_for(lambda: nearby(config, "ann", "ann", ["g1"]) == ["o-public"], 15, what="the leave indexed")
    # A request to join is not a membership; an approval is.
    publisher.publish(membership("g1", "bob", status="pending"))
    es = make_client(config["ELASTICSEARCH_URL"])
    alias = f"{config['SEARCH_INDEX_PREFIX']}memberships"
    wait_for(lambda: es.options(ignore_status=404).get(index=alias, id="gm:g1:bob").get("found"), 10, what="request")
    es.indices.refresh(index=alias)
    assert nearby(config, "bob", "bob", ["g1"]) == ["o-public"]
    publisher.publish(membership("g1", "bob", version=2))
    wait_for(lambda: nearby(config, "bob", "bob", ["g1"]) == ["o-private", "o-public"], 15, what="bob approved")
