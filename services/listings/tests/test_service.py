from nameko.standalone.rpc import ServiceRpcProxy

from listings.service import ListingsService


def test_answers_the_health_ping_over_real_rabbitmq(container_factory, service_config):
    container = container_factory(ListingsService, service_config)
    container.start()
    with ServiceRpcProxy("listings", service_config) as proxy:
        assert proxy.ping() == "pong"
