# relayhub — everything a fresh machine needs goes through these targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install lint format bench chaos clean

## run: install if needed, then start the hub on http://127.0.0.1:8080 (SQLite in ./data)
run: install
	$(BIN)/relayhub serve

## test: lint, type-check and run the whole test suite
test: install lint
	$(BIN)/pytest

## install: create .venv and install the project (editable) with its dev tools; idempotent
install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: every scenario beside its floor, written to bench/results.json and BENCHMARKS.md (not part of `make test`)
bench: install
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.recipients

## chaos: the SIGKILL soak: 30 kill cycles, 6 flapping relays, 200 sends a cycle (not part of `make test`)
chaos: install
	RELAYHUB_CHAOS_CYCLES=30 RELAYHUB_CHAOS_RELAYS=6 RELAYHUB_CHAOS_SENDS=200 \
		$(BIN)/pytest tests/e2e/test_chaos.py -s -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
