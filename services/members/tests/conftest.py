# nameko 2.14 no longer monkey-patches under pytest: do it before anything imports sockets.
import eventlet

eventlet.monkey_patch()

import pytest  # noqa: E402

from parentnet_kit import config, testing  # noqa: E402


@pytest.fixture
def service_config():
    vhost, amqp_uri = testing.create_vhost("members")
    yield {"AMQP_URI": amqp_uri, "MONGO_URI": config.mongo_uri(), "MEMBERS_DB": testing.unique_name("members")}
    testing.delete_vhost(vhost)
