"""Fault 2 up close: the gateway and the services across a RabbitMQ restart, on a small stack
of their own (devtools.isolated, empty stores) so that only the reconnection is measured.

Eight clients create outings without pause, each giving up on a request after 10 s as an app
would; after 100 creates the broker is stopped (``rabbitmqctl stop_app``) for 3 s and started
again, and the clients go on until 200 requests sent after it was back have been served (or
90 s have passed). Each request's start, end and answer are kept:

- a request sent while the broker is down may fail (``SERVICE_UNAVAILABLE``);
- a request sent after ``start_app`` returned must be served;
- nothing confirmed is lost, nothing is stored twice.

``rabbitmqctl`` acts on the node it is pointed at: the default one, or ``RABBITMQ_NODENAME``'s
(run this against a node of your own with ``AMQP_URI``, ``RABBITMQ_MANAGEMENT_URL`` and
``RABBITMQ_NODENAME`` when others share the machine's broker; README.md)."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient
from test_faults import CREATE, proposal

from devtools.isolated import isolated_stack
from gateway.ids import from_global_id
from parentnet_kit import config
from parentnet_kit.testing import wait_for

CLIENTS = 8
BEFORE = 100  # creates answered before the broker stops
AFTER = 200  # requests sent after it is back and served
AFTER_CAP_S = 90.0
DOWN_S = 3.0
# An app gives up on a request after this long and sends the next one (the gateway's own
# deadline for a mutation's calls is 30 s).
CLIENT_TIMEOUT_S = 10.0
CTL = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"

pytestmark = pytest.mark.skipif(
    shutil.which("rabbitmqctl") is None and not Path("/usr/sbin/rabbitmqctl").exists(),
    reason="needs the local RabbitMQ",
)


@dataclass
class Answer:
    title: str
    sent: float
    answered: float
    outing_id: str | None
    code: str | None  # the first error's extensions.code (or the transport's failure)


@pytest.fixture(scope="module")
def small_stack(tmp_path_factory):
    with isolated_stack("bounce", tmp_path_factory.mktemp("bounce")) as running:
        yield running


def create(http: httpx.Client, token: str, title: str) -> Answer:
    sent = time.monotonic()
    try:
        response = http.post(
            "/graphql",
            json={"query": CREATE, "variables": {"input": proposal(title)}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=CLIENT_TIMEOUT_S,
        )
    except httpx.HTTPError as exc:
        return Answer(title, sent, time.monotonic(), None, type(exc).__name__)
    try:
        body = response.json()
    except ValueError:
        return Answer(title, sent, time.monotonic(), None, f"HTTP {response.status_code}")
    outing = ((body.get("data") or {}).get("outingCreate") or {}).get("outing")
    errors = body.get("errors") or [{}]
    code = None if outing else str((errors[0].get("extensions") or {}).get("code") or errors[0].get("message"))
    return Answer(title, sent, time.monotonic(), from_global_id(outing["id"])[1] if outing else None, code)


def sign_up(http: httpx.Client) -> str:
    fields = {"email": f"b-{uuid.uuid4().hex[:8]}@example.org", "password": "a long password"}
    query = "mutation($input: MemberRegisterInput!) { memberRegister(input: $input) { accessToken } }"
    body = http.post(
        "/graphql", json={"query": query, "variables": {"input": {**fields, "displayName": "B", "city": "paris"}}}
    ).json()
    return body["data"]["memberRegister"]["accessToken"]


def test_requests_after_a_broker_restart_are_served(small_stack):
    http = httpx.Client(base_url=small_stack.gateway_url, timeout=45)
    token = sign_up(http)
    tag = uuid.uuid4().hex[:6]
    answers: list[Answer] = []
    lock = threading.Lock()
    moments: dict[str, float] = {}
    back = threading.Event()
    counter = iter(range(1_000_000))

    def client() -> None:
        while True:
            with lock:
                if back.is_set() and (
                    sum(1 for a in answers if a.sent >= moments["back"] and a.outing_id) >= AFTER
                    or time.monotonic() > moments["back"] + AFTER_CAP_S
                ):
                    return
                n = next(counter)
            answer = create(http, token, f"B-{tag}-{n:05d}")
            with lock:
                answers.append(answer)

    def bounce() -> None:
        wait_for(lambda: len(answers) >= BEFORE, timeout=120, what=f"{BEFORE} creates answered")
        moments["stopping"] = time.monotonic()
        subprocess.run([CTL, "stop_app"], check=True, capture_output=True, timeout=60)
        moments["down"] = time.monotonic()
        pause = moments["down"] + DOWN_S
        wait_for(lambda: time.monotonic() > pause, timeout=10, what=f"{DOWN_S:g} s with the broker down")
        subprocess.run([CTL, "start_app"], check=True, capture_output=True, timeout=120)
        moments["back"] = time.monotonic()
        back.set()

    bouncer = threading.Thread(target=bounce)
    clients = [threading.Thread(target=client) for _ in range(CLIENTS)]
    bouncer.start()
    for thread in clients:
        thread.start()
    bouncer.join()
    for thread in clients:
        thread.join()
    http.close()

    after = [a for a in answers if a.sent >= moments["back"]]
    during = [a for a in answers if moments["stopping"] <= a.sent < moments["back"]]
    failed_after = [a for a in after if a.outing_id is None]
    first_served = min((a.answered for a in after if a.outing_id), default=float("nan")) - moments["back"]
    last_failed = max((a.answered for a in failed_after), default=moments["back"]) - moments["back"]
    codes: dict[str, int] = {}
    for a in failed_after + [a for a in during if a.outing_id is None]:
        codes[a.code or "?"] = codes.get(a.code or "?", 0) + 1

    db = MongoClient(config.mongo_uri())[small_stack.env["EVENTS_DB"]]
    stored: dict[str, int] = {}
    for doc in db.outings.find({"title": {"$regex": f"^B-{tag}-"}}, {"title": 1}):
        stored[doc["title"]] = stored.get(doc["title"], 0) + 1
    confirmed = [a for a in answers if a.outing_id]
    lost = sum(1 for a in confirmed if a.title not in stored)
    twice = sum(n - 1 for n in stored.values())
    print(
        f"\nbroker: stop_app {moments['down'] - moments['stopping']:.1f} s, down {DOWN_S:g} s, "
        f"start_app {moments['back'] - moments['down'] - DOWN_S:.1f} s; {len(answers)} creates, "
        f"{len(confirmed)} confirmed; sent while stopping or down: {len(during)} "
        f"({sum(1 for a in during if a.outing_id is None)} failed); sent after it was back: {len(after)}, "
        f"{len(failed_after)} failed, the last answered {last_failed:.1f} s after; first success "
        f"{first_served:.1f} s after; error codes {codes}; stored {sum(stored.values())} outings "
        f"under {len(stored)} titles; lost {lost}, stored twice {twice}"
    )
    assert lost == twice == 0
    assert not failed_after, f"{len(failed_after)} requests sent after the broker was back failed: {codes}"
