"""Which language analysis a text gets (pure)."""

from __future__ import annotations

import unicodedata

from test_documents import outing_event

from search.documents import write_for
from search.languages import is_latin, languages_of, per_language


def test_the_script_decides_and_the_declared_language_says_which_latin_one():
    assert languages_of("Piscine en famille", ["fr"]) == ["fr"]
    assert languages_of("Piscine en famille", []) == []  # no guess: the folded field still finds it
    assert languages_of("Chợ nổi Cái Răng", []) == ["vi"]  # Vietnamese marks
    assert languages_of(unicodedata.normalize("NFD", "Chợ nổi"), []) == ["vi"]
    assert languages_of("نزهة الأطفال", ["fr"]) == ["ar"]
    assert languages_of("بچوں کے لیے", []) == ["ur", "ar"]  # Urdu letters; Arabic's analysis too
    assert languages_of("شیر", ["ur"]) == ["ur", "ar"]
    assert languages_of("শিশুদের জন্য", []) == ["bn"]
    assert languages_of("周末公园", ["zh"]) == []  # the folded field's bigrams are Chinese's analysis
    assert languages_of("Goûter الأطفال", ["fr"]) == ["fr", "ar"]  # mixed scripts: both


def test_copies_per_field_for_the_index():
    doc = {"title": "Goûter", "description": "للأطفال", "venue_name": None}
    assert per_language(doc, ("title", "description", "venue_name"), "fr-FR") == {
        "fr": {"title": "Goûter"},
        "ar": {"description": "للأطفال"},
    }


def test_outing_documents_carry_their_language_copies():
    write = write_for(outing_event(title="Éveil musical", language="fr"))
    assert write.document["lang"] == {"fr": {"title": "Éveil musical"}}
    assert "lang" not in write_for(outing_event(title="Piscine", language=None)).document


def test_typo_tolerance_is_for_latin_words_only():
    assert is_latin("piscine") and is_latin("Công") and is_latin("pique-nique")
    assert not is_latin("الاطفال") and not is_latin("শিশু") and not is_latin("公园") and not is_latin("123")
