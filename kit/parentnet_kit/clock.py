"""Times as the services read them: from MongoDB, and from ISO 8601 input."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any


def aware(value: datetime) -> datetime:
    """``value`` with UTC attached when the driver handed back a naive datetime."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_iso(value: Any, zone: tzinfo = UTC) -> datetime | None:
    """An ISO 8601 date-time ("Z" accepted), aware: without an offset it is read in ``zone``.
    None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
