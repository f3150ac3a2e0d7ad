# nameko 2.14 no longer monkey-patches under pytest: do it before anything imports sockets.
import eventlet

eventlet.monkey_patch()

import pytest  # noqa: E402
from pymongo import MongoClient  # noqa: E402

from parentnet_kit import config, testing  # noqa: E402
from parentnet_kit.nameko_testing import members  # noqa: E402, F401 - the members stub, autouse


@pytest.fixture
def service_config():
    """Config for one test: its own RabbitMQ vhost and database on the real servers."""
    vhost, amqp_uri = testing.create_vhost("conversations")
    db_name = testing.unique_name("conversations")
    yield {"AMQP_URI": amqp_uri, "MONGO_URI": config.mongo_uri(), "CONVERSATIONS_DB": db_name}
    testing.drop_database(MongoClient(config.mongo_uri()), db_name)
    testing.delete_vhost(vhost)


@pytest.fixture
def db():
    """A database of its own on the real store, without a broker (events are not published)."""
    name = testing.unique_name("conversations")
    client = MongoClient(config.mongo_uri(), tz_aware=True)
    yield client[name]
    testing.drop_database(client, name)
    client.close()
