"""One log format for every process: one JSON object per line, no personal data.

Each line has ``ts`` (UTC, milliseconds), ``level``, ``logger``, ``msg``; ``service`` when the
process says which it is (``PARENTNET_SERVICE``, set by ``configure`` and by the nameko
launcher); ``request_id`` when the line is written for a client's request (the record's own,
else the one bound in this task or greenlet: ``request_ids``); and the record's ``fields``, a
dict of structured values (``log.info("rpc handled", extra={"fields": {...}})``).
Warnings (eventlet's deprecation notice among them) are logged too, as JSON, not printed.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

import orjson

from . import request_ids

SERVICE_ENV = "PARENTNET_SERVICE"
# Attributes a record may carry (``extra={...}``) that are written as they are.
KNOWN_KEYS = ("event_id", "event_type", "aggregate_id", "version", "service")


class JsonFormatter(logging.Formatter):
    """A record as one JSON line (see the module's docstring for its keys)."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        service = os.environ.get(SERVICE_ENV)
        if service:
            entry["service"] = service
        request_id = getattr(record, "request_id", None) or request_ids.current()
        if request_id:
            entry["request_id"] = request_id
        for key in KNOWN_KEYS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        try:
            # orjson: 0.4 µs a line against 6 µs for the standard library (an access line each request).
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # e.g. an integer beyond 64 bits
            return json.dumps(entry, ensure_ascii=False, default=str)


def configure(service: str) -> None:
    """Log JSON lines to stderr at LOG_LEVEL (default INFO); ``service`` names the process.
    Python warnings go through logging (logger ``py.warnings``) instead of plain text."""
    os.environ[SERVICE_ENV] = service
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    logging.captureWarnings(True)
    for noisy in ("pika", "elastic_transport", "kombu", "amqp", "aio_pika", "aiormq"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
