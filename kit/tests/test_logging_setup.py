from __future__ import annotations

import json
import logging

from parentnet_kit import request_ids
from parentnet_kit.logging_setup import JsonFormatter


def line(record: logging.LogRecord) -> dict:
    return json.loads(JsonFormatter().format(record))


def record(msg: str = "hello", **extra) -> logging.LogRecord:
    made = logging.LogRecord("parentnet.test", logging.INFO, __file__, 1, msg, None, None)
    made.__dict__.update(extra)
    return made


def test_a_line_is_json_with_utc_milliseconds_and_the_bound_request_id():
    with request_ids.bound("req-7"):
        written = line(record())
    assert written["msg"] == "hello" and written["level"] == "info" and written["request_id"] == "req-7"
    assert written["ts"].endswith("Z") and len(written["ts"]) == len("2026-01-01T00:00:00.000Z")


def test_a_records_own_request_id_and_fields_are_written():
    written = line(record(request_id="from-event", fields={"rpc": "events.ping", "duration_ms": 1.5}))
    assert written["request_id"] == "from-event"
    assert written["rpc"] == "events.ping" and written["duration_ms"] == 1.5


def test_no_request_id_outside_a_request():
    assert "request_id" not in line(record())


def test_request_ids_accept_only_well_formed_values():
    assert request_ids.accept("abc-1_2.3:4") == "abc-1_2.3:4"
    for bad in (None, "", " spaced", "new\nline", "x" * 129, "-lead"):
        made = request_ids.accept(bad)
        assert made != bad and len(made) == 32
