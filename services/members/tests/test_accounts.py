"""Sign-up, login, throttling and sessions, in a real nameko container on the real servers."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from nameko.testing.services import entrypoint_hook

from members import security
from members.service import MembersService
from members.store import MemberStore
from parentnet_kit import tokens
from parentnet_kit.testing import drain_events as published

PASSWORD = "correct horse battery"


def call(container, method, *args, **kwargs):
    with entrypoint_hook(container, method) as hook:
        return hook(*args, **kwargs)


def register(container, email="awa@example.org", name="Awa", city="paris", client="10.0.0.1"):
    fields = {"email": email, "password": PASSWORD, "display_name": name, "city": city}
    return call(container, "register", fields, client=client)


@pytest.fixture
def container(container_factory, service_config):
    container = container_factory(MembersService, service_config)
    container.start()
    return container


def test_register_signs_in_with_a_token_that_says_nothing_personal(container, service_config, key_pair, db):
    result = register(container, email="  Awa@Example.ORG ")
    assert result["errors"] == []
    assert result["member"]["email"] == "awa@example.org"
    claims = tokens.TokenVerifier(key_pair[1]).verify(result["access_token"])
    assert claims.member_id == result["member"]["id"]
    payload = tokens.jwt.decode(result["access_token"], options={"verify_signature": False})
    assert set(payload) == {"iss", "aud", "sub", "sid", "iat", "exp", "jti"}
    stored = db.members.find_one({"_id": result["member"]["id"]})
    assert stored["password_hash"].startswith("$argon2id$")

    # The founding cities' city_opened (the first migration, at start) are not this test's.
    events = [e for e in published(service_config["AMQP_URI"]) if e["type"] != "city_opened"]
    assert [e["type"] for e in events] == ["member_registered"]
    assert "awa@example.org" not in json.dumps(events)


def test_an_email_registers_once_whatever_its_case(container, db):
    assert register(container, email="sam@example.org")["errors"] == []
    again = register(container, email="SAM@example.org")
    assert [(e["field"], e["code"]) for e in again["errors"]] == [(["email"], "EMAIL_TAKEN")]
    assert db.members.count_documents({}) == 1


def test_unknown_email_and_wrong_password_fail_alike_and_cost_one_hash_each(container, service_config, db):
    register(container)
    wrong = call(container, "login", "awa@example.org", "not the password", client="10.0.0.2")
    unknown = call(container, "login", "nobody@example.org", "not the password", client="10.0.0.2")
    assert wrong["errors"] == unknown["errors"]
    assert wrong["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert "member" not in wrong and "member" not in unknown

    # Same work on both paths: exactly one argon2 verification each.
    verifications = []

    def counting(fn, *args):
        verifications.append(fn)
        return fn(*args)

    # The store on its own, on the same database, with a hasher runner that counts.
    own = MemberStore(db, None, _signer(service_config), security.Limits(), timedelta(days=1), counting)
    own.login("awa@example.org", "still wrong!", "10.0.0.3")
    own.login("nobody@example.org", "still wrong!", "10.0.0.3")
    assert len(verifications) == 2


def _signer(service_config):
    return tokens.TokenSigner(service_config["AUTH_PRIVATE_KEY"].encode(), timedelta(minutes=5))


def test_throttling_counts_every_attempt_and_spares_the_owner(container_factory, service_config):
    config = {**service_config, "LOGIN_LIMIT_ACCOUNT_CLIENT": 3, "LOGIN_LIMIT_ACCOUNT": 6}
    container = container_factory(MembersService, config)
    container.start()
    register(container)
    # The owner logs in once from home: that address is known from now on.
    assert call(container, "login", "awa@example.org", PASSWORD, client="home")["errors"] == []

    codes = [
        call(container, "login", "awa@example.org", "guess", client="attacker")["errors"][0]["code"] for _ in range(5)
    ]
    assert codes == ["INVALID_CREDENTIALS"] * 3 + ["THROTTLED"] * 2
    refused = call(container, "login", "awa@example.org", PASSWORD, client="attacker")
    assert refused["errors"][0]["code"] == "THROTTLED"  # even the right password, from there
    assert 0 < refused["retry_after_seconds"] <= 900

    # Spread over many addresses, the guesser hits the account-wide limit...
    for i in range(4):
        call(container, "login", "awa@example.org", "guess", client=f"botnet-{i}")
    assert call(container, "login", "awa@example.org", PASSWORD, client="new-phone")["errors"][0]["code"] == "THROTTLED"
    # ...but the owner's known address still gets in.
    assert call(container, "login", "awa@example.org", PASSWORD, client="home")["errors"] == []


def test_refresh_tokens_rotate_and_a_reused_one_ends_the_session(container):
    first = register(container)
    second = call(container, "refresh", first["refresh_token"])
    assert second["errors"] == [] and second["refresh_token"] != first["refresh_token"]
    third = call(container, "refresh", second["refresh_token"])
    assert third["errors"] == []

    replay = call(container, "refresh", first["refresh_token"])
    assert replay["errors"][0]["code"] == "INVALID_REFRESH_TOKEN"
    # The thief's replay revoked the session: the latest token is dead too.
    assert call(container, "refresh", third["refresh_token"])["errors"][0]["code"] == "INVALID_REFRESH_TOKEN"


def test_logout_revokes_the_session(container, key_pair):
    signed_in = register(container)
    claims = tokens.TokenVerifier(key_pair[1]).verify(signed_in["access_token"])
    assert call(container, "session_active", claims.session_id) is True
    assert call(container, "logout", claims.member_id, claims.session_id) == 1
    assert call(container, "session_active", claims.session_id) is False
    assert call(container, "refresh", signed_in["refresh_token"])["errors"][0]["code"] == "INVALID_REFRESH_TOKEN"


def test_sign_ups_are_limited_per_address(container_factory, service_config, db):
    container = container_factory(MembersService, {**service_config, "REGISTRATIONS_PER_CLIENT_HOUR": 2})
    container.start()
    assert register(container, email="a@example.org", client="cafe-wifi")["errors"] == []
    assert register(container, email="b@example.org", client="cafe-wifi")["errors"] == []
    third = register(container, email="c@example.org", client="cafe-wifi")
    assert third["errors"][0]["code"] == "THROTTLED" and third["retry_after_seconds"] > 0
    assert register(container, email="c@example.org", client="home")["errors"] == []
    assert db.members.count_documents({}) == 3
