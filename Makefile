# Throughline — every target sets itself up (virtual environment in .venv/, pinned by the lock files).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test bench lint format demo clean system-deps

$(BIN)/python: requirements-bootstrap.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements-bootstrap.lock

# Runtime dependencies only (make run).
$(VENV)/.installed-run: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

# Runtime + test/lint tooling (make test, make lint, make bench).
$(VENV)/.installed-dev: requirements-dev.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --require-hashes -r requirements-dev.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	@scripts/system-deps
	$(BIN)/throughline run --host $(HOST) --port $(PORT)

demo: $(VENV)/.installed-run
	$(BIN)/throughline run --host $(HOST) --port $(PORT) --demo

system-deps:
	@scripts/system-deps --test

test: $(VENV)/.installed-dev system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check throughline tests bench
	$(BIN)/ruff format --check throughline tests bench

format: $(VENV)/.installed-dev
	$(BIN)/ruff format throughline tests bench
	$(BIN)/ruff check --fix throughline tests bench

clean:
	rm -rf $(VENV)
