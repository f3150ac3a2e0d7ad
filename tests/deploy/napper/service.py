"""``napper.nap(seconds, token)``: writes ``start <token> <pid>`` and ``end <token> <pid>`` lines
to ``$NAP_LOG`` around a sleep of ``seconds``, and answers its process id. The event
``nap_requested`` from ``napper_source`` (``{"seconds", "token"}``) does the same in a handler
(one shared queue: each event goes to one instance)."""

from __future__ import annotations

import os

import eventlet
from nameko.events import event_handler
from nameko.rpc import rpc


def _note(what: str, token: str) -> None:
    with open(os.environ["NAP_LOG"], "a") as log:
        log.write(f"{what} {token} {os.getpid()}\n")


class Napper:
    name = "napper"

    @rpc
    def nap(self, seconds: float, token: str) -> int:
        _note("start", token)
        eventlet.sleep(seconds)
        _note("end", token)
        return os.getpid()

    @event_handler("napper_source", "nap_requested")
    def nap_on_event(self, payload: dict) -> None:
        _note("start", payload["token"])
        eventlet.sleep(payload["seconds"])
        _note("end", payload["token"])
