"""The schema package's shape (issue 21): sibling modules over one base, put together by one
module. A schema module that imports a sibling, or grows past MAX_LINES, fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SCHEMA = Path(__file__).resolve().parents[1] / "gateway" / "schema"
ASSEMBLER = "assemble"
BASE = "base"
MAX_LINES = 450


def _modules() -> list[Path]:
    return sorted(p for p in SCHEMA.rglob("*.py"))


def _context(path: Path) -> str:
    """The sibling a file belongs to: its module name, or ``base`` for the base package's files."""
    relative = path.relative_to(SCHEMA)
    return relative.parts[0] if len(relative.parts) > 1 else path.stem


def _imported_siblings(source: str, relative: Path) -> set[str]:
    """Every schema sibling a file (``relative`` to the package) imports, anywhere in it (in
    functions too), relatively or by its absolute ``gateway.schema.<name>`` path."""
    package = ("gateway", "schema", *relative.parent.parts)
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                parts = [*base, *(node.module.split(".") if node.module else [])]
            else:
                parts = (node.module or "").split(".")
            targets = [parts] if node.module else [[*parts, alias.name] for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [alias.name.split(".") for alias in node.names]
        else:
            continue
        for target in targets:
            if target[:2] == ["gateway", "schema"] and len(target) > 2:
                found.add(target[2])
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SCHEMA)))
def test_a_schema_module_imports_no_sibling_but_the_base(path: Path) -> None:
    context = _context(path)
    if context == ASSEMBLER:
        return
    siblings = _imported_siblings(path.read_text(), path.relative_to(SCHEMA)) - {BASE, context}
    assert not siblings, (
        f"{path.relative_to(SCHEMA)} imports {sorted(siblings)}: name another module's type by its path "
        '(graphene.Field("gateway.schema.members.Member")) or move what both need into base/'
    )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SCHEMA)))
def test_a_schema_module_stays_small(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, (
        f"{path.relative_to(SCHEMA)} is {lines} lines (at most {MAX_LINES}): split it by what it holds"
    )


def test_the_check_sees_a_sibling_import() -> None:
    """The check itself: a sibling imported relatively, absolutely or in a function is seen, and
    from inside base/ ``from .. import x`` names the sibling x."""
    source = (
        "from .members import Member\nfrom . import outings\nimport gateway.schema.groups\n"
        "def f():\n    from gateway.schema.trips import Trip\n    from .base import enum\n"
    )
    assert _imported_siblings(source, Path("probe.py")) == {"members", "outings", "groups", "trips", "base"}
    assert _imported_siblings("from .. import coop\nfrom .relay import Node\n", Path("base/probe.py")) == {
        "coop",
        "base",
    }
