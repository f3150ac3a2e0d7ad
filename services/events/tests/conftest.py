# nameko 2.14 no longer monkey-patches under pytest: do it before anything imports sockets.
import eventlet

eventlet.monkey_patch()

import pytest  # noqa: E402
from nameko.testing.services import entrypoint_hook  # noqa: E402
from pymongo import MongoClient  # noqa: E402

from events.service import EventsService  # noqa: E402
from parentnet_kit import config, testing  # noqa: E402


@pytest.fixture
def service_config():
    """Config for one test: its own RabbitMQ vhost and database on the real servers."""
    vhost, amqp_uri = testing.create_vhost("events")
    db_name = testing.unique_name("events")
    yield {"AMQP_URI": amqp_uri, "MONGO_URI": config.mongo_uri(), "EVENTS_DB": db_name}
    MongoClient(config.mongo_uri()).drop_database(db_name)
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
