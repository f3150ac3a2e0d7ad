"""Every subscription listens through ``ctx.listen``: the websocket reads a client's next message
only once ``Context.listening`` is set (ws.py), so a pong after a subscribe means "listening" and
an event published after it reaches the subscriber. A resolver that listened to the feed some
other way would leave ``listening`` unset (the connection would stall ten seconds per subscribe,
then answer before the subscription listens). Each field of the schema's Subscription type is
subscribed here through the app, as a signed-in member, and must: listen through ``ctx.listen``
once, have ``listening`` set and its queue registered when the pong comes, and then deliver the
first event published for it. A new subscription needs its case in ``CASES``."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gateway.auth import Viewer
from gateway.context import Context
from gateway.ids import to_global_id

VIEWER = "m1"
PARIS = {"lat": 48.8566, "lon": 2.3522}
OUTING = {"id": "o1", "organizer_id": "m2", "title": "Guignol", "location": PARIS}

# What the services answer for these subscriptions' checks and for the views they load again.
ANSWERS: dict[str, Any] = {
    "members.viewer_context": {"blocked": [], "blocked_by": [], "groups": {}, "protected": False},
    "members.viewer": {"id": VIEWER, "city": "paris", "home_cell": PARIS, "protected_mode": False},
    "events.get_outings": lambda **kw: [OUTING for _ in kw["outing_ids"]],
    "conversations.get_threads": lambda **kw: [
        {"id": i, "group_id": "g1", "author_id": "m2"} for i in kw["thread_ids"]
    ],
    "conversations.get_replies": lambda **kw: [{"id": i, "author_id": "m2"} for i in kw["reply_ids"]],
    "conversations.get_messages": lambda **kw: [{"id": i, "sender_id": "m2"} for i in kw["message_ids"]],
    "conversations.get_questions": lambda **kw: [{"id": i, "asker_id": "m2"} for i in kw["question_ids"]],
    "conversations.get_answers": lambda **kw: [{"id": i, "author_id": "m2"} for i in kw["answer_ids"]],
}


def event(source: str, kind: str, aggregate_id: str, **data: Any) -> dict[str, Any]:
    return {"id": f"e-{kind}", "type": kind, "source": source, "aggregate_id": aggregate_id, "data": data}


# Subscription field -> (its document, its variables, the event type it must listen to, an event it delivers).
CASES: dict[str, tuple[str, dict[str, Any], str, dict[str, Any]]] = {
    "notificationReceived": (
        "subscription { notificationReceived { __typename } }",
        {},
        "member_notified",
        event("events", "member_notified", "n1", id="n1", recipient_id=VIEWER),
    ),
    "outingPublishedNearby": (
        "subscription($near: GeoPointInput!) { outingPublishedNearby(near: $near, radiusKm: 5) { __typename } }",
        {"near": PARIS},
        "outing_published",
        event("events", "outing_published", "o1", **OUTING),
    ),
    "outingAttendanceChanged": (
        "subscription($id: ID!) { outingAttendanceChanged(outingId: $id) { __typename } }",
        {"id": to_global_id("Outing", "o1")},
        "attendance_changed",
        event("events", "attendance_changed", "o1", **OUTING),
    ),
    "discussionReplyAdded": (
        "subscription($id: ID!) { discussionReplyAdded(threadId: $id) { __typename } }",
        {"id": to_global_id("DiscussionThread", "t1")},
        "reply_posted",
        event("conversations", "reply_posted", "r1", thread_id="t1"),
    ),
    "messageReceived": (
        "subscription { messageReceived { __typename } }",
        {},
        "message_sent",
        event("conversations", "message_sent", "x1", deliver_to=[VIEWER]),
    ),
    "questionAskedNearby": (
        "subscription { questionAskedNearby { __typename } }",
        {},
        "question_asked",
        event("conversations", "question_asked", "q2", asker_id="m2", scope="city", city="paris"),
    ),
    "answerAdded": (
        "subscription($id: ID!) { answerAdded(questionId: $id) { __typename } }",
        {"id": to_global_id("Question", "q1")},
        "answer_posted",
        event("conversations", "answer_posted", "a1", question_id="q1"),
    ),
}


def test_every_subscription_of_the_schema_has_a_case_here(make_client):
    client, _ = make_client({})
    fields = set(client.app.state.runner.schema.subscription_type.fields)
    assert fields - set(CASES) == set(), "a new subscription: add its case to CASES (test_subscriptions_listen.py)"
    assert set(CASES) - fields == set(), "CASES names subscriptions the schema no longer has"


@pytest.mark.parametrize("field", sorted(CASES))
def test_a_subscription_listens_through_ctx_listen_before_the_pong(make_client, monkeypatch, field):
    document, variables, event_type, first = CASES[field]
    listened: list[tuple[str, Context]] = []
    listen = Context.listen

    def spy(self: Context, kind: str, accept: Any = None) -> Any:
        listened.append((kind, self))
        return listen(self, kind, accept)

    monkeypatch.setattr(Context, "listen", spy)
    client, _ = make_client(ANSWERS)

    async def signed_in(header: str | None) -> Viewer | None:
        return Viewer(VIEWER, "s1") if header else None

    monkeypatch.setattr(client.app.state.authenticator, "from_header", signed_in)
    feed = client.app.state.feed
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": "Bearer a-token"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": document, "variables": variables}})
        ws.send_json({"type": "ping"})
        answer = ws.receive_json()
        assert answer == {"type": "pong"}, f"{field}: {answer}"
        assert [kind for kind, _ in listened] == [event_type], (
            f"{field} must listen to {event_type!r} through ctx.listen (Context.listen), which sets "
            "Context.listening: ws.py waits for it before reading the next message"
        )
        context = listened[0][1]
        assert context.listening is not None and context.listening.is_set(), f"{field}: listening not set at the pong"
        assert feed.subscriber_count() == 1, f"{field}: no listener registered with the feed at the pong"

        ws.portal.call(feed.publish_locally, first)  # on the app's loop: its queues are not thread-safe
        delivered = ws.receive_json()
        assert delivered["type"] == "next", f"{field}: {delivered}"
        assert "errors" not in delivered["payload"] and delivered["payload"]["data"][field] is not None
        ws.send_json({"type": "complete", "id": "1"})


def test_each_event_a_subscription_pushes_is_resolved_afresh(make_client, monkeypatch):
    """A subscription's context lives as long as it does: each event is resolved as a new
    request would be (``Context.renew``), so a rename, a promotion and a block made since the
    last event show in the next (review 6: the loaders kept the first answers for hours, and the
    viewer's blocks were read again only every 30 s)."""
    names, statuses, blocked_by, asked = {"m2": "Chloe"}, ["waitlisted"], [], []

    def viewer_context(**kw: Any) -> dict[str, Any]:
        asked.append(kw)
        return {"blocked": [], "blocked_by": list(blocked_by), "groups": {}, "protected": False}

    answers = {
        **ANSWERS,
        "members.viewer_context": viewer_context,
        "members.get_members": lambda **kw: [
            {"id": i, "display_name": names.get(i, "Someone")} if i not in blocked_by else None
            for i in kw["member_ids"]
        ],
        "events.places_of": lambda **kw: [
            {"status": statuses[-1], "position": 1, "adults": 1, "children": 0} for _ in kw["outing_ids"]
        ],
    }
    client, _ = make_client(answers)

    async def signed_in(header: str | None) -> Viewer | None:
        return Viewer(VIEWER, "s1") if header else None

    monkeypatch.setattr(client.app.state.authenticator, "from_header", signed_in)
    feed = client.app.state.feed
    document = (
        "subscription($id: ID!) { outingAttendanceChanged(outingId: $id) "
        "{ title organizer { displayName } viewerPlace { status } } }"
    )
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": "Bearer a-token"}})
        assert ws.receive_json()["type"] == "connection_ack"
        variables = {"id": to_global_id("Outing", "o1")}
        ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": document, "variables": variables}})
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}

        def publish(title: str) -> None:
            changed = event("events", "attendance_changed", "o1", **{**OUTING, "title": title})
            ws.portal.call(feed.publish_locally, changed)

        def pushed(title: str) -> dict[str, Any]:
            publish(title)
            return ws.receive_json()["payload"]["data"]["outingAttendanceChanged"]

        first = pushed("First")
        assert (first["organizer"]["displayName"], first["viewerPlace"]["status"]) == ("Chloe", "WAITLISTED")
        names["m2"], statuses[:] = "Chloe B.", ["confirmed"]  # renamed; promoted from the waitlist
        second = pushed("Second")
        assert (second["organizer"]["displayName"], second["viewerPlace"]["status"]) == ("Chloe B.", "CONFIRMED")
        blocked_by.append("m2")  # the organizer blocks the viewer: her outing's events stop at once
        before = len(asked)
        publish("Third")
        deadline = time.monotonic() + 10
        while len(asked) == before and time.monotonic() < deadline:  # the third event was looked at
            time.sleep(0.01)
        assert len(asked) > before
        blocked_by.clear()
        assert pushed("Fourth")["title"] == "Fourth"  # the third was never pushed
        ws.send_json({"type": "complete", "id": "1"})
