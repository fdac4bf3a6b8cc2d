# relayhub — everything a fresh machine needs goes through these targets.
# Installs come only from the locked files in requirements/ (see its README).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TOOLS  := .tools
UV     := $(TOOLS)/bin/uv
# uv installs into the project's venv; it never touches the system Python.
UVENV  := VIRTUAL_ENV=$(CURDIR)/$(VENV) $(UV)

# `make run PORT=8081 CONFIG=local.toml DATA=data2`: each one is optional.
PORT   ?=
CONFIG ?=
DATA   ?=
SERVE_FLAGS := $(if $(PORT),--port $(PORT)) $(if $(CONFIG),--config $(CONFIG)) $(if $(DATA),--data $(DATA))

.PHONY: run test test-pg install install-run lint format docs bench bench-cluster chaos chaos-cluster lock clean

## run: install what the hub needs, then start it on http://127.0.0.1:8080 (SQLite in ./data)
run: install-run
	$(BIN)/relayhub serve $(SERVE_FLAGS)

## test: lint, type-check and run the whole test suite (e2e tests marked both_backends also on PostgreSQL)
test: install lint
	$(BIN)/pytest -n 2 --dist loadfile  # one worker per core; a module stays on one worker

## test-pg: the end-to-end suite with every hub on PostgreSQL (a private cluster the tests start)
test-pg: install
	RELAYHUB_TEST_BACKEND=postgres $(BIN)/pytest tests/e2e tests/hub/store/test_postgres_store.py

## install: .venv with the hub (editable) and its test tools, exactly as locked in requirements/dev.txt
install: $(VENV)/.dev

## install-run: .venv with what the hub needs to run, as locked in requirements/run.txt
install-run: $(VENV)/.run

$(UV): requirements/tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check \
		--require-hashes -r requirements/tools.txt
	touch $(UV)

# --allow-existing: a .venv an older checkout made is reused; the sync below
# then makes it exactly the lock.
$(VENV)/.venv-made: | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	touch $@

# The dev set includes the run set, so a dev install counts as both.
$(VENV)/.dev: requirements/dev.txt pyproject.toml $(VENV)/.venv-made
	$(UVENV) pip sync --quiet --require-hashes requirements/dev.txt
	$(UVENV) pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.run

$(VENV)/.run: requirements/run.txt pyproject.toml $(VENV)/.venv-made
	$(UVENV) pip sync --quiet --require-hashes requirements/run.txt
	$(UVENV) pip install --quiet --no-deps -e .
	rm -f $(VENV)/.dev
	touch $@

## lock: resolve every dependency again and rewrite requirements/*.txt (on purpose only)
UPGRADE ?= --upgrade
COMPILE := $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock'
lock: | $(UV)
	$(COMPILE) $(UPGRADE) requirements/tools.in -o requirements/tools.txt
	$(COMPILE) $(UPGRADE) pyproject.toml -o requirements/run.txt
	$(COMPILE) $(UPGRADE) pyproject.toml --extra dev -c requirements/run.txt -o requirements/dev.txt

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## docs: rewrite docs/examples/ from hub/devdocs/example_templates/ (a test fails when they differ)
docs: install
	$(BIN)/python -m scripts.docs_examples

## bench: every scenario beside its floor, written to bench/results.json and BENCHMARKS.md (not part of `make test`)
## `make bench ONLY="pg_floors pg_single"`: those scenarios alone, merged into the recorded results
ONLY ?=
bench: install
ifeq ($(ONLY),)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.recipients
else
	$(BIN)/python -m bench.run --only $(ONLY) --record
endif

## bench-cluster: issue 18's PostgreSQL and cluster scenarios, merged into the recorded results;
## SQLite's accept and lifecycle run beside them for same-run ratios, and are not recorded
CLUSTER_BENCH := floors accept_and_push lifecycle pg_floors pg_single pg_cluster node_death
bench-cluster: install
	$(BIN)/python -m bench.run --record --only $(CLUSTER_BENCH) --baseline floors accept_and_push lifecycle

## chaos: the SIGKILL soak: 30 kill cycles, 6 flapping relays, 200 sends a cycle (not part of `make test`)
chaos: install
	RELAYHUB_CHAOS_CYCLES=30 RELAYHUB_CHAOS_RELAYS=6 RELAYHUB_CHAOS_SENDS=200 \
		$(BIN)/pytest tests/e2e/test_chaos.py -s -q

## chaos-cluster: 3 nodes behind haproxy, a random node SIGKILLed and restarted 30 times under load
chaos-cluster: install
	RELAYHUB_CHAOS_CYCLES=30 \
		$(BIN)/pytest tests/cluster/test_cluster_chaos.py -s -q

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
