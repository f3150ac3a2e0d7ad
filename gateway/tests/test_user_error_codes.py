"""``UserError.code`` is an enum: every code a service or the gateway puts in ``userErrors``
must be one of its values (an unknown one would be sent as INVALID and logged)."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

from gateway.schema.base import USER_ERROR_CODES, error_code, user_errors

ROOT = Path(__file__).resolve().parents[2]
# Where userErrors codes are made: each service's package, the kit's field helpers, the
# gateway's domain modules (not its transport, whose codes are top-level extensions.code).
SOURCES = [
    *ROOT.glob("services/*/[a-z]*/*.py"),
    *ROOT.glob("kit/parentnet_kit/*.py"),
    # (base.py makes top-level BAD_USER_INPUT errors, an extensions.code, not a userErrors code)
    *(p for p in ROOT.glob("gateway/gateway/schema/*.py") if p.name != "base.py"),
]
ERROR_MAKERS = {"error", "field_error", "FieldError", "_error"}


def _strings(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def emitted_codes() -> dict[str, str]:
    """Code -> the file that makes it: the last argument of ``error(...)``-like calls, a ``code``
    variable's values, and ``"code": ...`` in dicts."""
    found: dict[str, str] = {}
    for path in SOURCES:
        if "tests" in path.parts or path.parent.name == "es-plugin":
            continue
        tree = ast.parse(path.read_text())
        candidates: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in ERROR_MAKERS and len(node.args) >= 3:
                    candidates |= _strings(node.args[-1])
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "code" for t in node.targets):
                candidates |= _strings(node.value)
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "code" and value is not None:
                        candidates |= _strings(value)
        for code in candidates:
            if code.isupper() and code.replace("_", "").isalpha():
                found.setdefault(code, str(path.relative_to(ROOT)))
    return found


def test_the_scan_finds_the_codes_it_should():
    codes = emitted_codes()
    assert {"REQUIRED", "OUT_OF_RANGE", "ALREADY_RESERVED", "NOT_AVAILABLE", "ALREADY_REQUESTED", "STALE"} <= set(codes)


def test_every_code_the_services_emit_is_in_the_enum():
    missing = {code: where for code, where in emitted_codes().items() if code not in USER_ERROR_CODES}
    assert missing == {}, f"add these to USER_ERROR_CODES in gateway/schema/base.py: {missing}"


def test_an_unknown_code_is_sent_as_invalid_and_logged(caplog):
    with caplog.at_level(logging.WARNING):
        errors = user_errors([{"field": ["title"], "message": "new rule", "code": "SOMETHING_NEW"}], ("input",))
    assert errors == [{"field": ["input", "title"], "message": "new rule", "code": "INVALID"}]
    assert "SOMETHING_NEW" in caplog.text
    assert error_code("FULL") == "FULL"
