from nameko.standalone.rpc import ServiceRpcProxy

from members.service import MembersService


def test_answers_the_health_ping_over_real_rabbitmq(container_factory, service_config):
    container = container_factory(MembersService, service_config)
    container.start()
    with ServiceRpcProxy("members", service_config) as proxy:
        assert proxy.ping() == "pong"
