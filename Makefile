# One-command workflows; each target bootstraps the virtualenv it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# GraphiQL's browser files, from npm at set-up (node is a build-time tool only; the app serves them).
FRONTEND := frontend/node_modules/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck pytest schema bench clean frontend

# The GraphiQL files come along with the virtualenv (order-only: a new lockfile does not reinstall pip's side).
$(STAMP): pyproject.toml | $(FRONTEND)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## frontend: install GraphiQL's browser files (frontend/package-lock.json) into frontend/node_modules
frontend: $(FRONTEND)

$(FRONTEND): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --ignore-scripts --no-audit --no-fund
	touch $(FRONTEND)

## run: migrate the embedded SQLite store, load the demo program, serve on $(HOST):$(PORT)
run: $(STAMP) $(FRONTEND)
	$(BIN)/labelgraph migrate
	$(BIN)/labelgraph seed --demo --url http://$(HOST):$(PORT)
	$(BIN)/labelgraph serve --host $(HOST) --port $(PORT)

## test: ruff, mypy (strict on app/), then the whole suite (SQLite, and PostgreSQL when reachable)
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check app tests bench seeds migrations
	$(BIN)/ruff format --check app tests bench seeds migrations

typecheck: $(STAMP)
	$(BIN)/mypy

# One worker per core (PYTEST_WORKERS=0 runs in this process): each worker migrates its own
# PostgreSQL database and SQLite template (tests/conftest.py), so they share nothing.
PYTEST_WORKERS ?= auto

pytest: $(STAMP) $(FRONTEND)
	$(BIN)/pytest -n $(PYTEST_WORKERS)

## schema: re-export schema.graphql after a change to the GraphQL types
schema: $(STAMP)
	$(BIN)/labelgraph export-schema > schema.graphql

## bench: the fixed workload against a real server (see bench/README.md)
bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache frontend/node_modules
