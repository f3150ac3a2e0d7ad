"""The service over real RabbitMQ: roles from members' events, a report into a group's queue, an
action published as the contract's event."""

from __future__ import annotations

from nameko.standalone.rpc import ServiceRpcProxy

from moderation.service import ModerationService
from parentnet_kit.envelope import Event
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.testing import drain_events, wait_for


def test_a_group_admin_from_members_events_works_the_group_queue(container_factory, service_config):
    container = container_factory(ModerationService, service_config)
    container.start()
    publisher = EventPublisher(service_config["AMQP_URI"])
    publisher.connect()
    data = {"group_id": "g1", "member_id": "admin", "role": "admin", "status": "active"}
    publisher.publish(Event("group_membership_changed", "members", "gm:g1:admin", 1, "paris", data))
    publisher.close()
    snapshot = {"title": "Sortie", "text": "...", "author_id": "author", "group_id": "g1", "city": "paris"}
    with ServiceRpcProxy("moderation", service_config) as proxy:
        assert proxy.ping() == "pong"
        filed = proxy.report("reporter", {"subject_type": "outing", "subject_id": "o1", "reason": "spam"}, snapshot)
        assert filed["errors"] == []
        # Nobody's word makes a group admin: until the event is applied, the queue is closed.
        wait_for(lambda: proxy.queue("admin", "g1")["allowed"], timeout=10, what="the role from members' event")
        page = proxy.queue("admin", "g1")
        assert [r["subject_id"] for r in page["reports"]] == ["o1"] and page["total"] == 1
        assert proxy.queue("admin")["allowed"] is False  # not the network's queue
        assert proxy.queue("reporter", "g1") == {"reports": [], "has_next_page": False, "total": 0, "allowed": False}
        acted = proxy.act("admin", {"report_id": filed["report"]["id"], "action": "hide", "reason": "Spam"})
        assert acted["errors"] == []
        refused = proxy.act("admin", {"member_id": "author", "action": "warn", "reason": "No"})
        assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]  # a member's account: network only
    events = drain_events(service_config["AMQP_URI"], "events.moderation")
    [hidden] = [e for e in events if e["type"] == "content_hidden"]
    assert hidden["aggregate_id"] == "o1"
    assert hidden["data"] == {"subject_type": "outing", "subject_id": "o1", "action_id": acted["action"]["id"]}
