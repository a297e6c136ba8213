# Pipeline Steward — read this first.
#   make run    set up everything (venv, packages, demo database) and open the app
#   make test   set up everything (incl. chromium + LibreOffice) and run lint, types and every test
#   make bench  build the 10M-row benchmark database and print latency figures
#   make bench-app DB=PATH   server-side rerun time of every page on a store
#   make bench-browser       page times in headless Chromium on the bench store (after
#                            `make bench BENCH_ARGS=--keep`), merged into out/bench.json
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
DB      ?= data/steward.duckdb
PORT    ?= 8501
export STEWARD_DB := $(abspath $(DB))

.PHONY: setup system-deps run demo test lint typecheck bench bench-app bench-browser clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

setup: $(VENV)/.installed

# Debian packages the browser, export and spreadsheet tests need.
system-deps:
	@bash scripts/system-deps.sh

$(DB): | setup
	$(BIN)/steward --db $(DB) demo

demo: setup
	$(BIN)/steward --db $(DB) demo --replace

run: setup $(DB)
	$(BIN)/python -m dashboard.launch --server.port $(PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

test: setup system-deps lint typecheck
	@bash scripts/pytest.sh

bench: setup
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-app: setup $(DB)
	$(BIN)/python -m dashboard.bench --db $(DB)

BENCH_DB ?= data/bench.duckdb
bench-browser: setup system-deps
	$(BIN)/python -m bench.browser --db $(BENCH_DB) $(BROWSER_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
