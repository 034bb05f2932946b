# One-command workflows; each target bootstraps the virtualenv it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck pytest schema bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: migrate the embedded SQLite store, load the demo program, serve on $(HOST):$(PORT)
run: $(STAMP)
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

pytest: $(STAMP)
	$(BIN)/pytest

## schema: re-export schema.graphql after a change to the GraphQL types
schema: $(STAMP)
	$(BIN)/labelgraph export-schema > schema.graphql

## bench: the fixed workload against a real server (see bench/README.md)
bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
