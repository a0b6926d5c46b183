# memstore developer commands. `make install` first; every target uses .venv.
PY ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)
SERVICES_DIR ?= /tmp/memstore-services
# Server URLs from `make services`, when it has been run (CI exports them itself).
WITH_SERVICES = if [ -z "$$MEMSTORE_TEST_POSTGRES_URL" ] && [ -f $(SERVICES_DIR)/env ]; then . $(SERVICES_DIR)/env; fi; \
	if [ -z "$$MEMSTORE_TEST_TURSO_URL" ] && [ -f $(SERVICES_DIR)-turso/env ]; then . $(SERVICES_DIR)-turso/env; fi;

.PHONY: install test check lint types services services-stop bench bench-peers clean

install:
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -e '.[dev]'

test:
	@$(WITH_SERVICES) $(PY) -m pytest

lint:
	$(PY) -m ruff check memstore tests examples

types:
	$(PY) -m mypy --strict memstore

check: lint types test

services:
	@bash .ci/services.sh start $(SERVICES_DIR) >/dev/null
	@bash .ci/turso-server.sh start $(SERVICES_DIR)-turso >/dev/null
	@echo "test servers running; their URLs (also in $(SERVICES_DIR)/env and $(SERVICES_DIR)-turso/env):"
	@grep URL $(SERVICES_DIR)/env $(SERVICES_DIR)-turso/env

services-stop:
	bash .ci/services.sh stop $(SERVICES_DIR)
	bash .ci/turso-server.sh stop $(SERVICES_DIR)-turso

# ROWS=1000000 for the full run. Uses the servers in $$MEMSTORE_TEST_*_URL when set, else
# starts its own with .ci/services.sh and .ci/turso-server.sh (stopped at the end).
ROWS ?= 200000
BACKENDS ?= sqlite,libsql,turso-file,turso-http,turso-ws,postgres,mysql,memory
bench: | .venv/bin/python
	.venv/bin/python -m bench --rows $(ROWS) --backends $(BACKENDS)

# A fresh checkout: `make bench` installs memstore and its drivers first (the servers it
# needs are installed and started by .ci/services.sh and .ci/turso-server.sh).
.venv/bin/python:
	$(MAKE) install

# Other libraries' chat histories on the same data; their packages go into a venv of
# their own (bench/requirements-peers.txt), never into memstore's extras.
PEERS_VENV ?= bench/.venv-peers
bench-peers:
	@test -x $(PEERS_VENV)/bin/python || python3 -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install -q -r bench/requirements-peers.txt -e .
	$(PEERS_VENV)/bin/python -m bench.peers --rows $(ROWS)

clean:
	rm -rf .venv build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
