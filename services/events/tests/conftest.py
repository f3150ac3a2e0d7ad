# nameko 2.14 no longer monkey-patches under pytest: do it before anything imports sockets.
import eventlet

eventlet.monkey_patch()

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository, for devtools

import pytest  # noqa: E402
from nameko.testing.services import entrypoint_hook  # noqa: E402
from pymongo import MongoClient  # noqa: E402

from devtools import volume  # noqa: E402
from events.service import EventsService  # noqa: E402
from parentnet_kit import cities, config, nameko_testing, testing  # noqa: E402

# Pure domain tests read the process's view of the open cities; a started service loads its own copy.
cities.remember(cities.founding())


@pytest.fixture
def service_config(container_factory):
    """Config for one test: its own RabbitMQ vhost and database on the real servers, and a
    stand-in members service there (``parentnet_kit.nameko_testing``: say what it knows)."""
    vhost, amqp_uri = testing.create_vhost("events")
    db_name = testing.unique_name("events")
    settings = {"AMQP_URI": amqp_uri, "MONGO_URI": config.mongo_uri(), "EVENTS_DB": db_name}
    nameko_testing.start_members_stub(container_factory, settings)
    yield settings
    nameko_testing.reset()
    testing.drop_database(MongoClient(config.mongo_uri()), db_name)
    testing.delete_vhost(vhost)


def call(container, method, *args, **kwargs):
    """Run one of the container's entrypoints, as a worker would."""
    with entrypoint_hook(container, method) as hook:
        return hook(*args, **kwargs)


@pytest.fixture
def container(container_factory, service_config):
    """The events service, started, with ten workers (the tests race some of them)."""
    container = container_factory(EventsService, {**service_config, "max_workers": 10})
    container.start()
    return container


# -- at volume -------------------------------------------------------------------------------
# The concurrency tests run on a store already holding a year of other data (devtools/volume.py,
# placed in cities no test uses): FerretDB's cost of a query follows the size of what it reads,
# so an empty store would hide a hot path that reads everything. One fill per session.
VOLUME_OUTINGS = 1000


@pytest.fixture(scope="session")
def volume_db():
    """An events database holding VOLUME_OUTINGS outings with their tickets, claims, inbox and
    co-op shifts: about 21,500 documents."""
    name = testing.unique_name("events_volume")
    volume.fill(
        config.mongo_uri(), VOLUME_OUTINGS, events_db=name, in_cities=volume.FAR_FROM_TESTS, outbox_history=False
    )
    yield name
    testing.drop_database(MongoClient(config.mongo_uri()), name)


@pytest.fixture
def service_config_at_volume(container_factory, volume_db):
    """Like ``service_config``, on the session's database at volume (tests isolate by their own ids)."""
    vhost, amqp_uri = testing.create_vhost("events")
    settings = {"AMQP_URI": amqp_uri, "MONGO_URI": config.mongo_uri(), "EVENTS_DB": volume_db}
    nameko_testing.start_members_stub(container_factory, settings)
    yield settings
    nameko_testing.reset()
    testing.delete_vhost(vhost)


@pytest.fixture
def container_at_volume(container_factory, service_config_at_volume):
    """The events service with ten workers on the database at volume."""
    container = container_factory(EventsService, {**service_config_at_volume, "max_workers": 10})
    container.start()
    return container
