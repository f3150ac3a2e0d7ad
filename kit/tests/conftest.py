from __future__ import annotations

import pytest
from pymongo import MongoClient

from parentnet_kit import config, testing


@pytest.fixture
def amqp_uri():
    vhost, uri = testing.create_vhost("kit")
    yield uri
    testing.delete_vhost(vhost)


@pytest.fixture
def db():
    client = MongoClient(config.mongo_uri(), tz_aware=True)
    name = testing.unique_name("kit")
    yield client[name]
    client.drop_database(name)
    client.drop_database(f"{name}_expiring")  # parentnet_kit.expiry.markers_database
    client.close()
