# Switchboard — `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON_BOOT ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
# Stamp files: reinstall only when pyproject.toml changes.
INSTALLED := $(VENV)/.installed
TEST_INSTALLED := $(VENV)/.installed-test

.PHONY: help run test lint typecheck format studio token docs lock clean-data widget widget-check eval bench

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# constraints.txt pins the whole tree to a set known to resolve (and fast: no backtracking).
$(INSTALLED): pyproject.toml constraints.txt | $(PY)
	# torch first: pip takes the local CPU wheel instead of a multi-GB CUDA build.
	$(PIP) install -q "torch==2.13.0"
	$(PIP) install -q -c constraints.txt -e .
	@touch $@

$(TEST_INSTALLED): $(INSTALLED) pyproject.toml constraints.txt
	$(PIP) install -q -c constraints.txt -e ".[test]"
	@touch $@

run: $(INSTALLED) widget ## Start the service on embedded defaults (http://127.0.0.1:8000)
	$(VENV)/bin/switchboard serve

test: $(TEST_INSTALLED) widget ## Run the whole test suite (real Postgres: DATABASE_URL or embedded)
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m pytest $(PYTEST_ARGS)

eval: $(TEST_INSTALLED) ## Run the evaluation suite and its CI gate (offline model unless SWITCHBOARD_MODEL is set)
	$(PY) -m evals $(EVAL_ARGS)

bench: $(TEST_INSTALLED) ## Run the benchmarks: retrieval, guards, turns, load (BENCH_ARGS=--quick for a smoke run)
	$(PY) -m bench.retrieval $(BENCH_ARGS)
	$(PY) -m bench.guards
	$(PY) -m bench.turns $(BENCH_ARGS)
	$(PY) -m bench.load $(BENCH_ARGS)

lint: $(TEST_INSTALLED) ## Lint and check formatting (ruff)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(TEST_INSTALLED) ## Format the code (ruff)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: $(TEST_INSTALLED) ## Type-check the packages (mypy)
	$(VENV)/bin/mypy

studio: $(TEST_INSTALLED) ## Serve the graph to LangGraph Studio (langgraph dev)
	LANGSMITH_TRACING=$${LANGSMITH_TRACING:-false} $(VENV)/bin/langgraph dev --no-browser

token: $(INSTALLED) ## Mint a dev token: make token ROLE=customer ID=cust-001
	@$(VENV)/bin/switchboard token --$${ROLE:-customer} $${ID:-cust-001}

docs: $(INSTALLED) ## Regenerate README's configuration table and .env.example
	$(VENV)/bin/switchboard config --sync-docs

# The built widget and console (api/static/*.js) are committed, so a clone runs
# without Node; with npm on the PATH they are rebuilt from web/ (under a second).
widget: ## Rebuild the chat widget and staff console from web/ (skipped without npm)
	@if command -v npm >/dev/null 2>&1; then \
	  [ web/node_modules/.package-lock.json -nt web/package-lock.json ] \
	    || npm --prefix web ci --no-audit --no-fund --loglevel=error; \
	  npm --prefix web run --silent build; \
	else echo "npm not found: using the committed api/static/widget.js and console.js"; fi

widget-check: ## CI: type-check web/ and fail if the committed bundles are stale
	npm --prefix web ci --no-audit --no-fund --loglevel=error
	npm --prefix web run --silent typecheck
	npm --prefix web run --silent build
	git diff --exit-code --stat -- api/static

lock: ## Re-pin constraints.txt from the current environment
	$(PIP) freeze --exclude-editable | grep -v -E '^(py-spy)==' > constraints.txt

clean-data: ## Delete the embedded database and indexes under .data/
	rm -rf .data
