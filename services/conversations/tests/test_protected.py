"""Protected mode is members' to say: a raw RPC that claims the recipient is not protected
(``recipient_protected=False``) is not believed (issue 21; found by the review)."""

from __future__ import annotations

from conversations.service import ConversationsService
from nameko.standalone.rpc import ServiceRpcProxy


def test_a_strangers_message_to_a_protected_member_is_refused_whatever_the_caller_says(
    container_factory, service_config, members
):
    members.member("prot", protected=True)
    container_factory(ConversationsService, service_config).start()
    with ServiceRpcProxy("conversations", service_config) as conversations:
        sent = conversations.send_message("stranger", {"recipient_id": "prot", "text": "Bonjour"}, False)
        assert [(e["field"], e["code"]) for e in sent["errors"]] == [(["recipient_id"], "FORBIDDEN")]
        assert sent["message"] is None
        # Someone members does not call protected receives it (as a message request).
        other = conversations.send_message("stranger", {"recipient_id": "open", "text": "Bonjour"}, False)
        assert other["errors"] == [] and other["conversation"]["status"] == "request"
