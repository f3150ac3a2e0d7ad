"""A service survives a broker that goes away between its reply and its acknowledgement.

The full CI run caught it in fault 2 (RabbitMQ restarted under 1,000 creates): the events
service acknowledged a request on the connection it came on, that connection had just been
reset, and the ``ConnectionResetError`` raised out of ``handle_result`` killed the whole
container. The request, unacknowledged, is redelivered by the broker; its once id makes the
second run answer what the first made."""

from __future__ import annotations

from typing import Any

from parentnet_kit import nameko_rpc


class _Gone:
    def ack_message(self, message: Any) -> None:
        raise ConnectionResetError(104, "Connection reset by peer")


def test_an_ack_on_a_reset_connection_is_logged_not_raised(monkeypatch, caplog):
    consumer = nameko_rpc.ResilientRpcConsumer()
    consumer.replies, consumer.reply_exchange = None, "nameko-rpc"
    consumer.__dict__["queue_consumer"] = _Gone()  # nameko's dependency, here one whose connection died
    sent: list[Any] = []
    monkeypatch.setattr(
        nameko_rpc.LeanResponder, "send_response", lambda self, result, exc_info: sent.append(result) or (result, None)
    )
    assert consumer.handle_result(object(), {"ok": True}, None) == ({"ok": True}, None)
    assert sent == [{"ok": True}]
    assert "not acknowledged" in caplog.text
