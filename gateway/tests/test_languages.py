"""userErrors in the caller's language: the message a service marked is written again here, from
Accept-Language over HTTP and from the connection_init payload over a websocket."""

from __future__ import annotations

from parentnet_kit.fields import field_error
from parentnet_kit.i18n import t

REGISTER = """mutation($input: MemberRegisterInput!) {
  memberRegister(input: $input) { userErrors { field message code } }
}"""
FIELDS = {"email": "someone@example.org", "password": "short", "displayName": "Parent", "city": "paris"}


def refused(*args, **kwargs) -> dict:
    too_short = t("password must be at least {password_min} characters", password_min=10)
    old = {"field": ["email"], "message": "written before the catalogues", "code": "INVALID"}
    return {"errors": [field_error(("password",), too_short, "TOO_SHORT"), old]}


def messages(body: dict) -> list[str]:
    return [e["message"] for e in body["data"]["memberRegister"]["userErrors"]]


def test_user_errors_are_written_in_the_accepted_language(make_client):
    client, _ = make_client({"members.register": refused})
    sent = {"query": REGISTER, "variables": {"input": FIELDS}}
    english = client.post("/graphql", json=sent).json()
    assert messages(english) == ["password must be at least 10 characters", "written before the catalogues"]
    french = client.post("/graphql", json=sent, headers={"Accept-Language": "fr-BE, en;q=0.5"}).json()
    assert messages(french) == ["password doit faire au moins 10 caractères", "written before the catalogues"]
    chinese = client.post("/graphql", json=sent, headers={"Accept-Language": "de, zh-Hant;q=0.8"}).json()
    assert messages(chinese)[0] == "password 至少需要 10 个字符"
    unknown = client.post("/graphql", json=sent, headers={"Accept-Language": "de"}).json()
    assert messages(unknown)[0] == "password must be at least 10 characters"


def test_a_websocket_reads_the_language_of_its_connection_init(make_client):
    client, _ = make_client({"members.register": refused})
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Accept-Language": "vi"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": REGISTER, "variables": {"input": FIELDS}}})
        answer = ws.receive_json()
    assert messages(answer["payload"])[0] == "password phải có ít nhất 10 ký tự"


def test_an_argument_error_is_written_in_the_accepted_language(make_client):
    client, _ = make_client({})
    query = "{ nearbyOutings(near: {lat: 99, lon: 2}, radiusKm: 1) { totalCount } }"
    body = client.post("/graphql", json={"query": query}, headers={"Accept-Language": "fr"}).json()
    assert body["errors"][0]["message"] == "near.lat doit être entre -90 et 90."
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "near.lat"}


def test_a_sentence_names_the_field_as_the_client_knows_it(make_client):
    """The services name fields in their own terms ({name: display_name}); the API's clients
    know displayName, in every language (the review saw "display_name ne doit pas être vide")."""

    def empty_name(*args, **kwargs) -> dict:
        return {
            "errors": [field_error(("display_name",), t("{name} must not be empty", name="display_name"), "REQUIRED")]
        }

    client, _ = make_client({"members.register": empty_name})
    sent = {"query": REGISTER, "variables": {"input": {**FIELDS, "displayName": " "}}}
    english = client.post("/graphql", json=sent).json()["data"]["memberRegister"]["userErrors"]
    assert [(e["field"], e["message"]) for e in english] == [
        (["input", "displayName"], "displayName must not be empty")
    ]
    french = client.post("/graphql", json=sent, headers={"Accept-Language": "fr"}).json()
    assert messages(french) == ["displayName ne doit pas être vide"]
