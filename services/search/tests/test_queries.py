"""Filters, facets, map clusters and suggestions, on real Elasticsearch fed over RabbitMQ."""

from __future__ import annotations

import json
import unicodedata

import pytest
from nameko.testing.services import entrypoint_hook
from test_indexing import EIFFEL, outing

from parentnet_kit.envelope import Event
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.testing import wait_for
from search import queries
from search.service import SearchService


def call(container, method, **kwargs):
    with entrypoint_hook(container, method) as hook:
        return hook(**kwargs)


def published(outing_id, title, lat, lon, starts, **extra) -> Event:
    event = outing(outing_id, 1, title, lat, lon)
    event.data.update(starts_at=starts, ends_at=starts.replace("T09", "T18"), **extra)
    return event


@pytest.fixture
def container(container_factory, service_config):
    container = container_factory(SearchService, service_config)
    container.start()
    publisher = EventPublisher(service_config["AMQP_URI"])
    for event in (
        published(
            "zoo", "Les girafes du zoo", 48.8560, 2.2990, "2030-01-03T09:00:00Z", category="zoo", age_min=2, age_max=8
        ),
        published(
            "babies",
            "Éveil des tout-petits",
            48.8570,
            2.2960,
            "2030-01-01T09:00:00Z",
            category="playgroup",
            age_min=0,
            age_max=3,
        ),
        published(
            "parents", "Café des parents", 48.8580, 2.2930, "2030-01-02T09:00:00Z", category="cafe", with_children=False
        ),
        published(
            "pool",
            "Piscine en famille",
            48.8500,
            2.3000,
            "2030-01-04T09:00:00Z",
            category="pool",
            cost={"amount": "4.50", "currency": "EUR"},
            capacity=10,
            attendance={"families": 10, "adults": 12, "children": 15, "waitlist": 2, "places_left": 0},
        ),
        published("annecy", "Lac d'Annecy", 45.8992, 6.1294, "2030-01-05T09:00:00Z", category="park"),
        Event(
            "contact_recommended",
            "listings",
            "c1",
            1,
            "paris",
            {
                "id": "c1",
                "kind": "paediatrician",
                "name": "Docteur Giraud",
                "city": "paris",
                "location": {"lat": 48.857, "lon": 2.297},
                "languages": ["fr"],
                "recommendations": 3,
                "phone": "+33 1 00 00 00 00",
            },
        ),
        Event(
            "group_created",
            "members",
            "g1",
            1,
            "paris",
            {"id": "g1", "name": "Parents du Gros-Caillou", "city": "paris", "visibility": "public"},
        ),
        Event(
            "group_created",
            "members",
            "g2",
            1,
            "paris",
            {"id": "g2", "name": "Groupe privé Girafe", "city": "paris", "visibility": "private"},
        ),
    ):
        publisher.publish(event)
    publisher.close()

    def ready():
        # Each index refreshes on its own: wait until every kind the tests read is searchable.
        page = call(container, "nearby_outings", near=EIFFEL, radius_km=5, first=10)
        kinds = {
            s["kind"] for text in ("Gros", "Docteur") for s in call(container, "suggest", text=text)["suggestions"]
        }
        # Annecy's outing too: the Paris page counts only the four before it.
        far = {(s["kind"], s["id"]) for s in call(container, "suggest", text="lac")["suggestions"]}
        return page["total"] == 4 and {"group", "contact"} <= kinds and ("outing", "annecy") in far

    wait_for(ready, timeout=15, what="the documents searchable")
    return container


def ids(page):
    return [e["node"]["id"] for e in page["edges"]]


def test_filters_and_facets(container):
    near = {"near": EIFFEL, "radius_km": 5, "first": 10}
    assert ids(call(container, "nearby_outings", **near, filters={"text": "girafes"})) == ["zoo"]
    fits = call(container, "nearby_outings", **near, filters={"child_ages": [2, 5]})
    assert sorted(ids(fits)) == ["pool", "zoo"]  # the babies' group stops at 3; the café is without children
    assert sorted(ids(call(container, "nearby_outings", **near, filters={"free_only": True}))) == [
        "babies",
        "parents",
        "zoo",
    ]
    assert "pool" not in ids(call(container, "nearby_outings", **near, filters={"min_places_left": 1}))
    soonest = call(container, "nearby_outings", **near, sort="start")
    assert ids(soonest) == ["babies", "parents", "zoo", "pool"]
    assert all(e["distance_km"] < 1.5 for e in soonest["edges"])

    only_zoo = call(container, "nearby_outings", **near, filters={"categories": ["zoo"]})
    assert ids(only_zoo) == ["zoo"] and only_zoo["total"] == 1
    # Facets count every category of the search, not just the chosen one, so a screen can offer them.
    assert {f["category"]: f["count"] for f in only_zoo["facets"]} == {"zoo": 1, "playgroup": 1, "cafe": 1, "pool": 1}

    bad = call(container, "nearby_outings", **near, filters={"child_ages": [40], "starts_after": "soon"}, sort="random")
    assert {tuple(e["field"]) for e in bad["errors"]} == {("filter.child_ages",), ("filter.starts_after",), ("sort",)}


def test_map_clusters_count_what_is_in_the_bounds(container):
    paris = {"north": 48.90, "south": 48.80, "west": 2.25, "east": 2.42}
    coarse = call(container, "map_clusters", bounds=paris, zoom=10, kinds=["outings"])
    assert sum(c["count"] for c in coarse["clusters"]) == 4 and len(coarse["clusters"]) == 1
    centre = coarse["clusters"][0]["centre"]
    assert 48.85 < centre["lat"] < 48.86 and 2.29 < centre["lon"] < 2.30
    fine = call(container, "map_clusters", bounds=paris, zoom=18, kinds=["outings"])
    assert sum(c["count"] for c in fine["clusters"]) == 4 and len(fine["clusters"]) == 4
    wrong = call(container, "map_clusters", bounds={**paris, "north": 48.7}, zoom=25)
    assert {tuple(e["field"]) for e in wrong["errors"]} == {("bounds.north",), ("zoom",)}


def test_suggestions_as_you_type_across_kinds(container):
    found = call(container, "suggest", text="gir", near=EIFFEL)["suggestions"]
    assert {(s["kind"], s["id"]) for s in found} >= {("outing", "zoo"), ("contact", "c1")}
    assert ("group", "g2") not in {(s["kind"], s["id"]) for s in found}  # private groups are never indexed
    assert call(container, "suggest", text="anne")["suggestions"][0] == {
        "kind": "place",
        "id": "annecy",
        "text": "Annecy",
        "city": "annecy",
        "owner_id": None,
        "score": None,
    }
    assert call(container, "suggest", text="éveil")["suggestions"][0]["id"] == "babies"
    # ICU folding on both sides: combining accents as typed; a typo before the word being typed.
    assert call(container, "suggest", text=unicodedata.normalize("NFD", "Éveil"))["suggestions"][0]["id"] == "babies"
    assert call(container, "suggest", text="Doctuer Gir")["suggestions"][0]["id"] == "c1"
    # Nothing near matches: farther matches are suggested rather than none.
    far = call(container, "suggest", text="lac", near=EIFFEL)["suggestions"]
    assert ("outing", "annecy") in {(s["kind"], s["id"]) for s in far}


def test_text_search_in_every_language(container_factory, service_config):
    container = container_factory(SearchService, service_config)
    container.start()
    publisher = EventPublisher(service_config["AMQP_URI"])
    for outing_id, title, language in (
        ("zh", "周末公园游乐场亲子活动", "zh"),
        ("vi", "Chợ nổi Cái Răng với trẻ em", "vi"),
        ("fr", "L'éveil musical des enfants", "fr"),
        ("en", "Storytelling for toddlers", "en"),
        ("es", "Cuentacuentos para niños en el parque", "es"),
        ("bn", "শিশুদের জন্য পার্কে খেলা", "bn"),
        ("ur", "بچوں کے لیے کھیل کا میدان", "ur"),
    ):
        event = outing(outing_id, 1, title, 48.856, 2.298)
        event.data["language"] = language
        publisher.publish(event)
    publisher.close()

    def found(text):
        page = call(container, "nearby_outings", near=EIFFEL, radius_km=5, first=10, filters={"text": text})
        return [e["node"]["id"] for e in page["edges"]]

    wait_for(
        lambda: call(container, "nearby_outings", near=EIFFEL, radius_km=5, first=10)["total"] == 7,
        15,
        what="indexed",
    )
    assert found("游乐场") == ["zh"]  # CJK bigrams: a word inside a sentence without spaces
    assert found("公园") == ["zh"]
    assert found("cho noi") == ["vi"]  # typed without the diacritics
    assert found("enfant") == ["fr"]  # French stemming
    assert found("eveil") == ["fr"]
    assert found("toddler") == ["en"]  # English plural
    assert found("parques nino") == ["es"]  # Spanish stemming, ñ folded
    assert found("শিশু") == ["bn"]  # Bengali stemming: শিশুদের is শিশু + a case ending
    assert found("كھيل") == ["ur"]  # Urdu typed on an Arabic keyboard (kaf for keheh)
    assert found("ＰＡＲＱＵＥ") == ["es"]  # full-width letters


def test_the_three_misses_of_issue_22_find_their_outing(container_factory, service_config):
    """Text in NFD, words spread over title, venue and description, Arabic typed without hamza."""
    container = container_factory(SearchService, service_config)
    container.start()
    publisher = EventPublisher(service_config["AMQP_URI"])
    for outing_id, title, description, venue, language in (
        ("gouter", "Goûter au Công viên Lê Văn Tám", "", "Công viên Lê Văn Tám", "fr"),
        ("picnic", "Grand pique-nique des familles", "Apportez une nappe et des crêpes", "Square Wilson", "fr"),
        ("kids", "نزهة الأطفال في الحديقة", "", "حديقة الأزهر", "ar"),
        ("other", "Atelier peinture", "Pinceaux fournis", "Maison Wilson", "fr"),
    ):
        event = outing(outing_id, 1, title, 48.856, 2.298)
        event.data.update(description=description, venue_name=venue, language=language)
        publisher.publish(event)
    publisher.close()

    def found(text):
        page = call(container, "nearby_outings", near=EIFFEL, radius_km=5, first=10, filters={"text": text})
        return sorted(e["node"]["id"] for e in page["edges"])

    wait_for(
        lambda: call(container, "nearby_outings", near=EIFFEL, radius_km=5, first=10)["total"] == 4,
        15,
        what="indexed",
    )
    nfd = unicodedata.normalize("NFD", "Goûter Công viên")
    assert nfd != "Goûter Công viên"
    assert found(nfd) == ["gouter"]
    assert found("Goûter Công viên") == ["gouter"]
    assert found("gouter cong vien") == ["gouter"]
    assert found("pique-nique Wilson") == ["picnic"]  # title + venue
    assert found("pique-nique crêpes") == ["picnic"]  # title + description
    assert found("pique-nique Wilson peinture") == []  # every word must be in the one outing
    assert found("الاطفال") == ["kids"]
    assert found("الأطفال") == ["kids"]
    assert found("اطفال") == ["kids"]  # Arabic stemming: the article is not needed
    # As users expect from a search box: a phrase in quotes, a word being typed, a typo.
    assert found('"pique-nique des familles"') == ["picnic"]
    assert found('"familles des pique-nique"') == []
    assert found("pique-niq") == ["picnic"]
    assert found("piqu-nique Wilsn") == ["picnic"]


def test_suggestions_rank_the_nearer_first(container_factory, service_config):
    container = container_factory(SearchService, service_config)
    container.start()
    publisher = EventPublisher(service_config["AMQP_URI"])
    lyon, paris = {"lat": 45.7772, "lon": 4.8553}, {"lat": 48.8799, "lon": 2.3946}
    publisher.publish(published("lyon", "Parc de la Tête d'Or", lyon["lat"], lyon["lon"], "2030-01-03T09:00:00Z"))
    publisher.publish(published("paris", "Parc des Buttes", paris["lat"], paris["lon"], "2030-01-03T09:00:00Z"))
    publisher.close()

    def both():
        found = call(container, "suggest", text="parc")["suggestions"]
        return {s["id"] for s in found if s["kind"] == "outing"} >= {"lyon", "paris"}

    wait_for(both, timeout=10, what="both outings suggested")
    for near, first in ((lyon, "lyon"), (paris, "paris")):
        outings = [
            s["id"] for s in call(container, "suggest", text="parc", near=near)["suggestions"] if s["kind"] == "outing"
        ]
        assert outings[0] == first, (near, outings)


def test_quotes_make_phrases_and_an_open_quote_is_ignored():
    quoted = queries.text_query('"pique-nique des familles" Wilson', queries.TEXT_FIELDS["outings"])
    assert quoted["bool"]["must"][0]["multi_match"]["query"] == "pique-nique des familles"
    assert "Wilson" in json.dumps(quoted["bool"]["should"])
    open_quote = queries.text_query('"pique-nique', queries.TEXT_FIELDS["outings"])
    assert open_quote["bool"]["must"] == [] and "pique-nique" in json.dumps(open_quote["bool"]["should"])


def test_a_search_text_is_bounded_in_words_and_named_when_it_is_not():
    ten = " ".join(["enfant"] * queries.WORDS_MAX)
    assert queries.validate_filter({"text": ten}, "outings")[1] == []
    errors = queries.validate_filter({"text": ten + " parc"}, "outings")[1]
    assert [(e["field"], e["code"]) for e in errors] == [(["filter.text"], "TOO_LONG")]
