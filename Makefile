# ThVC developer and CI entry points.  `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

VENV          := .venv
PYTHON        := $(VENV)/bin/python
PIP           := $(VENV)/bin/pip
STAMP_INSTALL := $(VENV)/.stamp-install
STAMP_BENCH   := $(VENV)/.stamp-bench
# tus-js-client for tests/uploads/test_tus_clients.py, pinned by tests/js/package-lock.json.
STAMP_JS      := tests/js/node_modules/.stamp-npm-ci
# The web assets: KERN UX, htmx and Uppy (pinned by frontend/package-lock.json), bundled by
# frontend/build.mjs into src/thvc/web/static/dist/ (the manifest is written last), and
# axe-core for the browser tests (frontend/build/axe.min.js, not served).
STAMP_FRONTEND := frontend/node_modules/.stamp-npm-ci
FRONTEND_OUT  := src/thvc/web/static/dist/manifest.json
AXE_JS        := frontend/build/axe.min.js
FRONTEND_SRC  := frontend/build.mjs $(shell find frontend/src -type f 2>/dev/null)
# Extra arguments for both pytest passes of `make test`, e.g. PYTEST_ARGS="-k dav -x".
PYTEST_ARGS   ?=
# Extra arguments for `make bench`/`bench-quick`, e.g. BENCH_ARGS="--targets thvc,rclone".
BENCH_ARGS    ?=

SYSTEM_PACKAGES := postgresql litmus rclone nextcloud-desktop-cmd owncloud-client-cmd chromium
SYSTEM_COMMANDS := litmus rclone nextcloudcmd owncloudcmd chromium
# node and npm: Debian's, unless some are there already (a machine may have Node.js from
# elsewhere, which Debian's npm conflicts with: so never both lists in one apt-get).
NODE_PACKAGES := nodejs npm
# root runs apt-get directly; anyone else through sudo (if there is one)
SUDO := $(shell if [ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then echo sudo; fi)

.PHONY: help install node-deps system-deps test-deps test run lint bench bench-quick bench-deps screenshots clean

help: ## list the targets
	@echo "ThVC make targets:"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN {FS = ":.*## "} {printf "  %-12s %s\n", $$1, $$2}'

install: $(STAMP_INSTALL) $(FRONTEND_OUT) $(AXE_JS) ## create .venv (pinned dependencies, thvc editable); build the web assets (npm ci, esbuild)

$(PYTHON):
	python3 -m venv $(VENV)

$(STAMP_INSTALL): requirements.lock pyproject.toml | $(PYTHON)
	$(PIP) install -r requirements.lock
	$(PIP) install --no-deps -e .
	touch $@

$(STAMP_FRONTEND): frontend/package.json frontend/package-lock.json | node-deps
	npm ci --no-audit --no-fund --prefix frontend
	touch $@

# One run writes both (grouped target); it runs again when the packages or the sources change.
$(FRONTEND_OUT) $(AXE_JS) &: $(STAMP_FRONTEND) $(FRONTEND_SRC)
	node frontend/build.mjs

# node and npm for the targets above (apt, only if either is missing)
node-deps:
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then exit 0; fi; \
	echo "node-deps: node or npm missing -> installing $(NODE_PACKAGES)"; \
	if [ "$$(id -u)" -ne 0 ] && [ -z "$(SUDO)" ]; then \
	  echo "node-deps: not root and no sudo; install as root: apt-get install $(NODE_PACKAGES)" >&2; \
	  exit 1; \
	fi; \
	$(SUDO) apt-get update; \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	  $(NODE_PACKAGES)

system-deps: node-deps ## install PostgreSQL, litmus, rclone, the sync clients, Chromium, Node.js (apt) if missing
	@missing=""; \
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing="$$missing initdb"; \
	for cmd in $(SYSTEM_COMMANDS); do \
	  command -v "$$cmd" >/dev/null 2>&1 || missing="$$missing $$cmd"; \
	done; \
	if [ -z "$$missing" ]; then echo "system-deps: all present"; exit 0; fi; \
	echo "system-deps: missing:$$missing -> installing $(SYSTEM_PACKAGES)"; \
	if [ "$$(id -u)" -ne 0 ] && [ -z "$(SUDO)" ]; then \
	  echo "system-deps: not root and no sudo; install as root: apt-get install $(SYSTEM_PACKAGES)" >&2; \
	  exit 1; \
	fi; \
	$(SUDO) apt-get update; \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	  $(SYSTEM_PACKAGES); \
	echo "system-deps: done. (A Debian cluster on port 5432 may run; the tests do not use it:"; \
	echo "             they start their own cluster on a Unix socket under /tmp, without TCP.)"

test-deps: $(STAMP_JS) ## install the suite's npm packages (tests/js: tus-js-client) with npm ci

$(STAMP_JS): tests/js/package.json tests/js/package-lock.json | system-deps
	npm ci --no-audit --no-fund --prefix tests/js
	touch $@

test: install system-deps test-deps ## lint, then the test suite on SQLite and on PostgreSQL
	scripts/test.sh $(PYTEST_ARGS)

run: install ## initialise (prints the first operator's credentials once) and serve
	$(VENV)/bin/thvc init
	exec $(VENV)/bin/thvc serve

lint: install ## ruff check, ruff format --check, mypy
	@rc=0; \
	echo "+ ruff check src tests"; $(VENV)/bin/ruff check src tests || rc=1; \
	echo "+ ruff format --check src tests"; $(VENV)/bin/ruff format --check src tests || rc=1; \
	echo "+ mypy"; $(VENV)/bin/mypy || rc=1; \
	exit $$rc

# The peers ThVC is measured against (issue 7) and the tools that measure; PostgreSQL for the
# second ThVC column. nginx-extras brings nginx with its DAV modules.
BENCH_PACKAGES := nginx-extras wrk rclone curl postgresql

bench-deps: $(STAMP_BENCH) ## install the benchmark peers and tools (apt) and bench/requirements.txt
	@missing=""; \
	for cmd in wrk rclone curl; do command -v "$$cmd" >/dev/null 2>&1 || missing="$$missing $$cmd"; done; \
	[ -e /usr/lib/nginx/modules/ngx_http_dav_ext_module.so ] || missing="$$missing nginx-dav-ext"; \
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing="$$missing initdb"; \
	if [ -z "$$missing" ]; then echo "bench-deps: all present"; exit 0; fi; \
	echo "bench-deps: missing:$$missing -> installing $(BENCH_PACKAGES)"; \
	if [ "$$(id -u)" -ne 0 ] && [ -z "$(SUDO)" ]; then \
	  echo "bench-deps: not root and no sudo; as root: apt-get install $(BENCH_PACKAGES)" >&2; \
	  exit 1; \
	fi; \
	$(SUDO) apt-get update; \
	policy=""; \
	if [ ! -e /usr/sbin/policy-rc.d ]; then \
	  printf '#!/bin/sh\nexit 101\n' | $(SUDO) tee /usr/sbin/policy-rc.d >/dev/null; \
	  $(SUDO) chmod 755 /usr/sbin/policy-rc.d; policy=1; \
	fi; \
	rc=0; $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	  $(BENCH_PACKAGES) || rc=$$?; \
	if [ -n "$$policy" ]; then $(SUDO) rm -f /usr/sbin/policy-rc.d; fi; \
	exit $$rc

# Installed with requirements.lock as constraints: the application's pins stay as they are.
$(STAMP_BENCH): bench/requirements.txt requirements.lock | $(STAMP_INSTALL)
	$(PIP) install -c requirements.lock -r bench/requirements.txt
	touch $@

bench: install bench-deps ## ThVC vs rclone, nginx, WsgiDAV and the disk: workloads 1-6 (< 30 min)
	$(PYTHON) -m bench.run $(BENCH_ARGS)

bench-quick: install bench-deps ## the same, workloads 1-5 with fewer repetitions (< 5 min)
	$(PYTHON) -m bench.run --quick $(BENCH_ARGS)

screenshots: install system-deps ## docs/screenshots/*.png: the main pages, in German and English
	$(PYTHON) -m scripts.screenshots

clean: ## remove var/ and caches (keeps .venv)
	rm -rf var/ .pytest_cache/ .ruff_cache/ .mypy_cache/ build/ dist/ src/*.egg-info/
	find src tests scripts -type d -name __pycache__ -prune -exec rm -rf {} + 2>/dev/null || true
