# nameko 2.14 no longer monkey-patches under pytest: do it before anything imports sockets.
import eventlet

eventlet.monkey_patch()

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from pymongo import MongoClient  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository, for devtools

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
    testing.drop_database(MongoClient(config.mongo_uri()), db_name)
    testing.delete_vhost(vhost)


@pytest.fixture
def db(service_config):
    client = MongoClient(service_config["MONGO_URI"], tz_aware=True)
    yield client[service_config["MEMBERS_DB"]]
    client.close()


# -- at volume -------------------------------------------------------------------------------
# FerretDB's cost of a query follows the size of what it reads: the per-member reads are tested
# on a store already holding other members' data (devtools/volume.py). One fill per session.
VOLUME_MEMBERS = 1_000


@pytest.fixture(scope="session")
def volume_db():
    """A members database holding VOLUME_MEMBERS members with their sessions, two days of login
    attempts, 40 groups with their memberships and about 200 blocks: about 30,000 documents."""
    from devtools import volume

    name = testing.unique_name("members_volume")
    volume.fill(
        config.mongo_uri(), VOLUME_MEMBERS, members_db=name, in_cities=volume.FAR_FROM_TESTS, outbox_history=False
    )
    yield name
    testing.drop_database(MongoClient(config.mongo_uri()), name)


@pytest.fixture
def service_config_at_volume(service_config, volume_db):
    """Like ``service_config``, on the session's database at volume (tests isolate by their own ids)."""
    return {**service_config, "MEMBERS_DB": volume_db}
