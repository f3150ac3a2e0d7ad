"""services/events: outings that parents propose and join."""
