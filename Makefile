# memstore developer commands. `make install` first; every target uses .venv.
PY ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)
SERVICES_DIR ?= /tmp/memstore-services
# Server URLs from `make services`, when it has been run (CI exports them itself).
WITH_SERVICES = if [ -z "$$MEMSTORE_TEST_POSTGRES_URL" ] && [ -f $(SERVICES_DIR)/env ]; then . $(SERVICES_DIR)/env; fi;

.PHONY: install test check lint types services services-stop bench clean

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
	@echo "test servers running; their URLs (also in $(SERVICES_DIR)/env):"
	@cat $(SERVICES_DIR)/env | grep URL

services-stop:
	bash .ci/services.sh stop $(SERVICES_DIR)

# ROWS=1000000 for the full run.
ROWS ?= 200000
bench:
	$(PY) -m bench --rows $(ROWS)

clean:
	rm -rf .venv build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
