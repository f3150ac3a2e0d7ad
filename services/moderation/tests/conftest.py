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
    vhost, amqp_uri = testing.create_vhost("moderation")
    db_name = testing.unique_name("moderation")
    yield {"AMQP_URI": amqp_uri, "MONGO_URI": config.mongo_uri(), "MODERATION_DB": db_name}
    testing.drop_database(MongoClient(config.mongo_uri()), db_name)
    testing.delete_vhost(vhost)


@pytest.fixture
def db(service_config):
    client = MongoClient(service_config["MONGO_URI"], tz_aware=True)
    yield client[service_config["MODERATION_DB"]]
    client.close()
