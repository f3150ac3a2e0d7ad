"""A cursor is what a page returned: base64 JSON of [sort value, id]; anything else is none."""

from __future__ import annotations

import base64
import json

from search.queries import decode_cursor, encode_cursor


def doctored(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def test_a_cursor_from_a_page_decodes_and_doctored_ones_do_not():
    assert decode_cursor(encode_cursor([1.25, "o1"])) == [1.25, "o1"]
    assert decode_cursor(encode_cursor([1905000000000, "o1"])) == [1905000000000, "o1"]
    for values in (["far", 3], [1.5, {"id": 1}], [None, "x"], [True, "x"], [1.5], "x", {"a": 1}):
        assert decode_cursor(doctored(values)) is None, values
    assert decode_cursor("not base64!") is None
