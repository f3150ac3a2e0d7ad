"""Texts members write: control characters refused, right-to-left letters kept."""

import pytest

from parentnet_kit.fields import control_characters, text


@pytest.mark.parametrize(
    "value",
    [
        "a\x00b",
        "bell\x07",
        "\x1b[31mred",
        "form\x0cfeed",
        "del\x7f",
        "c1\x85",
        "c1\x9b",
        "\u202eevil",
        "\u202a",
        "\u2066x\u2069",
    ],
)
def test_control_characters_are_invalid_on_the_field(value):
    refused = control_characters(("text",), value)
    assert refused is not None and refused.field == ("text",) and refused.code == "INVALID"


@pytest.mark.parametrize(
    "value",
    [
        "Moi ! مرحبا",
        "שלום לכולם",
        "一起去公园吗？",
        "line\nnext\tcolumn",
        "windows\r\nline",
        "আমি আসছি",
        "Đi công viên nhé",
    ],
)
def test_right_to_left_letters_tabs_and_newlines_stay(value):
    assert control_characters(("text",), value) is None
    assert text({"text": value}, "text", 100, [], required=True) == value.strip()
