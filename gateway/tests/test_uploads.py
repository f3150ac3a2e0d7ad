"""Multipart requests (the GraphQL multipart request spec) at the edge, without RabbitMQ."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from types import SimpleNamespace

import httpx
import uvicorn
from conftest import FakeRpc

from gateway import limits
from gateway.app import create_app
from gateway.limits import Limits
from gateway.settings import Settings
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


def test_the_21st_upload_in_a_minute_from_one_address_is_refused(make_client, monkeypatch):
    # Time stands still: nothing refills between the uploads, however slow this machine is.
    monkeypatch.setattr(limits, "time", SimpleNamespace(monotonic=lambda: 1_000.0))
    client, _ = make_client({})
    file = {"0": ("a.jpg", b"x", "image/jpeg")}
    for n in range(20):
        answer = multipart(client, operations(), {"0": ["variables.input.file"]}, file)
        assert answer.status_code == 200, n  # signed out: UNAUTHENTICATED, but paid for all the same
    refused = multipart(client, operations(), {"0": ["variables.input.file"]}, file)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    [error] = refused.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    # A query still fits in what is left: the upload's price is for decoding, not for reading.
    assert client.post("/graphql", json={"query": "{ __typename }"}).status_code == 200


def serve_in_thread(**overrides):
    """The app on a real socket (uvicorn in a thread): stalled bodies need real connections."""
    settings = Settings(
        amqp_uri="amqp://unused",
        rpc_timeout=1,
        health_timeout=1,
        max_body_bytes=64 * 1024,
        introspection=True,
        explorer=False,
        cors_origins=(),
        limits=Limits(),
        max_sockets_per_address=50,
        **overrides,
    )
    app = create_app(settings)
    fake = FakeRpc({})
    app.state.rpc.call, app.state.rpc.connect = fake.call, fake.connect
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 15 s"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, port


def stall(port: int, source: str) -> socket.socket:
    """A chunked multipart POST from ``source`` that sends operations and map, then nothing."""
    boundary = "stall"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{json.dumps(operations())}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
        '{"0": ["variables.input.file"]}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="a.jpg"\r\n\r\n'
    ).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    sock.sendall(
        b"POST /graphql HTTP/1.1\r\nHost: t\r\nApollo-Require-Preflight: true\r\nTransfer-Encoding: chunked\r\n"
        + f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n".encode()
        + f"{len(head):x}\r\n".encode()
        + head
        + b"\r\n"
    )
    return sock


def status_of(sock: socket.socket) -> int:
    return int(sock.recv(65536).split(b" ", 2)[1])


def test_stalled_uploads_from_one_address_leave_the_others_slots_and_are_cut_at_the_deadline():
    # The body deadline leaves a loaded machine room to serve the other address meanwhile.
    body_seconds = 3
    server, thread, port = serve_in_thread(
        max_uploads_in_flight=8, max_uploads_per_address=2, upload_body_seconds=body_seconds
    )
    try:
        opened = time.monotonic()
        stalled = [stall(port, "127.0.0.2") for _ in range(8)]
        # Six are refused at once (two per address at most); waited for with a deadline.
        refused: list[socket.socket] = []
        deadline = time.monotonic() + 10
        while len(refused) < 6 and time.monotonic() < deadline:
            waiting = [s for s in stalled if s not in refused]
            refused += select.select(waiting, [], [], 0.2)[0]
        assert len(refused) == 6 and {status_of(s) for s in refused} == {429}
        held = [s for s in stalled if s not in refused]
        transport = httpx.HTTPTransport(local_address="127.0.0.3")
        with httpx.Client(transport=transport, base_url=f"http://127.0.0.1:{port}", timeout=10) as other:
            answer = multipart(
                other, operations(), {"0": ["variables.input.file"]}, {"0": ("a.jpg", b"x", "image/jpeg")}
            )
        assert answer.status_code == 200  # signed out, so UNAUTHENTICATED: but it ran, not 503 or 429
        # It did not wait for the stalled ones: they are still held (not yet cut).
        assert not select.select(held, [], [], 0)[0]
        for sock in held:
            sock.settimeout(15)
            assert status_of(sock) == 408  # cut at the deadline, not before it
        assert time.monotonic() - opened >= body_seconds
        # Their slots are free again: the same address may upload; held, not refused (cut at
        # the deadline with 408, where a refusal would be an immediate 429).
        again = stall(port, "127.0.0.2")
        again.sendall(b"1\r\n-\r\n")
        again.settimeout(15)
        assert status_of(again) == 408
        for sock in [*stalled, again]:
            sock.close()
    finally:
        server.should_exit = True
        thread.join(10)
