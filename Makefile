# Parentnet: `make up` runs the whole network locally; `make test` tests it against real servers.
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: up down test bench soak provision services demo lint schema help

help:
	@echo "make up     provision RabbitMQ, a MongoDB-protocol server and Elasticsearch, start the seven processes, load demo data"
	@echo "make test   the same provisioning, then every test suite"
	@echo "make down   stop the seven processes and the local servers"

provision:
	@bash scripts/provision.sh up

up: provision
	@$(PY) -m devtools.stack up
	@# Indices built by an older version of the code are rebuilt, with no downtime. The exports
	@# answer the backfill's operator token only: signed with the stack's identity key.
	@INTERNAL_IDENTITY_PRIVATE_KEY_FILE=$${INTERNAL_IDENTITY_PRIVATE_KEY_FILE:-.run/keys/identity-private.pem} \
		$(PY) -m search.backfill --outdated
	@$(PY) -m devtools.demo_data
	@echo
	@echo "GraphQL API:      http://127.0.0.1:$${GATEWAY_PORT:-8000}/graphql  (POST)"
	@echo "GraphQL explorer: http://127.0.0.1:$${GATEWAY_PORT:-8000}/graphql  (open in a browser)"
	@echo "Health:           http://127.0.0.1:$${GATEWAY_PORT:-8000}/health  (readiness: /ready)"

down:
	@$(PY) -m devtools.stack down || true
	@bash scripts/provision.sh down

test: provision
	@bash scripts/run_tests.sh

bench: provision
	@.venv/bin/pip install -q -r bench/requirements.txt
	@$(PY) -m bench.run

# SOAK_ARGS="--short" for a quick try; see bench/README.md.
soak: provision
	@.venv/bin/pip install -q -r bench/requirements.txt
	@$(PY) -m bench.soak $(SOAK_ARGS)

lint:
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .

schema:
	@cd gateway && ../$(PY) -m gateway.export_schema > schema.graphql && echo "wrote gateway/schema.graphql"
