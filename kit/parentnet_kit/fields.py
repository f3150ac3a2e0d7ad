"""A problem with one input field, as every service reports it (the gateway turns it into
``userErrors { field message code }``, camel-casing the path, and writes the message in the
caller's language from its ``message_id`` and ``params``: ``parentnet_kit.i18n``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .i18n import t, wire

# What no one writes in a text for people: C0 controls but tab, newline and carriage return (a
# client on Windows, or a form post, sends line breaks as CR LF), DEL and the C1 controls,
# and the bidi embeddings, overrides (U+202A-U+202E) and isolates (U+2066-U+2069), which make text
# read as something else. Right-to-left letters (Arabic, Hebrew) are not controls: they stay.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# A BCP 47 language tag as the services accept it: "fr", "en-GB", "zh-Hant".
LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class FieldError:
    field: tuple[str, ...]
    message: str
    code: str

    def to_dict(self) -> dict[str, Any]:
        """``{field: [str], message: English, code, message_id?, params?, message_plural?}``: the
        last three when the message was marked (``i18n.t``), for the gateway to translate."""
        return {"field": list(self.field), **wire(self.message), "code": self.code}


def field_error(field: tuple[str, ...], message: str, code: str) -> dict[str, Any]:
    """A ``FieldError`` as the services return it over RPC (``FieldError.to_dict``)."""
    return FieldError(field, message, code).to_dict()


def text(raw: dict[str, Any], name: str, limit: int, errors: list[FieldError], required: bool) -> str:
    """``raw[name]`` trimmed ("" when absent), with an error for a non-text value, an empty
    required one, or one longer than ``limit`` characters."""
    value = raw.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.append(FieldError((name,), t("{name} must be text", name=name), "INVALID"))
        return ""
    value = value.strip()
    if required and not value:
        errors.append(FieldError((name,), t("{name} must not be empty", name=name), "REQUIRED"))
    elif len(value) > limit:
        errors.append(
            FieldError((name,), t("{name} must be at most {limit} characters", name=name, limit=limit), "TOO_LONG")
        )
    return value


def control_characters(field: tuple[str, ...], value: str) -> FieldError | None:
    """An ``INVALID`` error on ``field`` when the text ``value`` holds a control character
    (``CONTROL_CHARACTERS``: C0 but tab, newline and carriage return, C1, bidi overrides and isolates); None when
    it holds none. For every text a member writes for others to read."""
    if CONTROL_CHARACTERS.search(value) is None:
        return None
    return FieldError(field, t("{name} must not contain control characters", name=field[-1]), "INVALID")
