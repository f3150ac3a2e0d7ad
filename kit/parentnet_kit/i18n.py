"""Sentences the server writes, in each reader's language (gettext catalogues, through Babel).

A sentence is marked where it is written, with its parameters named::

    t("adults must be between 1 and {most}", most=PARTY_MAX)
    tn("{count} place left", "{count} places left", count)

``t`` and ``tn`` give a ``Message``: a ``str`` whose value is the English sentence, so a service
that knows nothing of languages still writes English, and one that stores or sends it keeps its
``message_id`` (the msgid, English with ``{name}`` placeholders), the plural msgid if any and the
``params`` beside it (``wire``); a parameter may itself be a marked word (``t("No such
{what}.", what=t("member"))``), written in the same language. Whoever shows it to a person
renders it again in that person's language (``render``): the catalogue's translation, its
placeholders filled with the parameters, numbers and dates written as the locale writes them
(Babel's CLDR data). User text given as a
parameter (a title, a name) goes in as it is: nothing is added around it, not even bidi controls,
so Arabic or Bengali text comes back byte for byte.

Catalogues: ``locales/<lang>/LC_MESSAGES/parentnet.po``, compiled to ``.mo`` and both committed
(the images install the kit as it is, with no build step): ``python -m parentnet_kit.catalogues
update`` extracts what the code marks (as ``pybabel extract -F locales/babel.cfg
--no-default-keywords -k t -k tn:1,2`` would), merges it into every ``.po`` and compiles them (as
``pybabel compile -D parentnet``); ``kit/tests/test_i18n.py`` fails when a marked msgid is missing
from a catalogue, a catalogue holds one no code marks, or a ``.mo`` is not its ``.po`` compiled.
English needs no catalogue: the msgids are English.

Which language: ``negotiate`` takes lists of BCP 47 tags in order of preference (the caller's
``Accept-Language``, the member's profile ``languages``...) and returns the first one the
network has a catalogue for, matching ``zh-CN`` to ``zh``; English when none matches.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeAlias

from babel.core import negotiate_locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

# The network's languages today: English first (the msgids), then the catalogues.
LANGUAGES = ("en", "fr", "zh", "vi", "ar", "bn")
DEFAULT = "en"
DOMAIN = "parentnet"
LOCALES = Path(__file__).resolve().parent / "locales"


class Message(str):
    """A sentence as the server writes it: ``str(message)`` is its English text; ``message_id``,
    ``plural`` (the plural msgid, or None) and ``params`` let it be written again in any
    language. Concatenating it with other text gives a plain ``str`` (English only)."""

    message_id: str
    plural: str | None
    params: dict[str, Param]

    def __new__(cls, message_id: str, params: Mapping[str, Param], plural: str | None = None) -> Message:
        english = _render(message_id, plural, dict(params), DEFAULT)
        made = super().__new__(cls, english)
        made.message_id = message_id
        made.plural = plural
        made.params = dict(params)
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        return (Message, (self.message_id, self.params, self.plural))


# What a placeholder may be filled with: numbers and dates are written as the language writes them.
Param: TypeAlias = str | int | float | date | datetime | Message


def t(message_id: str, **params: Param) -> Message:
    """Mark a sentence for translation: ``message_id`` is the English text with ``{name}``
    placeholders, ``params`` their values. Raises KeyError when a placeholder has no value."""
    return Message(message_id, params)


def tn(singular: str, plural: str, count: int, **params: Param) -> Message:
    """A sentence whose wording depends on ``count`` (each language's plural rules choose the
    form); ``count`` is also a parameter named ``count``."""
    return Message(singular, {**params, "count": count}, plural)


# -- over the wire and in the store ----------------------------------------------------------
def _encode(value: Param) -> Any:
    if isinstance(value, Message):
        return wire(value)
    if isinstance(value, datetime):
        return {"iso_datetime": value.isoformat()}
    if isinstance(value, date):
        return {"iso_date": value.isoformat()}
    return value


def _decode(value: Any) -> Param:
    if isinstance(value, dict):
        if "message_id" in value:
            params = {name: _decode(v) for name, v in (value.get("params") or {}).items()}
            return Message(value["message_id"], params, value.get("message_plural"))
        if "iso_datetime" in value:
            return datetime.fromisoformat(value["iso_datetime"])
        if "iso_date" in value:
            return date.fromisoformat(value["iso_date"])
        return str(value)
    return value


def wire(message: str) -> dict[str, Any]:
    """What travels over RPC and is stored for a sentence: ``{message}`` (English) and, for a
    marked one, ``message_id``, ``params`` (JSON values; dates as ``{"iso_date": iso}``) and
    ``message_plural`` when it has a plural."""
    shaped: dict[str, Any] = {"message": str(message)}
    if isinstance(message, Message):
        shaped["message_id"] = message.message_id
        shaped["params"] = {name: _encode(value) for name, value in message.params.items()}
        if message.plural is not None:
            shaped["message_plural"] = message.plural
    return shaped


def render(shaped: Mapping[str, Any] | Message, language: str) -> str:
    """``shaped`` (as ``wire`` made it, or a dict holding those keys) in ``language`` (one of
    ``LANGUAGES``): its stored English ``message`` when it has no ``message_id`` (written before
    the catalogues, or by code that does not mark it), or when its parameters do not fit."""
    if isinstance(shaped, Message):
        return _render(shaped.message_id, shaped.plural, shaped.params, language)
    message_id = shaped.get("message_id")
    if not message_id:
        return str(shaped.get("message", ""))
    params = {name: _decode(value) for name, value in (shaped.get("params") or {}).items()}
    try:
        return _render(message_id, shaped.get("message_plural"), params, language)
    except (KeyError, IndexError, ValueError, TypeError):
        return str(shaped.get("message", message_id))


@functools.cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue for ``language`` (English, or a language without one: the msgids)."""
    if language == DEFAULT or language not in LANGUAGES:
        return NullTranslations()
    return Translations.load(str(LOCALES), [language], DOMAIN)


def _format(value: Param, language: str) -> str:
    if isinstance(value, Message):  # a marked word or phrase inside a sentence: "No such {what}."
        return _render(value.message_id, value.plural, value.params, language)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return format_decimal(value, locale=language)
    if isinstance(value, datetime):
        return format_datetime(value, format="medium", tzinfo=value.tzinfo, locale=language)
    if isinstance(value, date):
        return format_date(value, format="medium", locale=language)
    return str(value)


def _render(message_id: str, plural: str | None, params: Mapping[str, Param], language: str) -> str:
    catalogue = translations(language)
    if plural is None:
        text = catalogue.gettext(message_id)
    else:
        text = catalogue.ngettext(message_id, plural, int(params.get("count", 0)))
    return text.format_map({name: _format(value, language) for name, value in params.items()})


# -- which language ----------------------------------------------------------------------------
def match(tags: Iterable[str] | None) -> str | None:
    """The first language of the network among ``tags`` (BCP 47, most preferred first):
    ``zh-Hans-CN`` or ``zh-CN`` give ``zh``, ``fr-CA`` gives ``fr``; None when none matches."""
    wanted = [tag.strip() for tag in (tags or []) if isinstance(tag, str) and tag.strip()]
    if not wanted:
        return None
    found = negotiate_locale(wanted, list(LANGUAGES), sep="-", aliases={})
    return found.split("-")[0].lower() if found else None


def negotiate(*preferences: Iterable[str] | None) -> str:
    """The first of ``preferences`` (lists of BCP 47 tags, each most preferred first, tried list
    by list) that ``match`` finds a language of the network in; ``DEFAULT`` when none does."""
    for tags in preferences:
        found = match(tags)
        if found is not None:
            return found
    return DEFAULT


def accept_language(header: str | None, most: int = 20) -> list[str]:
    """The tags of an ``Accept-Language`` header (RFC 9110), most preferred first (by weight,
    then order); ``*`` and tags weighted 0 left out; at most ``most`` entries read."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")[:most]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                weight = float(params[2:])
            except ValueError:
                weight = 0.0
        tag = tag.strip()
        if tag and tag != "*" and weight > 0:
            ranked.append((-weight, index, tag))
    return [tag for _, _, tag in sorted(ranked)]
