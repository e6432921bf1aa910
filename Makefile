# Xinqiao — `make run` serves the demo city, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test migrations-check assets messages migrate seed serve lint typecheck bench-quick system-deps clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-run

# Front-end assets come from the npm registry at build time; nothing is vendored into git.
build/static/vendor/.stamp: package.json package-lock.json scripts/copy_assets.py
	npm ci --no-audit --no-fund --loglevel=error
	$(PYTHON) scripts/copy_assets.py
	touch $@

assets: build/static/vendor/.stamp

messages: $(VENV)/.installed-run
	$(PY) scripts/compile_messages.py

migrate: $(VENV)/.installed-run
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo --if-empty

serve:
	@echo "Serving Xinqiao at http://$(HOST):$(PORT)/  (Ctrl+C to stop)"
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload

# One Python process migrates, seeds (only an empty database) and serves: a second run is quick.
run: $(VENV)/.installed-run assets messages
	$(PY) manage.py serve_demo $(HOST):$(PORT)

# Browser tests drive Debian's Chromium and the catalogue test uses GNU gettext's xgettext;
# install them with apt when missing (as root), else those tests skip loudly.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! command -v xgettext >/dev/null || ! command -v redis-server >/dev/null; then \
		if [ "$$(id -u)" = "0" ]; then \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk gettext redis-server >/dev/null) \
			|| echo "!!! could not install chromium/gettext/redis-server: browser, catalogue and broker fault tests will be SKIPPED"; \
		else \
			echo "!!! chromium, gettext or redis-server missing and not root: browser/catalogue/broker fault tests will be SKIPPED (sudo apt-get install chromium gettext redis-server)"; \
		fi; \
	fi

# Everything but the browser tests in parallel, one worker per core (pytest-xdist; each worker
# has its own test database, on PostgreSQL test_<name>_gw0, _gw1, …), then the browser tests in
# a session of their own (parallel too): on SQLite their test database is a file, so that each
# thread of the live server has its own connection (tests/e2e/conftest.py). Both always run; the 25
# slowest tests are printed so they are seen. One of them selecting no test (exit status 5, e.g.
# PYTEST_ARGS=tests/people) is not a failure; both selecting none is.
TEST_WORKERS ?= auto
test: $(VENV)/.installed-dev assets messages system-deps
	@$(PY) -m pytest -n $(TEST_WORKERS) --durations=25 -m "not e2e" $(PYTEST_ARGS); rest=$$?; \
	$(PY) -m pytest -n $(TEST_WORKERS) --durations=10 -m e2e $(PYTEST_ARGS); e2e=$$?; \
	for s in $$rest $$e2e; do [ $$s -eq 0 ] || [ $$s -eq 5 ] || exit $$s; done; \
	[ $$rest -eq 0 ] || [ $$e2e -eq 0 ] || { echo "make test: no test was selected"; exit 5; }

# A model change without its migration fails CI.
migrations-check: $(VENV)/.installed-run
	$(PY) manage.py makemigrations --check --dry-run

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(VENV)/bin/mypy xinqiao config bench

bench-quick: $(VENV)/.installed-dev
	for script in bench/*.py; do $(PY) $$script --quick || exit 1; done

clean:
	rm -rf $(VENV) build node_modules staticfiles
