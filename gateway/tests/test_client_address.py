"""Which address the per-address limits count: a client cannot choose it."""

from __future__ import annotations

from starlette.requests import Request

from gateway.auth import client_address


def request(headers: list[tuple[bytes, bytes]]) -> Request:
    return Request({"type": "http", "headers": headers, "client": ("10.0.0.9", 5123)})


def test_without_a_trusted_proxy_the_socket_address_counts_whatever_the_headers_say():
    spoofed = request([(b"x-forwarded-for", b"1.2.3.4")])
    assert client_address(spoofed, trust_forwarded=False) == "10.0.0.9"


def test_behind_the_proxy_the_entry_it_appended_counts_not_the_ones_the_client_sent():
    # The client sent "1.2.3.4, 5.6.7.8"; the proxy (HAProxy's option forwardfor) appended the
    # address it saw, in the same header or in another one.
    one_header = request([(b"x-forwarded-for", b"1.2.3.4, 5.6.7.8, 203.0.113.7")])
    two_headers = request([(b"x-forwarded-for", b"1.2.3.4"), (b"x-forwarded-for", b"203.0.113.7")])
    assert client_address(one_header, trust_forwarded=True) == "203.0.113.7"
    assert client_address(two_headers, trust_forwarded=True) == "203.0.113.7"
    assert client_address(request([]), trust_forwarded=True) == "10.0.0.9"
