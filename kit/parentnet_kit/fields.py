"""A problem with one input field, as every service reports it (the gateway turns it into
``userErrors { field message code }``, camel-casing the path)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: tuple[str, ...]
    message: str
    code: str

    def to_dict(self) -> dict[str, Any]:
        return {"field": list(self.field), "message": self.message, "code": self.code}


def field_error(field: tuple[str, ...], message: str, code: str) -> dict[str, Any]:
    """A ``FieldError`` as the services return it over RPC."""
    return FieldError(field, message, code).to_dict()
