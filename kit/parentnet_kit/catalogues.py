"""Keep the translation catalogues in step with the code: ``python -m parentnet_kit.catalogues``.

``check`` (the default) lists every problem and exits 1 if there is one; ``update`` adds the
msgids the code marks to every catalogue (untranslated: English is shown until someone writes
the translation), drops those no code marks any more, and compiles every ``.po`` to its ``.mo``.
The same extraction as ``pybabel extract --no-default-keywords -k t -k tn:1,2`` over the
packages that write sentences, read only in modules that import the marker, and only what is
really a call (Babel's extractor also takes ``t["n"]``, ``t`` being a loop variable, for one).

Problems: a marked msgid missing from a catalogue, a catalogue msgid no code marks, a
translation whose ``{placeholders}`` differ from its msgid's, a bidi control character in a
translation (right-to-left text is stored as written; the reader's app lays it out), a ``.mo``
that is not the compiled ``.po``. A dev tool: Babel's ``messages`` package is not needed at run time.
"""

from __future__ import annotations

import ast
import io
import re
import string
import sys
from datetime import datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from .i18n import DEFAULT, DOMAIN, LANGUAGES, LOCALES

ROOT = Path(__file__).resolve().parents[2]
# The packages that write sentences people read, relative to the repository's root.
SOURCES = (
    "kit/parentnet_kit",
    "services/events/events",
    "services/members/members",
    "services/listings/listings",
    "services/search/search",
    "services/conversations/conversations",
    "services/moderation/moderation",
    "gateway/gateway",
)
KEYWORDS = {"t": None, "tn": (1, 2)}
MARKER_IMPORT = re.compile(r"^from (parentnet_kit|)\.?i18n import .*\bt\b", re.M)
# Left-to-right/right-to-left marks and embeddings, overrides and isolates, Arabic letter mark.
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")
# Catalogue dates stay put, so that an update that changes no message changes no file.
STAMP = datetime(2026, 11, 30)


def po_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def marked(root: Path = ROOT) -> dict[str | tuple[str, str], list[str]]:
    """Every msgid the code marks (a ``(singular, plural)`` pair for ``tn``) → where, as ``path:line``."""
    found: dict[str | tuple[str, str], list[str]] = {}
    for source in SOURCES:
        for path in sorted((root / source).rglob("*.py")):
            if "tests" in path.relative_to(root).parts or not MARKER_IMPORT.search(path.read_text()):
                continue
            calls = _calls(path)
            for line, message, _comments, _context in extract_from_file("python", path, KEYWORDS):
                key = message if isinstance(message, str) else (message[0], message[1])
                if (key if isinstance(key, str) else key[0]) in calls:
                    found.setdefault(key, []).append(f"{path.relative_to(root)}:{line}")
    return found


def _calls(path: Path) -> set[str]:
    """The first arguments of the ``t(...)``/``tn(...)`` calls in a module: Babel's extractor also
    reads ``t["_id"]`` (a loop variable named ``t``) as a marked message."""
    return {
        node.args[0].value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in KEYWORDS
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def load(language: str) -> Catalog:
    with po_path(language).open("rb") as file:
        return read_po(file, locale=language, domain=DOMAIN)


def compiled(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def problems(root: Path = ROOT) -> list[str]:
    """Everything wrong between the code and the catalogues, one sentence each (empty: all well)."""
    wanted = marked(root)
    ids = {key if isinstance(key, str) else key[0]: key for key in wanted}
    found: list[str] = []
    for language in LANGUAGES:
        if language == DEFAULT:
            continue
        catalog = load(language)
        have = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
        for msgid in sorted(set(ids) - set(have)):
            found.append(f"{language}: {msgid!r} ({', '.join(wanted[ids[msgid]])}) is not in the catalogue")
        for msgid in sorted(set(have) - set(ids)):
            found.append(f"{language}: {msgid!r} is in the catalogue but no code marks it")
        for msgid, message in have.items():
            singular = message.id if isinstance(message.id, str) else message.id[0]
            forms = [message.string] if isinstance(message.string, str) else list(message.string)
            for form in forms:
                if not form:
                    found.append(f"{language}: {msgid!r} has no translation")
                elif _placeholders(form) - _placeholders(singular) - {"count"}:
                    found.append(f"{language}: {msgid!r} translated with other placeholders: {form!r}")
                elif BIDI_CONTROLS.search(form):
                    found.append(f"{language}: {msgid!r} has a bidi control character in {form!r}")
        mo = po_path(language).with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != compiled(catalog):
            found.append(f"{language}: {mo.name} is not {po_path(language).name} compiled: run update")
    return found


def update(root: Path = ROOT) -> None:
    """Bring every catalogue in step with the code (translations kept), then compile it."""
    wanted = marked(root)
    template = Catalog(domain=DOMAIN, creation_date=STAMP, fuzzy=False)
    for key, where in wanted.items():
        template.add(key, locations=[(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in where])
    for language in LANGUAGES:
        if language == DEFAULT:
            continue
        catalog = load(language)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog.revision_date = STAMP
        catalog.creation_date = STAMP
        catalog.fuzzy = False
        write(language, catalog)


def write(language: str, catalog: Catalog) -> None:
    """Write ``catalog`` as the language's ``.po`` (sorted, without locations) and its ``.mo``."""
    path = po_path(language)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        write_po(file, catalog, sort_output=True, omit_header=False, no_location=True, width=0)
    path.with_suffix(".mo").write_bytes(compiled(load(language)))


def main(argv: list[str]) -> int:
    if argv[1:2] == ["update"]:
        update()
    found = problems()
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
