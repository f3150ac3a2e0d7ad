"""What ops see, end to end (issue 21): one request id through the gateway, the services and
the events they publish; JSON logs from the first line; each process's /metrics scraped by a
real Prometheus server that answers a PromQL query; the gateway ready with a service stopped."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from conftest import post
from test_outing_end_to_end import CREATE, proposal

from devtools.isolated import free_port
from devtools.stack import SERVICES
from parentnet_kit.testing import wait_for

PROCESSES = ("gateway", *SERVICES)
ID = re.compile(r"[0-9a-f]{12,}|[0-9a-f]{8}-[0-9a-f]{4}-")


def log_lines(stack, name: str) -> list[dict]:
    """Process ``name``'s log, each line parsed (a line that is not JSON fails the test). The
    processes keep writing: a last line without its newline yet is still being written."""
    text = (stack.run_dir / f"{name}.log").read_text(errors="replace")
    lines = text[: text.rfind("\n") + 1].splitlines()
    parsed = []
    for number, line in enumerate(lines, 1):
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"{name}.log line {number} is not JSON: {line[:200]!r}")
    return parsed


def with_id(stack, name: str, request_id: str, msg: str) -> list[dict]:
    return [e for e in log_lines(stack, name) if e.get("request_id") == request_id and e.get("msg") == msg]


def test_one_outing_create_is_followed_by_its_request_id_through_every_log(stack, http, organizer):
    request_id = f"e2e-obs-{uuid.uuid4().hex}"
    title = f"Goûter traçable {uuid.uuid4().hex[:6]}"
    response = post(
        http, CREATE, {"input": proposal(title, 48.8556, 2.2986)}, organizer["token"], {"X-Request-ID": request_id}
    )
    body = response.json()
    assert body["data"]["outingCreate"]["userErrors"] == []
    assert response.headers["x-request-id"] == request_id
    assert body["extensions"]["requestId"] == request_id

    # The indexer writes the event a moment after the mutation's answer.
    [indexed] = wait_for(
        lambda: with_id(stack, "search", request_id, "event indexed"), timeout=15, what="search's log line"
    )
    assert indexed["event_type"] == "outing_published"

    # Each process writes its own lines in its own time (the access line after the answer is
    # sent): each is waited for.
    def line(name: str, msg: str) -> list[dict]:
        return wait_for(lambda: with_id(stack, name, request_id, msg), timeout=15, what=f"{name}'s {msg!r} line")

    [handled] = line("events", "rpc handled")
    assert handled["rpc"] == "events.create_outing" and handled["outcome"] == "ok"
    assert handled["duration_ms"] >= 0
    [published] = line("events", "event published")
    assert published["event_id"] == indexed["event_id"]
    [operation] = line("gateway", "graphql operation")
    assert operation["operation_name"] == "Create"
    assert operation["operation_type"] == "mutation" and operation["root_fields"] == ["outingCreate"]
    assert operation["outcome"] == "ok" and operation["status"] == 200
    assert operation["cost"] > 0 and operation["rpc_calls"] >= 1
    [access] = line("gateway", "http request")
    assert access == {**access, "method": "POST", "route": "/graphql", "status": 200}
    # Never variables, tokens or bodies: neither the title, nor the token, nor the place.
    for name in PROCESSES:
        text = (stack.run_dir / f"{name}.log").read_text(errors="replace")
        assert title not in text and organizer["token"] not in text and "48.8556" not in text, name


def test_a_malformed_request_id_is_replaced_by_one_of_ours(http):
    response = http.post("/graphql", json={"query": "{ __typename }"}, headers={"X-Request-ID": "bad id\twith tab"})
    made = response.headers["x-request-id"]
    assert made != "bad id\twith tab" and len(made) == 32
    assert response.json()["extensions"]["requestId"] == made
    assert http.get("/alive").headers["x-request-id"]


def test_every_process_logs_json_from_its_first_line(stack):
    for name in PROCESSES:
        first = log_lines(stack, name)[0]
        assert first["service"] == name, first
    warnings = [e for e in log_lines(stack, "events") if e["logger"] == "py.warnings"]
    assert any("Eventlet is deprecated" in e["msg"] for e in warnings)


PROMETHEUS_CONFIG = """
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
scrape_configs:
{jobs}
"""
P99 = (
    "histogram_quantile(0.99, sum by (le) "
    '(rate(parentnet_gateway_http_request_duration_seconds_bucket{route="/graphql"}[30s])))'
)


@pytest.fixture
def prometheus(stack, tmp_path: Path):
    """A real Prometheus server (Debian's package) scraping the five processes every second."""
    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not Path(binary).exists():
        pytest.fail("prometheus is not installed: run scripts/provision.sh up")
    jobs = "\n".join(
        f"  - job_name: {name}\n    static_configs: [{{targets: ['127.0.0.1:{stack.metrics_ports[name]}']}}]"
        for name in PROCESSES
    )
    (tmp_path / "prometheus.yml").write_text(PROMETHEUS_CONFIG.format(jobs=jobs))
    port = free_port()
    log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)

    def up() -> bool:
        try:
            return client.get("/-/ready").status_code == 200
        except httpx.HTTPError:
            return process.poll() is not None  # died: fail below with its log

    try:
        wait_for(up, timeout=30, what="Prometheus to start")
        assert process.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
        yield client
    finally:
        client.close()
        process.terminate()
        process.wait(30)
        log.close()


def query(prometheus: httpx.Client, promql: str) -> list[dict]:
    answer = prometheus.get("/api/v1/query", params={"query": promql}).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def test_prometheus_scrapes_every_process_and_answers_the_gateways_p99(stack, http, prometheus):
    def scraped() -> bool:
        up = {r["metric"]["job"]: r["value"][1] for r in query(prometheus, "up")}
        return up == {name: "1" for name in PROCESSES}

    wait_for(scraped, timeout=30, what="Prometheus to scrape the five processes")

    def p99() -> float | None:
        http.post("/graphql", json={"query": "{ cities { slug } }"})  # traffic for rate() to see
        result = query(prometheus, P99)
        value = float(result[0]["value"][1]) if result else math.nan
        return value if math.isfinite(value) else None

    seconds = wait_for(p99, timeout=60, interval=0.5, what="a p99 of the gateway's latency")
    assert 0 < seconds <= 30

    def series(promql: str) -> set[str]:
        return {r["metric"].get("job", "") for r in query(prometheus, promql)}

    assert series('parentnet_gateway_graphql_operations_total{root_field="cities"}') == {"gateway"}
    assert series("parentnet_gateway_rpc_call_duration_seconds_count") == {"gateway"}
    # Each service has handled RPCs (the gateway's pings at start, sign-ups, ...).
    assert series("parentnet_rpc_handled_total") >= {"members", "events"}
    assert series("parentnet_outbox_lag_seconds") >= {"members", "events", "listings"}
    assert "search" in series('parentnet_queue_messages{queue="search.indexer.dead"}')
    assert "search" in series('parentnet_events_consumed_total{outcome="applied"}')
    assert "search" in series("parentnet_indexer_lag_seconds")
    # Bounded labels: no id of any kind (request ids, members' or outings' ids) in any label.
    for result in query(prometheus, '{__name__=~"parentnet_.*"}'):
        for label, value in result["metric"].items():
            assert not ID.search(value) and "e2e-obs" not in value, (result["metric"]["__name__"], label, value)


MY_LISTINGS = "{ myListings(first: 5) { totalCount } }"
NEARBY = "{ nearbyOutings(near: {lat: 48.8584, lon: 2.2945}, radiusKm: 1, first: 1) { totalCount } }"


def test_the_gateway_stays_ready_with_a_service_stopped(stack, http, organizer):
    assert httpx.get(f"{stack.gateway_url}/ready", timeout=10).status_code == 200
    stack.stop("listings")
    try:
        ready = httpx.get(f"{stack.gateway_url}/ready", timeout=10)
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        # Its fields fail with SERVICE_UNAVAILABLE; the rest serves.
        mine = post(http, MY_LISTINGS, token=organizer["token"]).json()
        assert [e["extensions"]["code"] for e in mine["errors"]] == ["SERVICE_UNAVAILABLE"]
        nearby = post(http, NEARBY).json()
        assert "errors" not in nearby and nearby["data"]["nearbyOutings"]["totalCount"] >= 0
        # /health still tells a human what is down.
        assert httpx.get(f"{stack.gateway_url}/health", timeout=10).status_code == 503
        # The other services are alive and ready; the stopped one answers nothing.
        for name in ("members", "events", "search"):
            assert httpx.get(f"{stack.metrics_url(name)}/alive", timeout=5).status_code == 200
            readiness = httpx.get(f"{stack.metrics_url(name)}/ready", timeout=10).json()
            assert readiness["status"] == "ready", (name, readiness)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{stack.metrics_url('listings')}/alive", timeout=5)
    finally:
        stack.start("listings")
        stack.wait_healthy(60)

    def listings_ready() -> bool:
        try:
            return httpx.get(f"{stack.metrics_url('listings')}/ready", timeout=10).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(listings_ready, timeout=30, interval=0.3, what="listings ready again")
