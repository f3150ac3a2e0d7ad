"""The conversations service acts only for the member the request's identity token names: raw
RPCs (not through the gateway) that claim to be someone else are refused, and nothing is done."""

from __future__ import annotations

import pytest
from conversations.service import ConversationsService
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy
from pymongo import MongoClient
from test_store import group_with

from parentnet_kit import identity
from parentnet_kit.tokens import generate_key_pair

KEYS = generate_key_pair()
SIGNER = identity.IdentitySigner(KEYS[0])
FORGER = identity.IdentitySigner(generate_key_pair()[0])  # someone else's key
THREAD = {"title": "Sortie au parc", "body": "Samedi ?", "kind": "discussion"}


@pytest.fixture
def secured(container_factory, service_config):
    """The conversations service requiring identity tokens signed with KEYS; a public group
    "g-identity" where "ann" is an admin and "bob" a member."""
    from conversations.store import ConversationStore

    config = {**service_config, "INTERNAL_IDENTITY_PUBLIC_KEY": KEYS[1].decode(), "INTERNAL_IDENTITY_REQUIRED": True}
    container_factory(ConversationsService, config).start()
    client = MongoClient(config["MONGO_URI"], tz_aware=True)
    group_with(
        ConversationStore(client[config["CONVERSATIONS_DB"]], None), "g-identity", "public", ann="admin", bob="member"
    )
    client.close()
    return config


def as_member(config, member_id=None, signer=SIGNER, audience="conversations"):
    """A raw RPC client of the conversations service whose calls carry ``member_id``'s token."""
    data = {} if member_id is None else {identity.HEADER: signer.token(member_id, audience)}
    return _Proxy(config, data)


class _Proxy:
    def __init__(self, config, data):
        self.cluster = ClusterRpcProxy(config, context_data=data, timeout=15)

    def __enter__(self):
        return self.cluster.start().conversations

    def __exit__(self, *exc):
        self.cluster.stop()


def refusals(config):
    """No token, a forged token, a genuine token for another service, and a genuine token for
    "bob": each a request that may not act as "ann"."""
    return (
        as_member(config),
        as_member(config, "ann", signer=FORGER),
        as_member(config, "ann", audience="events"),
        as_member(config, "bob"),
    )


def codes(answer):
    return [(e["field"], e["code"]) for e in answer["errors"]]


def test_acting_rpcs_refuse_a_request_that_is_not_for_the_member_named(secured):
    config = secured
    with as_member(config, "ann") as conversations:
        made = conversations.create_thread("g-identity", "ann", THREAD)
        assert made["errors"] == [], made
    thread_id = made["thread"]["id"]
    for client in refusals(config):
        with client as conversations:
            created = conversations.create_thread("g-identity", "ann", {**THREAD, "title": "Forged"})
            assert created["thread"] is None and codes(created) == [(["author_id"], "FORBIDDEN")]
            pinned = conversations.moderate_thread(thread_id, "ann", True, True)
            assert pinned["thread"] is None and codes(pinned) == [(["actor_id"], "FORBIDDEN")]
            replied = conversations.reply(thread_id, "ann", {"text": "Forged"})
            assert replied["reply"] is None and codes(replied) == [(["author_id"], "FORBIDDEN")]
            sent = conversations.send_message("ann", {"text": "Forged", "recipient_id": "bob"})
            assert sent["message"] is None and sent["conversation"] is None
            assert codes(sent) == [(["sender_id"], "FORBIDDEN")]
            asked = conversations.ask("ann", {"text": "Forged?", "scope": "city"}, "paris", None)
            assert asked["question"] is None and codes(asked) == [(["asker_id"], "FORBIDDEN")]
    # Nothing was done in ann's name.
    with as_member(config, "ann") as conversations:
        page = conversations.group_threads("g-identity", "ann")
        assert [item["id"] for item in page["items"]] == [thread_id]
        (thread,) = conversations.get_threads([thread_id], "ann")
        assert not thread["pinned"] and not thread["locked"] and thread["reply_count"] == 0
        assert conversations.conversations_of("ann")["total"] == 0


def test_reads_as_a_member_refuse_a_request_that_is_not_for_them(secured):
    config = secured
    with as_member(config, "ann") as conversations:
        sent = conversations.send_message("ann", {"text": "Bonjour Bob", "recipient_id": "bob"})
        assert sent["errors"] == [], sent
    message_id, conversation_id = sent["message"]["id"], sent["conversation"]["id"]
    for client in refusals(config):
        with client as conversations:
            for read in (
                lambda: conversations.conversations_of("ann"),
                lambda: conversations.get_conversations([conversation_id], "ann"),
                lambda: conversations.messages(conversation_id, "ann"),
                lambda: conversations.get_messages([message_id], "ann"),
                lambda: conversations.inbox("ann"),
                lambda: conversations.snapshot("message", message_id, "ann"),
                lambda: conversations.group_threads("g-identity", "ann"),
            ):
                with pytest.raises(RemoteError) as raised:
                    read()
                assert raised.value.exc_type == "Forbidden"
    # Each of the two members reads as themselves.
    with as_member(config, "bob") as conversations:
        (message,) = conversations.get_messages([message_id], "bob")
        assert message["text"] == "Bonjour Bob"
        assert (
            conversations.conversations_of("bob", requests=False)["total"]
            + conversations.conversations_of("bob", requests=True)["total"]
            == 1
        )
    with as_member(config, "ann") as conversations:
        assert conversations.snapshot("message", message_id, "ann")["text"] == "Bonjour Bob"


def test_a_read_for_nobody_sees_what_anyone_may_see(secured):
    """Public group threads read for no member: allowed without a token, even where tokens are required."""
    config = secured
    with as_member(config, "ann") as conversations:
        thread_id = conversations.create_thread("g-identity", "ann", THREAD)["thread"]["id"]
    with as_member(config) as conversations:
        (thread,) = conversations.get_threads([thread_id], None)
        assert thread["title"] == THREAD["title"]
        assert [item["id"] for item in conversations.group_threads("g-identity", None)["items"]] == [thread_id]
