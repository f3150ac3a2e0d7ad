"""The moderation service acts only for the member the request's identity token names: raw RPCs
(not through the gateway) with no token, a forged one, one for another service, or a genuine one
for someone else are refused, and change nothing."""

from __future__ import annotations

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from moderation.service import ModerationService
from parentnet_kit import identity
from parentnet_kit.testing import wait_for
from parentnet_kit.tokens import generate_key_pair

KEYS = generate_key_pair()
SIGNER = identity.IdentitySigner(KEYS[0])
FORGER = identity.IdentitySigner(generate_key_pair()[0])  # someone else's key
SNAPSHOT = {"title": "Sortie", "text": "...", "author_id": "author", "group_id": None, "city": "paris"}


def _config(service_config, required: bool) -> dict:
    return {**service_config, "INTERNAL_IDENTITY_PUBLIC_KEY": KEYS[1].decode(), "INTERNAL_IDENTITY_REQUIRED": required}


@pytest.fixture
def secured(container_factory, service_config, members):
    """The moderation service requiring identity tokens signed with KEYS; members knows
    "moderator" as a network admin."""
    members.network_admin("moderator")
    config = _config(service_config, True)
    container_factory(ModerationService, config).start()
    return config


def as_member(config, member_id=None, signer=SIGNER, audience="moderation"):
    """A raw RPC client of the moderation service whose calls carry ``member_id``'s identity token."""
    data = {} if member_id is None else {identity.HEADER: signer.token(member_id, audience)}
    return _Proxy(config, data)


class _Proxy:
    def __init__(self, config, data):
        self.cluster = ClusterRpcProxy(config, context_data=data, timeout=15)

    def __enter__(self):
        return self.cluster.start().moderation

    def __exit__(self, *exc):
        self.cluster.stop()


def _codes(answer: dict) -> list[tuple[str, tuple]]:
    return [(e["code"], tuple(e["field"])) for e in answer["errors"]]


def _impostors(config, member_id: str) -> list:
    """Clients claiming to be ``member_id`` without its genuine token: none, a forged one, one
    for another service, and a genuine one of another member ("mallory")."""
    return [
        as_member(config),
        as_member(config, member_id, signer=FORGER),
        as_member(config, member_id, audience="events"),
        as_member(config, "mallory"),
    ]


def test_acting_rpcs_refuse_anyone_but_the_member_the_token_names(secured):
    config = secured
    subject = {"subject_type": "outing", "subject_id": "o-identity", "reason": "spam"}
    # The reporter, with a genuine token, files a report; the network's moderator sees it.
    with as_member(config, "reporter") as moderation:
        filed = moderation.report("reporter", subject, SNAPSHOT)
    assert filed["errors"] == [], filed
    report_id = filed["report"]["id"]
    with as_member(config, "moderator") as moderation:
        page = moderation.queue("moderator", None, 20, None, True)
    assert page["allowed"] and [r["id"] for r in page["reports"]] == [report_id]

    for client in _impostors(config, "moderator"):
        with client as moderation:
            # Answers with errors: FORBIDDEN on the acting member's field, nothing done.
            other = moderation.report("moderator", {**subject, "subject_id": "o-other"}, SNAPSHOT)
            assert other["report"] is None and _codes(other) == [("FORBIDDEN", ("reporter_id",))]
            acted = moderation.act("moderator", {"report_id": report_id, "action": "hide", "reason": "Spam"}, True)
            assert acted["action"] is None and _codes(acted) == [("FORBIDDEN", ("actor_id",))]
            granted = moderation.grant_moderator("moderator", "mallory", True)
            assert granted["granted"] is False and _codes(granted) == [("FORBIDDEN", ("granter_id",))]
            # Reads: Forbidden raised, as the events service does.
            for call_it in (
                lambda: moderation.queue("moderator", None, 20, None, True),
                lambda: moderation.audit_log("moderator", None, 20, None, True),
                lambda: moderation.is_network_moderator("moderator", True),
                lambda: moderation.inbox("reporter"),
                lambda: moderation.mark_read("reporter", ["n1"]),
            ):
                with pytest.raises(RemoteError) as raised:
                    call_it()
                assert raised.value.exc_type == "Forbidden"

    # Nothing changed: the report is still open, alone, and mallory moderates nothing.
    with as_member(config, "moderator") as moderation:
        page = moderation.queue("moderator", None, 20, None, True)
        assert [r["id"] for r in page["reports"]] == [report_id] and page["total"] == 1
        assert moderation.audit_log("moderator", None, 20, None, True)["actions"] == []
        # The genuine moderator acts.
        acted = moderation.act("moderator", {"report_id": report_id, "action": "hide", "reason": "Spam"}, True)
        assert acted["errors"] == [], acted
        assert moderation.queue("moderator", None, 20, None, True)["total"] == 0
        assert [a["id"] for a in moderation.audit_log("moderator", None, 20, None, True)["actions"]] == [
            acted["action"]["id"]
        ]
    with as_member(config, "mallory") as moderation:
        assert moderation.is_network_moderator("mallory") is False
    # The reporter reads their own inbox: the outcome.
    with as_member(config, "reporter") as moderation:
        wait_for(lambda: moderation.inbox("reporter")["items"], timeout=10, what="the reporter told the outcome")
        ids = [n["id"] for n in moderation.inbox("reporter")["items"]]
        assert moderation.mark_read("reporter", ids) == len(ids)


def test_without_tokens_required_a_call_with_none_is_taken_but_a_token_for_another_is_not(
    container_factory, service_config
):
    """The previous release's gateway sends no token: it keeps working; a token, when one comes,
    must still name the member acting."""
    config = _config(service_config, False)
    container_factory(ModerationService, config).start()
    subject = {"subject_type": "outing", "subject_id": "o-n1", "reason": "spam"}
    with as_member(config) as moderation:
        assert moderation.report("reporter", subject, SNAPSHOT)["errors"] == []
    with as_member(config, "mallory") as moderation:
        other = moderation.report("reporter", {**subject, "subject_id": "o-n2"}, SNAPSHOT)
        assert _codes(other) == [("FORBIDDEN", ("reporter_id",))]
        with pytest.raises(RemoteError) as raised:
            moderation.inbox("reporter")
        assert raised.value.exc_type == "Forbidden"
    with as_member(config, "moderator", signer=FORGER) as moderation, pytest.raises(RemoteError) as raised:
        moderation.queue("moderator", None, 20, None, True)
    assert raised.value.exc_type == "Forbidden"


def test_a_genuine_member_claiming_to_be_a_network_admin_is_not_believed(secured):
    """The caller's network_admin=True is a claim; members says who is one (issue 21)."""
    config = secured
    subject = {"subject_type": "outing", "subject_id": "o-claim", "reason": "spam"}
    with as_member(config, "reporter") as moderation:
        filed = moderation.report("reporter", subject, SNAPSHOT)
    with as_member(config, "mallory") as moderation:
        assert moderation.queue("mallory", None, 20, None, True)["allowed"] is False
        assert moderation.is_network_moderator("mallory", True) is False
        acted = moderation.act("mallory", {"report_id": filed["report"]["id"], "action": "hide", "reason": "x"}, True)
        assert [e["code"] for e in acted["errors"]] == ["FORBIDDEN"] and acted["action"] is None
        granted = moderation.grant_moderator("mallory", "mallory", True)
        assert granted == {"granted": False, "errors": granted["errors"]} and granted["errors"]
    with as_member(config, "moderator") as moderation:
        assert moderation.is_network_moderator("moderator") is True  # members says so, no claim needed
        assert moderation.grant_moderator("moderator", "helper")["granted"] is True


def test_a_members_record_goes_with_her_token_only(secured):
    """member_status tells whether a member is suspended or held and her warnings: to her own
    token only (also relayed by the service she called); anyone else on the bus is refused."""
    config = secured
    for client in (as_member(config, "subject"), as_member(config, "subject", audience="events")):
        with client as moderation:
            (status,) = moderation.member_status(["subject"])
        assert status["member_id"] == "subject" and status["held"] is False
    impostors = [
        as_member(config),
        as_member(config, "subject", signer=FORGER),
        as_member(config, "mallory"),
        as_member(config, "mallory", audience="events"),
    ]
    for client in impostors:
        with client as moderation, pytest.raises(RemoteError) as raised:
            moderation.member_status(["subject"])
        assert raised.value.exc_type == "Forbidden"
    with as_member(config, "subject") as moderation, pytest.raises(RemoteError) as raised:
        moderation.member_status(["subject", "mallory"])
    assert raised.value.exc_type == "Forbidden"
