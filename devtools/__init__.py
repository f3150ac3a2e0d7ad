"""Developer tooling: starting the five processes, demo data."""
