"""The services' Prometheus metrics (prometheus-client's default registry), in one place.

Labels take only values from a closed set (service and method names, event types, queue and
outbox names, outcomes): never an id, a member, a city or anything a client chooses, so the
number of series stays what the code defines. Each nameko process serves them on its own
``METRICS_PORT`` (``nameko_observe``); the gateway has its own (``gateway.observe``).

No I/O here and no nameko.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Seconds; up to the gateway's 30 s deadline for a mutation's calls.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

RPC_HANDLED = Counter(
    "parentnet_rpc_handled",
    "RPC requests a service handled, by method and outcome (ok: answered, error: raised).",
    ("service", "method", "outcome"),
)
RPC_SECONDS = Histogram(
    "parentnet_rpc_handle_seconds",
    "Time a service took to handle an RPC request, from its worker's start to its reply, in seconds.",
    ("service", "method"),
    buckets=LATENCY_BUCKETS,
)
EVENTS_PUBLISHED = Counter(
    "parentnet_events_published",
    "Domain events the broker confirmed, by type (a republished event counts again).",
    ("type",),
)
EVENTS_UNHEARD = Counter(
    "parentnet_events_unheard",
    "Domain events no queue took because only live listeners (a gateway's subscription feed) take "
    "their type and none was running, by type; each also counts as published.",
    ("type",),
)
EVENTS_CONSUMED = Counter(
    "parentnet_events_consumed",
    "Domain events a consumer settled, by consumer queue, type and outcome "
    "(applied, stale, ignored, retried, dead_lettered, malformed).",
    ("consumer", "type", "outcome"),
)
EVENTS_OFF_CONTRACT = Counter(
    "parentnet_events_off_contract",
    "Domain events off the event catalogue (parentnet_kit.contract.events: an unknown type, or data "
    "that does not fit its schema), by routing key and role (published, consumed).",
    ("type", "role"),
)
OUTBOX_LAG = Gauge(
    "parentnet_outbox_lag_seconds",
    "Age of the oldest event written but not yet published, in seconds (0 when none), "
    "as the outbox sweeper last saw it (every OUTBOX_SWEEP_SECONDS).",
    ("outbox",),
)
OUTBOX_UNPUBLISHED = Gauge(
    "parentnet_outbox_unpublished",
    "Events written but not yet published, as the outbox sweeper last counted them.",
    ("outbox",),
)
QUEUE_MESSAGES = Gauge(
    "parentnet_queue_messages",
    "Messages waiting in a consumer's queues (its queue, retry queue and dead-letter queue), "
    "as its consumer last asked the broker.",
    ("queue",),
)
INDEXER_LAG = Gauge(
    "parentnet_indexer_lag_seconds",
    "Time from the newest event of the last batch the search indexer wrote, to that write "
    "(its occurred_at to now), in seconds.",
)
