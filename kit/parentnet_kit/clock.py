"""Times read back from MongoDB: aware, in UTC, whichever way the client was configured."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(value: datetime) -> datetime:
    """``value`` with UTC attached when the driver handed back a naive datetime."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
