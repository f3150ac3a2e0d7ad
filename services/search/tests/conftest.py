# nameko 2.14 no longer monkey-patches under pytest: do it before anything imports sockets.
import eventlet

eventlet.monkey_patch()

import pytest  # noqa: E402

from parentnet_kit import cities, config, testing  # noqa: E402

# Pure domain tests read the process's view of the open cities; a started service loads its own copy.
cities.remember(cities.founding())
from search.dependencies import make_client  # noqa: E402
from search.indices import Indices  # noqa: E402


@pytest.fixture
def service_config():
    vhost, amqp_uri = testing.create_vhost("search")
    prefix = testing.unique_name("test").lower() + "-"
    cfg = {
        "AMQP_URI": amqp_uri,
        "ELASTICSEARCH_URL": config.elasticsearch_url(),
        "SEARCH_INDEX_PREFIX": prefix,
        "SEARCH_REFRESH_INTERVAL": "100ms",
        "INDEXER_BATCH_SIZE": 50,
    }
    yield cfg
    Indices(make_client(cfg["ELASTICSEARCH_URL"]), prefix).delete_all()
    testing.delete_vhost(vhost)
