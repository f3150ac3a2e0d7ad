# nameko 2.14 no longer monkey-patches under pytest: do it before anything imports sockets.
import eventlet

eventlet.monkey_patch()

import pytest  # noqa: E402
from pymongo import MongoClient  # noqa: E402

from parentnet_kit import cities, config, testing, tokens  # noqa: E402

# Pure domain tests read the process's view of the open cities; a started service loads its own copy.
cities.remember(cities.founding())


@pytest.fixture(scope="session")
def key_pair():
    return tokens.generate_key_pair()


@pytest.fixture
def service_config(key_pair):
    """Config for one test: its own RabbitMQ vhost and database on the real servers."""
    vhost, amqp_uri = testing.create_vhost("members")
    db_name = testing.unique_name("members")
    yield {
        "AMQP_URI": amqp_uri,
        "MONGO_URI": config.mongo_uri(),
        "MEMBERS_DB": db_name,
        "AUTH_PRIVATE_KEY": key_pair[0].decode(),
        "OUTBOX_SWEEP_SECONDS": 1,
    }
    MongoClient(config.mongo_uri()).drop_database(db_name)
    testing.delete_vhost(vhost)


@pytest.fixture
def db(service_config):
    client = MongoClient(service_config["MONGO_URI"], tz_aware=True)
    yield client[service_config["MEMBERS_DB"]]
    client.close()
