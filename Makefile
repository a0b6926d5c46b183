# memstore developer commands. `make install` first; every target uses .venv.
PY ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)
SERVICES_DIR ?= /tmp/memstore-services
# Extra pytest arguments for `make test`, e.g. PYTEST_ARGS='-x -q tests/test_api.py'.
PYTEST_ARGS ?=

.PHONY: install test check lint types services services-stop services-cluster \
	services-cluster-stop bench bench-recall bench-peers bench-copy bench-overhead clean docs \
	release-check

install:
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -e '.[dev]'

# The whole suite, servers included. The servers are the ones in $$MEMSTORE_TEST_*_URL (CI
# exports them), else those of `make services`, else throwaway ones that
# .ci/with-services.sh starts for this run and stops afterwards; it also runs
# `npm ci --prefix tests/interop` when tests/interop/node_modules is missing.
test:
	@SERVICES_DIR='$(SERVICES_DIR)' bash .ci/with-services.sh $(PY) -m pytest $(PYTEST_ARGS)

lint:
	$(PY) -m ruff check memstore tests examples

types:
	$(PY) -m mypy --strict memstore

check: lint types test

# The documentation site, built as the tests build it (warnings are errors), into site/.
docs:
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

# The release rehearsal CI runs: sdist + wheel (python -m build), twine check --strict,
# the wheel installed in a fresh venv running the quick start and an integration example.
release-check:
	bash .ci/release-check.sh

# Servers that stay up until `make services-stop` (`make test` finds them by SERVICES_DIR).
# Prints `export` lines to paste into a shell, for running pytest yourself.
services:
	@bash .ci/services.sh start '$(SERVICES_DIR)' >/dev/null
	@bash .ci/turso-server.sh start '$(SERVICES_DIR)-turso' >/dev/null
	@. '$(SERVICES_DIR)-turso/env' && bash .ci/sqld-tls.sh start '$(SERVICES_DIR)-tls' >/dev/null \
		|| echo "# no TLS in front of sqld (see above): tests/test_tls.py will be skipped" >&2
	@echo "# test servers running; for pytest in your shell, paste these lines or run"
	@echo "#   . $(SERVICES_DIR)/env; . $(SERVICES_DIR)-turso/env; . $(SERVICES_DIR)-tls/env"
	@cat '$(SERVICES_DIR)/env' '$(SERVICES_DIR)-turso/env'
	@cat '$(SERVICES_DIR)-tls/env' 2>/dev/null || true

services-stop:
	bash .ci/services.sh stop '$(SERVICES_DIR)'
	bash .ci/sqld-tls.sh stop '$(SERVICES_DIR)-tls'
	bash .ci/turso-server.sh stop '$(SERVICES_DIR)-turso'

# The distributed engines for tests/test_distributed.py: a 3-node MariaDB Galera cluster
# and an sqld primary + replica, on 127.0.0.1, up until `make services-cluster-stop`.
# Prints `export` lines; pytest needs them in its environment (`make test` does not read
# these files: source them first).
services-cluster:
	@bash .ci/galera.sh start '$(SERVICES_DIR)-galera' >/dev/null
	@bash .ci/sqld-replica.sh start '$(SERVICES_DIR)-sqld-replica' >/dev/null
	@echo "# distributed test servers running; for pytest in your shell, paste these lines or run"
	@echo "#   . $(SERVICES_DIR)-galera/env; . $(SERVICES_DIR)-sqld-replica/env"
	@cat '$(SERVICES_DIR)-galera/env' '$(SERVICES_DIR)-sqld-replica/env'

services-cluster-stop:
	bash .ci/galera.sh stop '$(SERVICES_DIR)-galera'
	bash .ci/sqld-replica.sh stop '$(SERVICES_DIR)-sqld-replica'

# ROWS=1000000 for the full run. Uses the servers in $$MEMSTORE_TEST_*_URL when set, else
# starts its own with .ci/services.sh and .ci/turso-server.sh (stopped at the end).
ROWS ?= 200000
BACKENDS ?= sqlite,libsql,turso-file,turso-http,turso-ws,postgres,mysql,memory
bench: | .venv/bin/python
	.venv/bin/python -m bench --rows $(ROWS) --backends $(BACKENDS)
	.venv/bin/python -m bench.recall --rows $(RECALL_ROWS)

# Search (docs/recall.md): keyword and semantic search of a user with 10,000 messages in
# tables of RECALL_ROWS and RECALL_ROWS/10 messages on every SQL backend, and recall@5 on
# bench/recall_set.json.
RECALL_ROWS ?= 1000000
bench-recall: | .venv/bin/python
	.venv/bin/python -m bench.recall --rows $(RECALL_ROWS)

# A fresh checkout: `make bench` installs memstore and its drivers first (the servers it
# needs are installed and started by .ci/services.sh and .ci/turso-server.sh).
.venv/bin/python:
	$(MAKE) install

# `memstore copy` SQLite -> PostgreSQL at 100k and 1M messages: messages/s and the copying
# process's peak memory. Needs $$MEMSTORE_TEST_POSTGRES_URL (`make services`, then source its env).
# memstore's own Python per call on SQLite in memory (no I/O), against the budget of
# issue 20, with the functions that take it (--profile).
bench-overhead: | .venv/bin/python
	.venv/bin/python -m bench.overhead --profile

bench-copy: | .venv/bin/python
	.venv/bin/python -m bench.copy --sizes 100000,1000000

# Other libraries' chat histories on the same data; their packages go into a venv of
# their own (bench/requirements-peers.txt), never into memstore's extras. bench.peers times
# the core API, bench.peers_frameworks memstore's integrations against each framework's stores.
PEERS_VENV ?= bench/.venv-peers
bench-peers:
	@test -x $(PEERS_VENV)/bin/python || python3 -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install -q -r bench/requirements-peers.txt -e '.[langchain,llama-index,agents]'
	$(PEERS_VENV)/bin/python -m bench.peers --rows $(ROWS)
	$(PEERS_VENV)/bin/python -m bench.peers_frameworks --rows $(ROWS)

clean:
	rm -rf .venv build dist site *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
