# The one command runner. `make run` serves the demo; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint format bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Test tools from npm: axe-core (accessibility checks) and oidc-provider (the SSO tests' identity provider).
node_modules/.installed-stamp: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm install --silent --no-audit --no-fund && touch $@; \
	  else echo "npm not found: the browser tests' accessibility checks and the SSO tests cannot run"; fi

install: $(STAMP) node_modules/.installed-stamp

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: install
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every benchmark, then one table (figure beside its floor). BENCH_PEOPLE=100000 for the full size.
bench: $(STAMP)
	$(BIN)/python bench/summary.py

clean:
	rm -rf $(VENV) node_modules var
