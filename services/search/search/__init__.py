"""services/search: Elasticsearch read models built only from domain events."""
