from conversations import domain


def test_a_nearby_question_reaches_cells_within_its_radius_only():
    question = {"scope": "nearby", "city": "saint-denis", "cell": {"lat": 48.9362, "lon": 2.3574}, "radius_km": 3.0}
    assert domain.reaches(question, "saint-denis", {"lat": 48.9182, "lon": 2.3574})  # 2 km south
    assert domain.reaches(question, "paris", {"lat": 48.9182, "lon": 2.3574})  # another city, same streets
    assert not domain.reaches(question, "annecy", {"lat": 45.8992, "lon": 6.1294})
    assert not domain.reaches(question, "saint-denis", None)


def test_a_city_question_reaches_its_city_only():
    question = {"scope": "city", "city": "annecy", "cell": {"lat": 45.9, "lon": 6.12}, "radius_km": 3.0}
    assert domain.reaches(question, "annecy", None)
    assert not domain.reaches(question, "paris", {"lat": 45.9, "lon": 6.12})


def test_the_tiles_around_a_cell_hold_everything_within_five_km():
    around = set(domain.tiles_around(48.9362, 2.3574))
    for dlat, dlon in ((0.045, 0), (-0.045, 0), (0, 0.068), (0, -0.068)):  # 5 km each way at 49°N
        row, column = domain.tile(48.9362 + dlat, 2.3574 + dlon)
        assert domain.tile_key(row, column) in around


def test_question_input_is_checked_field_by_field():
    clean, errors = domain.validate_question({"text": "  pédiatre près du canal ?  ", "radius_km": 2})
    assert clean == {"text": "pédiatre près du canal ?", "scope": "nearby", "radius_km": 2.0} and errors == []
    _, errors = domain.validate_question({"text": "", "scope": "world", "radius_km": 50})
    assert sorted((e.field, e.code) for e in errors) == [
        (("radius_km",), "OUT_OF_RANGE"),
        (("scope",), "INVALID"),
        (("text",), "REQUIRED"),
    ]


def test_one_conversation_per_pair_and_subject():
    listing = {"type": "listing", "id": "l1"}
    assert domain.conversation_id("a", "b", None) == domain.conversation_id("b", "a", None)
    assert domain.conversation_id("a", "b", listing) != domain.conversation_id("a", "b", None)


def test_right_to_left_text_is_kept_as_written():
    text, errors = domain.validate_text({"text": "مرحبا، هل الطبيب متاح؟"}, "text", 100)
    assert text == "مرحبا، هل الطبيب متاح؟" and errors == []


def test_control_characters_in_what_members_write_are_refused_on_the_field():
    from conversations import domain

    _, errors = domain.validate_thread({"title": "Sortie\u202e", "body": "a\x00b"})
    assert [(e.field, e.code) for e in errors] == [(("title",), "INVALID"), (("body",), "INVALID")]
    _, errors = domain.validate_text({"text": "\x1b[31mrouge"}, "text", domain.MESSAGE_MAX)
    assert [(e.field, e.code) for e in errors] == [(("text",), "INVALID")]
    kept, errors = domain.validate_text({"text": "Moi ! مرحبا"}, "text", domain.REPLY_MAX)
    assert (kept, errors) == ("Moi ! مرحبا", [])
    _, errors = domain.validate_text({"text": "x" * (domain.MESSAGE_MAX + 1)}, "text", domain.MESSAGE_MAX)
    assert [(e.field, e.code) for e in errors] == [(("text",), "TOO_LONG")]
    _, errors = domain.validate_text({"text": "fin\x85"}, "text", domain.REPLY_MAX)  # NEL: str.strip drops it
    assert [(e.field, e.code) for e in errors] == [(("text",), "INVALID")]
