"""The graphql-http package's server audit (npm; the GraphQL-over-HTTP spec's MUSTs, SHOULDs
and MAYs) against the live gateway: no error, no warning."""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

AUDIT = Path(__file__).resolve().parents[2] / "clients" / "http-audit"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is installed by make test's provisioning")
def test_graphql_over_http_audit_has_no_error_and_no_warning(stack):
    if not (AUDIT / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=AUDIT, check=True, timeout=300)
    env = {**os.environ, "GATEWAY_URL": stack.gateway_url}
    run = subprocess.run(["node", "audit.mjs"], cwd=AUDIT, env=env, capture_output=True, text=True, timeout=120)
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0 and summary["error"] == 0 and summary["warn"] == 0, summary
    assert summary["ok"] >= 57, summary


def _one_response(conn: socket.socket) -> bytes:
    """Read one whole HTTP/1.1 response (headers, then a body of its Content-Length) off ``conn``:
    its status line. Headers and body may come in separate segments."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, "the connection closed before a response"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        assert chunk, "the connection closed inside a response"
        body += chunk
    assert len(body) == length, "more than one response came"
    return head.split(b"\r\n", 1)[0]


def test_an_idle_keep_alive_connection_outlives_a_clients_pool_expiry(stack):
    """The gateway keeps an idle connection open longer than clients keep one in their pool
    (httpx: 5 s), so a client never reuses a connection the gateway is closing at that instant
    ("Server disconnected without sending a response": the at-volume join test in stop 28, when
    uvicorn's keep-alive was its default 5 s). A raw HTTP/1.1 connection, one request answered
    whole, then idle: nothing comes on it for 8 s (a close would be an end of file), and it serves
    a second request."""
    url = urlsplit(stack.gateway_url)
    request = f"GET /alive HTTP/1.1\r\nHost: {url.hostname}\r\n\r\n".encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(request)
        assert _one_response(conn) == b"HTTP/1.1 200 OK"
        readable, _, _ = select.select([conn], [], [], 8)
        closed = bool(readable) and conn.recv(1, socket.MSG_PEEK) == b""
        assert not closed, "the gateway closed an idle keep-alive connection within 8 s"
        assert readable == [], "unexpected bytes on an idle connection"
        conn.sendall(request)
        assert _one_response(conn) == b"HTTP/1.1 200 OK"
