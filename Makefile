# The two commands a newcomer needs:
#   make demo   set up, load the demo organisation and serve it on embedded SQLite
#   make test   set up and run the whole test suite (SQLite; DATABASE_URL for PostgreSQL)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The port `make demo` and `make serve` listen on: make demo PORT=8101
PORT ?= 8000
# The database: var/ in this checkout, the app's own default however it is started
# (STAGECOACH_DATA_DIR or DATABASE_URL in the environment choose another).

.PHONY: demo serve test test-postgres lint typecheck check-migrations bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/stagecoach demo --port $(PORT)

serve: $(VENV)/.installed
	$(BIN)/stagecoach serve --port $(PORT)

test: $(VENV)/.installed-dev
	bash scripts/ensure-chromium
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

test-postgres: $(VENV)/.installed-dev
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} $(MAKE) test

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy stagecoach

check-migrations: $(VENV)/.installed-dev
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var
