"""One address holds at most GATEWAY_MAX_SOCKETS_PER_ADDRESS (50) websockets; the next is
accepted and closed with 4429, on the real server (uvicorn), as a client library can read it.
(Closed before its accept, it was an HTTP 403 to the handshake: the review's finding.)"""

from __future__ import annotations

import socket

import pytest
from support.phones import next_address
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

PROTOCOL = "graphql-transport-ws"


def open_from(url: str, address: str) -> ClientConnection:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.bind((address, 0))
    sock.connect((host, int(port)))
    return connect(f"ws://{host}:{port}/graphql", sock=sock, subprotocols=[PROTOCOL], open_timeout=20)


def test_the_51st_websocket_from_one_address_is_closed_with_4429(stack):
    address = next_address()
    held = [open_from(stack.gateway_url, address) for _ in range(50)]
    try:
        extra = open_from(stack.gateway_url, address)  # the handshake succeeds...
        assert extra.subprotocol == PROTOCOL
        with pytest.raises(ConnectionClosed) as closed:
            extra.recv(timeout=20)  # ...and the socket is closed, saying why
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429
        # Another phone is not affected.
        other = open_from(stack.gateway_url, next_address())
        other.send('{"type": "connection_init", "payload": {}}')
        assert '"connection_ack"' in other.recv(timeout=20)
        other.close()
    finally:
        for connection in held:
            connection.close()
