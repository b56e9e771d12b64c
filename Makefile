# innopoints — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-pg test-browser bench lint format messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)  ## build the demo zone on the embedded SQLite database and serve it
	$(BIN)/innopoints demo

test: $(STAMP)  ## the whole suite (browser tests skip when Chromium is missing)
	$(BIN)/python -m pytest

bench: $(STAMP)  ## benchmarks; results go to docs/benchmarks.md by hand
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

messages: $(STAMP)  ## refresh and compile the Chinese catalogue (needs Debian gettext)
	cd src/innopoints && DJANGO_SETTINGS_MODULE=innopoints.site.settings \
	  ../../$(BIN)/django-admin makemessages -l zh_Hans --ignore "engine/*" --ignore "specs/*"
	cd src/innopoints && DJANGO_SETTINGS_MODULE=innopoints.site.settings \
	  ../../$(BIN)/django-admin compilemessages -l zh_Hans

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
