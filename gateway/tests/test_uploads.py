"""Multipart requests (the GraphQL multipart request spec) at the edge, without RabbitMQ."""

from __future__ import annotations

import json

from gateway.uploads import Upload

ECHO = "mutation($input: PictureAddInput!) { pictureAdd(input: $input) { userErrors { field code } } }"
PREFLIGHT = {"apollo-require-preflight": "true"}


def multipart(client, operations, mapping, files, headers=None):
    parts = {"operations": (None, json.dumps(operations)), "map": (None, json.dumps(mapping)), **files}
    return client.post("/graphql", files=parts, headers={**PREFLIGHT, **(headers or {})})


def operations(subject="T3V0aW5nOm8x") -> dict:
    return {"query": ECHO, "variables": {"input": {"subjectId": subject, "file": None}}}


def test_a_multipart_request_needs_a_preflight_header(make_client):
    client, fake = make_client({})
    parts = {"operations": (None, json.dumps(operations())), "map": (None, '{"0": ["variables.input.file"]}')}
    answer = client.post("/graphql", files={**parts, "0": ("a.jpg", b"x", "image/jpeg")})
    assert answer.status_code == 400 and "Preflight" in answer.json()["errors"][0]["message"]
    assert fake.calls == []


def test_a_file_past_the_limit_is_refused_naming_its_field_before_anything_runs(make_client):
    client, fake = make_client({})
    big = b"\0" * (10 * 1024 * 1024 + 1)
    answer = multipart(client, operations(), {"0": ["variables.input.file"]}, {"0": ("a.jpg", big, "image/jpeg")})
    assert answer.status_code == 413
    [error] = answer.json()["errors"]
    assert error["extensions"] == {"code": "PAYLOAD_TOO_LARGE", "field": ["input", "file"]}
    assert error["message"] == "input.file: the file is larger than 10 MB."
    assert fake.calls == []


def test_malformed_maps_and_files_sent_elsewhere_are_bad_requests(make_client):
    client, fake = make_client({})
    file = {"0": ("a.jpg", b"x", "image/jpeg")}
    for mapping in ({"0": ["variables.input.nothere.file"]}, {"0": ["query"]}, {"0": "variables.input.file"}):
        answer = multipart(client, operations(), mapping, file)
        assert answer.status_code == 400 and answer.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    answer = multipart(client, operations(), {"1": ["variables.input.file"]}, file)
    assert answer.status_code == 400
    assert fake.calls == []


def test_the_upload_scalar_takes_only_a_mapped_file(make_client):
    client, fake = make_client({})
    variables = {"input": {"subjectId": "T3V0aW5nOm8x", "file": "not a file"}}
    answer = client.post("/graphql", json={"query": ECHO, "variables": variables})
    [error] = answer.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "multipart" in error["message"]
    assert fake.calls == []


def test_an_upload_never_shows_its_bytes():
    assert repr(Upload("a.jpg", "image/jpeg", b"secret" * 10)) == "Upload('a.jpg', 'image/jpeg', 60 bytes)"


def test_uploads_past_the_bound_in_flight_are_told_to_come_back(make_client):
    client, fake = make_client({}, max_uploads_in_flight=0)
    answer = multipart(client, operations(), {"0": ["variables.input.file"]}, {"0": ("a.jpg", b"x", "image/jpeg")})
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert answer.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert fake.calls == []


def test_an_introspection_sent_with_a_file_still_answers(make_client):
    client, _ = make_client({})
    sent = {"query": '{ __type(name: "Upload") { name } }', "variables": {"f": None}}  # f: not declared
    answer = multipart(client, sent, {"0": ["variables.f"]}, {"0": ("a.jpg", b"x", "image/jpeg")})
    assert answer.status_code == 200 and answer.json()["data"] == {"__type": {"name": "Upload"}}
