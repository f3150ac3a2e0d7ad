"""Which language-specific analysis a piece of text gets, from its script and its declared language.

No I/O here. Every text is indexed once folded (ICU: any language, any script, the
cross-language fallback), and again under ``lang.<code>.<field>`` for each language whose
analysis it needs: Arabic or Urdu for Arabic script, Bengali for Bengali script, the declared
language for Latin script (French, English or Spanish stemming, Vietnamese with its tones);
Urdu text gets Arabic's analysis too.
Chinese needs nothing more than the folded field's bigrams. One field can need two analyses:
a French title holding an Arabic word is indexed under both.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

# Languages with an analyzer of their own (``pn_<code>`` in indices.ANALYSIS).
LANGUAGES = ("fr", "en", "es", "vi", "ar", "ur", "bn")
LATIN_LANGUAGES = ("fr", "en", "es", "vi")

# Letters Urdu writes and Arabic does not (ٹ ڈ ڑ ں ھ ہ ے ۓ ی ک گ): an Arabic-script text with any is Urdu.
URDU_LETTERS = frozenset("\u0679\u0688\u0691\u06ba\u06be\u06c1\u06d2\u06d3\u06cc\u06a9\u06af")
# Vietnamese marks French and Spanish never use: dot below, hook above, horn, breve (ạ ả ơ ư ă); and đ.
VIETNAMESE_MARKS = frozenset("\u0323\u0309\u031b\u0306")


def script_of(char: str) -> str | None:
    """The script of a letter among those the network writes in, or None."""
    code = ord(char)
    if 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0xFB50 <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF:
        return "arabic"
    if 0x0980 <= code <= 0x09FF:
        return "bengali"
    if 0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF:
        return "cjk"
    if char.isalpha() and (code < 0x0250 or 0x1E00 <= code <= 0x1EFF):
        return "latin"
    return None


def declared_languages(value: Any) -> list[str]:
    """``"fr"``, ``"fr-FR"`` or ``["ar", "fr"]`` as a list of base codes."""
    values = value if isinstance(value, list) else [value]
    return [str(v).replace("_", "-").split("-")[0].lower() for v in values if isinstance(v, str) and v]


def languages_of(text: str, declared: Sequence[str] = ()) -> list[str]:
    """The language analyses ``text`` needs, one per script it holds (in LANGUAGES only)."""
    scripts = {script_of(c) for c in unicodedata.normalize("NFC", text)} - {None}
    found = []
    if "latin" in scripts:
        latin = next((d for d in declared if d in LATIN_LANGUAGES), None)
        decomposed = unicodedata.normalize("NFD", text)
        if latin is None and (any(c in VIETNAMESE_MARKS for c in decomposed) or "đ" in text.lower()):
            latin = "vi"
        if latin:
            found.append(latin)
    if "arabic" in scripts:
        arabic = next((d for d in declared if d in ("ar", "ur")), None)
        if (arabic or ("ur" if any(c in URDU_LETTERS for c in text) else "ar")) == "ur":
            found.append("ur")
        # Arabic's analysis for all Arabic script: Urdu text quotes Arabic ("القرآن", "مسجد الدعوة").
        found.append("ar")
    if "bengali" in scripts:
        found.append("bn")
    return found


def per_language(doc: dict[str, Any], fields: Iterable[str], declared: Any) -> dict[str, dict[str, str]]:
    """``{code: {field: text}}``: the copies of ``doc``'s text fields to index under ``lang``."""
    codes = declared_languages(declared)
    copies: dict[str, dict[str, str]] = {}
    for field in fields:
        text = doc.get(field)
        if isinstance(text, str) and text:
            for code in languages_of(text, codes):
                copies.setdefault(code, {})[field] = text
    return copies


def is_latin(text: str) -> bool:
    """True when every letter of ``text`` is Latin: typo tolerance is for these words only
    (one edit in a short Arabic or Bengali word is another word)."""
    scripts = {script_of(c) for c in unicodedata.normalize("NFC", text) if c.isalpha()}
    return scripts == {"latin"}


def query_languages(text: str) -> list[str]:
    """The language analyses worth asking for ``text``: those of the scripts it holds (a Latin
    query cannot match an Arabic copy). Fewer fields to look each word up in."""
    scripts = {script_of(c) for c in unicodedata.normalize("NFC", text)}
    found: list[str] = []
    if "latin" in scripts:
        found += LATIN_LANGUAGES
    if "arabic" in scripts:
        found += ["ar", "ur"]
    if "bengali" in scripts:
        found.append("bn")
    return found
