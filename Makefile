# The project's commands. Each installs what it needs on a fresh clone: a virtualenv with the
# requirements, and Azurite and postal-mime (a second MIME parser for the tests) from npm.

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# checkov (the security scan of infra/) has its own virtualenv: it pins an older Bicep parser that would
# conflict with other tools.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: help deps test lint run bench chaos clean chromium dovecot lock

help:
	@echo "make run    archive the bundled demo tenant through the local world, then print a summary"
	@echo "make test   run the whole test suite (unit, contract, integration against Azurite and the emulators)"
	@echo "make bench  measure speed and memory"
	@echo "make chaos  the kill test: SIGKILL the local host KILLS times (100), recover, check nothing is lost"
	@echo "make lint   ruff"
	@echo "make lock   pin requirements.in into requirements.txt (what Azure installs)"

$(PY_STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

deps: $(PY_STAMP) $(NODE_STAMP)

# The status page test drives Debian's headless Chromium; installed once (needs root, as in CI).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The message readers' test hands every message it makes to Debian's Dovecot IMAP server, which the test
# fixtures start on a free port; installed once (needs root, as in CI).
dovecot:
	@command -v dovecot >/dev/null 2>&1 || test -x /usr/sbin/dovecot || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd; }

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: deps lint $(CHECKOV_STAMP) chromium dovecot
	$(BIN)/python -m pytest

# requirements.txt is generated: the exact versions of the runtime closure, which Azure's remote build and the tests
# install alike. Edit the ranges in requirements.in, then run this.
lock: $(PY_STAMP)
	$(BIN)/pip-compile --quiet --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --output-file requirements.txt requirements.in

run: deps
	$(BIN)/python -m local.demo

bench: deps
	$(BIN)/python -m local.bench

# The kill test's long form; `make test` runs a short one (tests/integration/test_chaos.py).
KILLS ?= 100
chaos: deps
	$(BIN)/python -m local.chaos --kills $(KILLS)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules .pytest_cache .ruff_cache .hypothesis .local .bench
