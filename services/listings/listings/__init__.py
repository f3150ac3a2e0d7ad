"""services/listings."""
