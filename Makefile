# Forewarn: `make up` runs the whole system, `make test` runs every test.
# Both do all set-up on a fresh Debian/Ubuntu machine (root, or sudo when needed).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-12)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export FOREWARN_VAR_DIR ?= var

.PHONY: up test bench bench-fleet lint setup system-deps venv broker-init model dashboard clean

up: setup
	./scripts/up.sh

test: setup lint
	./scripts/test.sh

bench: setup
	$(BIN)/python -m bench

# How many machines at 1 Hz the whole stack carries (SQLite and PostgreSQL side by side; ~1 h).
bench-fleet: setup
	$(BIN)/python -m bench fleet

# Style and types: any finding fails (make test runs this first, so CI does too).
lint: venv dashboard
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .
	@if [ -d dashboard/node_modules ]; then \
	  cd dashboard && npm run --silent lint && npm run --silent typecheck; \
	elif [ -n "$${CI:-}" ]; then echo "dashboard not linted: no dashboard/node_modules" >&2; exit 1; \
	else echo "dashboard not linted: needs Node.js >= 20.19 (see scripts/build-dashboard.sh)"; fi

setup: system-deps venv broker-init model dashboard

# Mosquitto (and its clients for the README's examples) from the distribution.
system-deps:
	@command -v mosquitto >/dev/null && command -v mosquitto_pub >/dev/null || { \
	  echo "installing mosquitto"; $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq mosquitto mosquitto-clients >/dev/null; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv >/dev/null; }

venv: $(STAMP)
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	@rm -f $(VENV)/.installed-* && touch $@

broker-init: venv
	@$(BIN)/python -m broker init

model: venv
	@test -f $(FOREWARN_VAR_DIR)/models/current || $(BIN)/python -m training
	@test -f $(FOREWARN_VAR_DIR)/models/current-turbofan || $(BIN)/python -m training install-shipped

dashboard:
	@./scripts/build-dashboard.sh

clean:
	rm -rf $(VENV) dashboard/node_modules dashboard/dist
