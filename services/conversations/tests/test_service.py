from conversations.service import ConversationsService
from nameko.standalone.rpc import ServiceRpcProxy


def test_answers_the_health_ping_over_real_rabbitmq(container_factory, service_config):
    container = container_factory(ConversationsService, service_config)
    container.start()
    with ServiceRpcProxy("conversations", service_config) as proxy:
        assert proxy.ping() == "pong"
        assert proxy.get_threads(["nothing"], None) == [None]
        assert proxy.snapshot("message", "nothing", "someone") is None
