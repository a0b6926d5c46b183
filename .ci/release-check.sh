#!/usr/bin/env bash
# The release rehearsal: build the sdist and the wheel as a release would (python -m build),
# check them as PyPI would (twine check --strict), install the wheel (not the checkout) in
# a fresh venv, and run the quick start and one integration example against it, outside
# the source tree. Needs `make install` first (build and twine come with the dev extra).
# Usage: bash .ci/release-check.sh [WORK_DIR]   (default: a new temp dir, removed at the end)
set -Eeuo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
if [[ $# -ge 1 ]]; then work=$1; mkdir -p "$work"; else
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi

echo "== release check: build"
.venv/bin/python -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 \
  || { cat "$work/build.log"; exit 1; }
ls "$work"/dist
.venv/bin/python -m twine check --strict "$work"/dist/*

echo "== release check: the wheel in a fresh venv"
python3 -m venv "$work/venv"
wheel=$(ls "$work"/dist/memstore_sql-*.whl)
# Installed by its distribution name, memstore-sql, with extras, from the built wheel.
"$work/venv/bin/pip" install -q "$wheel[postgres,langchain]"
cd "$work"  # outside the source tree: `import memstore` must find the installed wheel
venv/bin/python -c "
import importlib.metadata as md, sys, psycopg, memstore
assert md.version('memstore-sql') == memstore.__version__, md.version('memstore-sql')
assert memstore.__file__.startswith(sys.prefix), memstore.__file__
assert callable(memstore.connect)"
venv/bin/memstore --version
venv/bin/memstore schema sqlite >/dev/null
venv/bin/python "$repo/examples/quickstart.py"
venv/bin/memstore chats sqlite:///quickstart.db
venv/bin/python "$repo/examples/langchain_agent.py"
echo "== release check: passed"
