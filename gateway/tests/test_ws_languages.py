"""Errors over the websocket are written in the connection's language, like HTTP userErrors:
connection_init's Accept-Language, else the upgrade request's header, else English."""

from __future__ import annotations

from typing import Any

from gateway.ws import localize
from parentnet_kit.i18n import t

SIGNED_OUT = {"query": "subscription { notificationReceived { id } }"}


def first_error(client: Any, payload: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"], headers=headers or {}) as ws:
        ws.send_json({"type": "connection_init", "payload": payload})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"type": "subscribe", "id": "1", "payload": SIGNED_OUT})
        answer = ws.receive_json()
        assert answer["type"] == "error" and answer["id"] == "1", answer
        return answer["payload"][0]


def test_a_french_client_hears_a_subscription_refused_in_french(make_client):
    client, _ = make_client({})
    error = first_error(client, {"Accept-Language": "fr-FR,fr;q=0.9"})
    assert error["message"] == "Connectez-vous pour faire cela."
    assert error["extensions"]["code"] == "UNAUTHENTICATED" and error["path"] == ["notificationReceived"]


def test_an_arabic_client_hears_it_in_arabic_from_the_upgrade_requests_header(make_client):
    client, _ = make_client({})
    error = first_error(client, {}, headers={"accept-language": "ar"})
    # Right-to-left text as the catalogue holds it: no bidi control added, nothing reordered.
    assert error["message"] == "سجّل الدخول للقيام بذلك."
    assert not any(0x200E <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in error["message"])


def test_connection_inits_language_comes_before_the_header_and_english_is_the_default(make_client):
    client, _ = make_client({})
    assert first_error(client, {"Accept-Language": "fr"}, headers={"accept-language": "ar"})["message"].startswith(
        "Connectez-vous"
    )
    assert first_error(client, {})["message"] == "Sign in to do this."
    assert first_error(client, {"Accept-Language": "de"})["message"] == "Sign in to do this."


def test_the_errors_a_connection_sends_are_each_rendered():
    errors = [
        {"message": t("Too many operations on this connection."), "extensions": {"code": "TOO_MANY_OPERATIONS"}},
        {"message": "The members service is unavailable; try again shortly.", "extensions": {}},
        {"message": "Too many requests; try again in 12 s.", "extensions": {}},
        {"message": "You may not do this.", "path": ["x"]},
        {"message": 'Cannot query field "nope" on type "Query".'},  # graphql-core's own: as it is
    ]
    assert [e["message"] for e in localize(errors, "fr")] == [
        "Trop d’opérations sur cette connexion.",
        "Le service members est indisponible ; réessayez dans un instant.",
        "Trop de requêtes ; réessayez dans 12 s.",
        "Vous ne pouvez pas faire cela.",
        'Cannot query field "nope" on type "Query".',
    ]
    assert localize(errors, "ar")[3] == {"message": "لا يُسمح لك بالقيام بذلك.", "path": ["x"]}
    assert localize(errors, "en") == errors
