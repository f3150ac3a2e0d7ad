"""Configuration from the environment, with defaults that point at the local servers."""

from __future__ import annotations

import os

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MONGO_URI = "mongodb://127.0.0.1:27017/"
DEFAULT_ELASTICSEARCH_URL = "http://127.0.0.1:9200"


def amqp_uri() -> str:
    return os.environ.get("AMQP_URI") or DEFAULT_AMQP_URI


def mongo_uri() -> str:
    return os.environ.get("MONGO_URI") or DEFAULT_MONGO_URI


def elasticsearch_url() -> str:
    return os.environ.get("ELASTICSEARCH_URL") or DEFAULT_ELASTICSEARCH_URL


def flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}
