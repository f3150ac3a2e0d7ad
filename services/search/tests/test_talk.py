"""Parents' talk in search (issue 19): what a viewer finds among threads, replies and questions,
in every language the outing search supports, and the index rebuilt from conversations' export."""

from __future__ import annotations

import io
from typing import Any

from nameko.testing.services import entrypoint_hook
from test_indexing import block, membership

from parentnet_kit.envelope import Event
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.testing import wait_for
from search import talk
from search.backfill import backfill
from search.dependencies import make_client
from search.indices import Indices
from search.service import SearchService

AT = "2026-11-30T10:00:00.000Z"


def thread(thread_id: str, group: str, visibility: str, title: str, body: str = "", version: int = 1, **more) -> Event:
    data = {
        "id": thread_id,
        "group_id": group,
        "author_id": more.pop("author_id", "ann"),
        "kind": "discussion",
        "title": title,
        "body": body,
        "pinned": False,
        "locked": False,
        "answer": None,
        "created_at": AT,
        "version": version,
        "visibility": visibility,
        **more,
    }
    return Event(
        "thread_posted" if version == 1 else "thread_updated", "conversations", thread_id, version, "paris", data
    )


def reply(reply_id: str, thread_id: str, group: str, text: str, version: int = 1, **more) -> Event:
    data = {
        "id": reply_id,
        "thread_id": thread_id,
        "group_id": group,
        "author_id": "bob",
        "text": text,
        "n": 1,
        "created_at": AT,
        "version": version,
        "visibility": "public",
        **more,
    }
    return Event("reply_posted" if version == 1 else "reply_updated", "conversations", reply_id, version, "paris", data)


def question(question_id: str, text: str, city: str = "saint-denis") -> Event:
    data = {
        "id": question_id,
        "asker_id": "mei",
        "city": city,
        "scope": "city",
        "radius_km": 3.0,
        "text": text,
        "created_at": AT,
        "version": 1,
        "cell": {"lat": 48.93, "lon": 2.36},
    }
    return Event("question_asked", "conversations", question_id, 1, city, data)


def test_a_private_groups_thread_is_kept_for_its_members_and_latin_text_gets_french_and_english_analysis():
    private = talk.document_for(thread("t1", "g", "private", "Balade à cheval", "Rendez-vous au parc"))
    assert private["visibility"] == "private" and private["hidden"] is False
    assert private["lang"]["fr"] == {"title": "Balade à cheval", "text": "Rendez-vous au parc"}
    assert private["lang"]["en"]["title"] == "Balade à cheval"
    asked = talk.document_for(question("q1", "哪里有好的儿科医生？"))
    assert "cell" not in asked and asked["city"] == "saint-denis" and "lang" not in asked
    hidden = talk.document_for(reply("r1", "t1", "g", "texte", version=2, hidden=True))
    assert hidden == {"id": "r1", "version": 2, "kind": "reply", "hidden": True}


def search(container: Any, text: str, **kwargs: Any) -> dict[str, Any]:
    with entrypoint_hook(container, "discussions") as call:
        return call(text=text, **kwargs)


def ids(page: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in page["edges"]]


def test_discussions_are_found_in_each_language_by_whom_may_see_them(container_factory, service_config):
    container = container_factory(SearchService, service_config)
    container.start()
    publisher = EventPublisher(service_config["AMQP_URI"])
    for event in (
        thread("t-fr", "g-pub", "public", "Balade à cheval dimanche", "Qui vient avec les enfants ?"),
        thread("t-priv", "g-priv", "private", "Balade à cheval entre nous"),
        thread("t-eve", "g-pub", "public", "Balade à cheval aussi", author_id="eve"),
        question("q-zh", "哪里有好的儿科医生？"),
        question("q-ar", "أين أجد طبيب أطفال للأطفال الصغار؟"),
        reply("r-1", "t-fr", "g-pub", "Les poussettes passent par le canal"),
        block("eve", "viewer", 1, True),
        membership("g-priv", "friend"),
        membership("g-priv", "viewer"),
    ):
        publisher.publish(event)

    # One queue, written in order, but each index (threads, blocks, questions) refreshes on its own:
    # wait for each effect asserted below.
    friend = {"viewer_id": "friend", "viewer_groups": ["g-priv"]}
    wait_for(lambda: len(ids(search(container, "cheval", **friend))) == 3, 15, what="the threads")
    wait_for(lambda: "t-eve" not in ids(search(container, "cheval", viewer_id="viewer")), 15, what="the block")
    wait_for(lambda: search(container, "poussette")["total"] == 1, 15, what="the reply")
    wait_for(
        lambda: (
            search(container, "儿科医生", question_city="saint-denis")["total"]
            + search(container, "اطفال", question_city="saint-denis")["total"]
            == 2
        ),
        15,
        what="the questions",
    )
    # A French word's stem: "chevaux" is "cheval" to French analysis (two edits: no typo match).
    assert set(ids(search(container, "chevaux", viewer_id="outsider"))) == {"t-fr", "t-eve"}
    # A private group's thread for its members only; to anyone else it is not even counted.
    member = search(container, "cheval", viewer_id="viewer", viewer_groups=["g-priv"])
    # The caller's fresh list without the group (the viewer just left it): hidden, though the copy lags.
    outsider = search(container, "cheval", viewer_id="viewer", viewer_groups=[])
    assert set(ids(member)) == {"t-fr", "t-priv"} and member["total"] == 2
    assert ids(outsider) == ["t-fr"] and outsider["total"] == 1  # and eve, who blocked viewer, is gone
    assert ids(search(container, "儿科医生", question_city="saint-denis")) == ["q-zh"]
    assert ids(search(container, "اطفال", question_city="saint-denis")) == ["q-ar"]  # Arabic stemming: للأطفال
    # A question is for the parents of its city: not found from Annecy, nor signed out.
    assert search(container, "儿科医生", question_city="annecy")["total"] == 0
    assert search(container, "儿科医生")["total"] == 0
    assert ids(search(container, "poussette", kinds=["reply"])) == ["r-1"]
    assert set(ids(search(container, "cheval", group_id="g-pub", viewer_id="x"))) == {"t-fr", "t-eve"}

    # Paged: the cursor of one page leads to the next, nothing twice.
    first = search(container, "cheval", first=1)
    second = search(container, "cheval", first=1, after=first["edges"][0]["cursor"])
    assert first["has_next_page"] and not second["has_next_page"]
    assert set(ids(first) + ids(second)) == {"t-fr", "t-eve"}

    # Hidden by a moderator: gone from every result, and a late event cannot bring it back.
    publisher.publish(reply("r-1", "t-fr", "g-pub", "Les poussettes passent par le canal", version=2, hidden=True))
    wait_for(lambda: ids(search(container, "poussette")) == [], 15, what="the hidden reply gone")
    publisher.publish(reply("r-1", "t-fr", "g-pub", "Les poussettes passent par le canal"))
    publisher.close()

    errors = search(container, "", first=0, after="nope", kinds=["message"])["errors"]
    assert [e["field"] for e in errors] == [["text"], ["first"], ["after"], ["kinds"]]
    assert ids(search(container, "poussette")) == []


def test_the_backfill_rebuilds_the_discussions_from_conversations_export(service_config):
    indices = Indices(make_client(service_config["ELASTICSEARCH_URL"]), service_config["SEARCH_INDEX_PREFIX"])
    indices.ensure()
    views = {
        "thread": [
            {**thread("t1", "g", "public", "Sortie au zoo").data, "city": "paris", "subject_type": "thread"},
            {**thread("t2", "g", "private", "Sortie au zoo").data, "city": "paris", "subject_type": "thread"},
            {**thread("t3", "g", "public", "Sortie retirée", hidden=True).data, "subject_type": "thread"},
        ],
        "reply": [{**reply("r1", "t1", "g", "Le zoo de Vincennes").data, "city": "paris", "subject_type": "reply"}],
        "question": [{**question("q1", "Un zoo près d'ici ?").data, "subject_type": "question"}],
        "message": [{"id": "m1", "text": "never asked for"}],
    }
    asked: list[tuple[str, str | None]] = []

    def call(service: str, method: str, subject_type: str, after: str | None, size: int) -> list[dict[str, Any]]:
        assert (service, method) == ("conversations", "export_discussions")
        asked.append((subject_type, after))
        rows = [v for v in views[subject_type] if after is None or v["id"] > after]
        return rows[:size]

    live = indices.revision_of(talk.DISCUSSIONS)
    counts = backfill(indices, call, ["discussions"], page=1, out=io.StringIO())
    assert counts == {"discussions": 5}
    assert indices.revision_of(talk.DISCUSSIONS) == live + 1
    assert ("thread", "t1") in asked and ("thread", "t3") in asked and all(kind != "message" for kind, _ in asked)
    indices.es.indices.refresh(index=indices.alias(talk.DISCUSSIONS))
    filters, must_not = talk.discussion_filters([], [], None, None, list(talk.KINDS), "saint-denis")
    body = talk.search_body("zoo", 10, None, filters, must_not, [])
    found = indices.es.search(index=indices.alias(talk.DISCUSSIONS), **body)["hits"]["hits"]
    assert sorted(hit["_id"] for hit in found) == ["q1", "r1", "t1"]
