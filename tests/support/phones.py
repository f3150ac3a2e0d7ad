"""Simulated phones: each talks from a loopback address of its own, so the gateway's and the
members service's per-address limits stay as deployed in the tests (the whole 127.0.0.0/8 is
loopback on Linux; nothing needs configuring).

Addresses come from 127.1.0.1 upwards (127.0.0.x is left to 127.0.0.1 itself and to the privacy
suite's attackers), one per call of :func:`next_address`, never the same twice in a process.
"""

from __future__ import annotations

import itertools
import threading

import httpx

_counter = itertools.count(1)
_lock = threading.Lock()


def next_address() -> str:
    """A loopback address no other phone of this process talks from, e.g. ``127.1.0.7``."""
    with _lock:
        n = next(_counter)
    # 254 hosts per /24 (no .0 or .255), 256 of those per second octet, from 127.1.
    third, fourth = divmod(n - 1, 254)
    second, third = divmod(third, 256)
    return f"127.{1 + second}.{third}.{fourth + 1}"


class PhoneTransport(httpx.BaseTransport):
    """An httpx transport that sends each request from a phone's address: the request's
    ``extensions["local_address"]`` if given, else the transport's current ``address`` (set per
    test by the suites' fixtures; threads of one test share it). One connection pool per address."""

    def __init__(self, address: str | None = None) -> None:
        self.address = address or next_address()
        self._pools: dict[str, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def _pool(self, address: str) -> httpx.HTTPTransport:
        with self._lock:
            pool = self._pools.get(address)
            if pool is None:
                pool = self._pools[address] = httpx.HTTPTransport(local_address=address)
            return pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        address = request.extensions.get("local_address") or self.address
        return self._pool(address).handle_request(request)

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()


def phone_client(base_url: str, address: str | None = None, **kwargs: object) -> httpx.Client:
    """An ``httpx.Client`` to ``base_url`` talking from ``address`` (a new one if not given)."""
    return httpx.Client(
        base_url=base_url, transport=httpx.HTTPTransport(local_address=address or next_address()), **kwargs
    )
