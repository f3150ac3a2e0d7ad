"""Sentences in each reader's language: marking, the wire shape, negotiation, plurals, catalogues."""

from __future__ import annotations

import pickle
from datetime import date

import orjson
import pytest

from parentnet_kit import catalogues, i18n
from parentnet_kit.fields import FieldError, field_error, text


def test_a_marked_sentence_is_its_english_text_and_keeps_its_id_and_params() -> None:
    message = i18n.t("adults must be between 1 and {party_max}", party_max=20)
    assert message == "adults must be between 1 and 20"
    assert f"{message}!" == "adults must be between 1 and 20!"
    assert i18n.wire(message) == {
        "message": "adults must be between 1 and 20",
        "message_id": "adults must be between 1 and {party_max}",
        "params": {"party_max": 20},
    }
    assert pickle.loads(pickle.dumps(message)).params == {"party_max": 20}


def test_a_plain_sentence_travels_as_it_is() -> None:
    assert i18n.wire("written before the catalogues") == {"message": "written before the catalogues"}
    assert i18n.render({"message": "written before the catalogues"}, "zh") == "written before the catalogues"


def test_a_field_error_carries_what_the_gateway_translates() -> None:
    shaped = field_error(("title",), i18n.t("title must be 1 to 140 characters"), "REQUIRED")
    assert shaped["message"] == "title must be 1 to 140 characters"
    assert shaped["message_id"] == "title must be 1 to 140 characters"
    assert i18n.render(orjson.loads(orjson.dumps(shaped)), "fr") == "title doit faire de 1 à 140 caractères"
    errors: list[FieldError] = []
    text({"title": "x" * 300}, "title", 140, errors, required=True)
    assert i18n.render(errors[0].to_dict(), "zh") == "title 最多 140 个字符"


def test_each_language_of_the_network_has_its_sentence() -> None:
    cancelled = i18n.wire(i18n.t("“{title}” was cancelled.", title="Pique-nique"))
    assert i18n.render(cancelled, "en") == "“Pique-nique” was cancelled."
    assert i18n.render(cancelled, "fr") == "« Pique-nique » a été annulée."
    assert i18n.render(cancelled, "zh") == "“Pique-nique”已取消。"
    assert i18n.render(cancelled, "vi") == "“Pique-nique” đã bị hủy."
    assert i18n.render(cancelled, "ar") == "أُلغيت «Pique-nique»."
    assert i18n.render(cancelled, "bn") == "“Pique-nique” বাতিল হয়েছে।"


def test_right_to_left_user_text_goes_in_byte_for_byte() -> None:
    title = "نزهة في الحديقة"
    for language in i18n.LANGUAGES:
        rendered = i18n.render(i18n.wire(i18n.t("“{title}” was cancelled.", title=title)), language)
        assert title in rendered
        assert not catalogues.BIDI_CONTROLS.search(rendered)


def test_plural_forms_follow_each_language() -> None:
    def left(count: int, language: str) -> str:
        return i18n.render(i18n.wire(i18n.tn("only {count} place left", "only {count} places left", count)), language)

    assert left(1, "en") == "only 1 place left"
    assert left(3, "en") == "only 3 places left"
    assert left(1, "fr") == "plus que 1 place"
    assert left(2, "fr") == "plus que 2 places"
    assert left(3, "zh") == "只剩 3 个名额"
    # Arabic has six forms: 1, 2, 3-10 and 11-99 read differently.
    assert left(1, "ar") == "لم يتبقَّ إلا مكان واحد"
    assert left(2, "ar") == "لم يتبقَّ إلا مكانان"
    assert left(5, "ar") == "لم يتبقَّ إلا 5 أماكن"
    assert left(11, "ar") == "لم يتبقَّ إلا 11 مكانًا"


def test_numbers_and_dates_are_written_as_the_language_writes_them() -> None:
    long = i18n.wire(i18n.t("{name} must be at most {limit} characters", name="text", limit=2000))
    assert i18n.render(long, "en") == "text must be at most 2,000 characters"
    assert i18n.render(long, "fr") == "text doit faire au plus 2\u202f000 caractères"
    day = i18n.wire(i18n.t("“{title}” on {day}: the rota changed.", title="École", day=date(2026, 12, 5)))
    assert day["params"]["day"] == {"iso_date": "2026-12-05"}
    assert i18n.render(day, "fr") == "« École » le 5 déc. 2026 : le planning a changé."
    assert i18n.render(day, "en") == "“École” on Dec 5, 2026: the rota changed."


def test_a_message_whose_params_do_not_fit_shows_its_english() -> None:
    broken = {"message": "title must be ...", "message_id": "{name} must be text", "params": {}}
    assert i18n.render(broken, "fr") == "title must be ..."


@pytest.mark.parametrize(
    ("preferences", "language"),
    [
        ((["zh-CN"],), "zh"),
        ((["zh-Hans-CN", "en"],), "zh"),
        ((["fr-CA"],), "fr"),
        ((["de-DE", "vi"],), "vi"),
        ((["de"], ["bn-BD"]), "bn"),
        ((["AR"],), "ar"),
        ((None, [], ["es"]), "en"),
        ((["en-GB"], ["zh"]), "en"),
    ],
)
def test_negotiation_takes_the_first_language_the_network_has(preferences: tuple, language: str) -> None:
    assert i18n.negotiate(*preferences) == language


def test_accept_language_is_read_by_weight_then_order() -> None:
    header = "de;q=0.9, zh-CN, fr;q=0.8, *;q=0.5, ar;q=0"
    assert i18n.accept_language(header) == ["zh-CN", "de", "fr"]
    assert i18n.negotiate(i18n.accept_language(header)) == "zh"
    assert i18n.negotiate(i18n.accept_language("de, es;q=0.5")) == "en"
    assert i18n.match(i18n.accept_language("")) is None


def test_every_marked_sentence_is_in_every_catalogue_and_nothing_else() -> None:
    assert catalogues.problems() == []


def test_a_sentence_marked_without_its_translation_is_found(tmp_path, monkeypatch) -> None:
    package = tmp_path / "kit" / "parentnet_kit"
    package.mkdir(parents=True)
    (package / "new.py").write_text(
        'from .i18n import t\n\nNEW = t("A sentence nobody translated yet.")\nROWS = [t["n"] for t in []]\n'
    )
    monkeypatch.setattr(catalogues, "SOURCES", ("kit/parentnet_kit",))
    assert list(catalogues.marked(tmp_path)) == ["A sentence nobody translated yet."]
    found = catalogues.problems(tmp_path)
    assert any("'A sentence nobody translated yet.'" in p and "not in the catalogue" in p for p in found)
    assert any("no code marks it" in p for p in found)


def test_a_marked_word_inside_a_sentence_is_translated_with_it() -> None:
    shaped = orjson.loads(orjson.dumps(i18n.wire(i18n.t("No such {what}.", what=i18n.t("member")))))
    assert shaped["message"] == "No such member."
    assert i18n.render(shaped, "fr") == "Introuvable : membre."
    assert i18n.render(shaped, "zh") == "找不到：成员。"


def test_a_sentence_the_extractor_loses_or_a_package_it_never_reads_is_found(tmp_path) -> None:
    """Babel's extractor loses its way after a variable named ``t`` and reads only ``SOURCES``: a
    sentence marked there would silently stay English in every language."""
    from parentnet_kit import catalogues

    package = tmp_path / "services" / "conversations" / "conversations"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "store.py").write_text(
        "from parentnet_kit.i18n import t\n\n"
        "first = [t for t in range(3)]\n"
        "sorted_ = sorted(first, key=lambda t: t)\n"
        'SEEN = t("Join the group to reply.")\n'
    )
    newcomer = tmp_path / "services" / "newcomer" / "newcomer"
    newcomer.mkdir(parents=True)
    (newcomer / "__init__.py").write_text("")
    found = catalogues._unextracted(tmp_path, set())  # as if the extractor had lost its way there
    assert "services/newcomer/newcomer is not among the sources the catalogues are extracted from" in found
    store = "services/conversations/conversations/store.py"
    assert f"{store}: t('Join the group to reply.') is marked but the extractor missed it" in found
    extracted = {key if isinstance(key, str) else key[0] for key in catalogues.marked(tmp_path)}
    assert not [p for p in catalogues._unextracted(tmp_path, extracted) if "Join the group" in p]
