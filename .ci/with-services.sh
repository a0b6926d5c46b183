#!/usr/bin/env bash
# Run a command (`make test`: pytest) with the test servers' settings in its environment,
# so the whole suite runs, on any machine:
#
#   bash .ci/with-services.sh COMMAND [ARGS...]
#
# For PostgreSQL + MariaDB (.ci/services.sh), for sqld (.ci/turso-server.sh) and for TLS in
# front of that sqld (.ci/sqld-tls.sh, env file $SERVICES_DIR-tls/env), each:
#   1. MEMSTORE_TEST_*_URL already set (CI exports them; or you did): used as they are;
#   2. else the env file `make services` wrote ($SERVICES_DIR/env, $SERVICES_DIR-turso/env,
#      SERVICES_DIR defaults to /tmp/memstore-services), if its servers still answer;
#   3. else throwaway servers in a new temp dir, started here and stopped and deleted when
#      COMMAND ends (also on failure or Ctrl-C). Servers started by anyone else are never
#      touched. If they cannot be started, COMMAND runs without them (locally their tests
#      are skipped, saying so; with CI=true they fail).
# MEMSTORE_TEST_START_SERVICES=0 skips step 3 (e.g. for a quick run of the SQLite tests).
#
# It also runs `npm ci --prefix tests/interop` when tests/interop/node_modules is missing
# (the TypeScript side of the interop tests), if npm is installed.
#
# Chatter goes to stderr; COMMAND's exit status is this script's exit status.
set -Eeuo pipefail

(($#)) || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
SERVICES_DIR=${SERVICES_DIR:-/tmp/memstore-services}
START=${MEMSTORE_TEST_START_SERVICES:-1}

log() { printf 'with-services.sh: %s\n' "$*" >&2; }

# True when something accepts TCP connections at the host:port of URL $1.
answers() {
    python3 - "$1" <<'PY' 2>/dev/null
import socket, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
socket.create_connection((u.hostname, u.port), timeout=2).close()
PY
}

# Source env file $1 if it exists and the servers at the URLs it names (vars $2...) answer.
use_env_file() {
    local file=$1 var
    shift
    [[ -f $file ]] || return 1
    (
        # shellcheck disable=SC1090
        . "$file"
        for var in "$@"; do
            [[ -n ${!var:-} ]] && answers "${!var}" || exit 1
        done
    ) || { log "$file is there but its servers do not answer (run \`make services\` again)"; return 1; }
    # shellcheck disable=SC1090
    . "$file"
    log "using the servers in $file"
}

started=()  # "script dir" pairs to stop at the end
cleanup() {
    local entry script dir
    for entry in "${started[@]}"; do
        script=${entry%% *}
        dir=${entry#* }
        bash "$repo/.ci/$script" stop "$dir" || true
        # The scripts put a marker in the dirs they create; only such a dir is deleted.
        if [[ -e $dir/.memstore-services || -e $dir/.memstore-turso ||
              -e $dir/.memstore-sqld-tls ]]; then
            rm -rf "$dir"
        fi
    done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Start .ci/$1 in a new temp dir named after $2 and put its exports into our environment.
start_own() {
    local script=$1 dir exports
    # Under /tmp, not $TMPDIR: as root the servers run as the postgres and mysql users,
    # who must be able to reach the dir (as in .ci/run).
    dir=$(mktemp -d "/tmp/$2.XXXXXX")
    rmdir "$dir"  # the script creates it and marks it as its own
    started+=("$script $dir")
    log "starting throwaway servers: .ci/$script start $dir"
    if exports=$(bash "$repo/.ci/$script" start "$dir"); then
        eval "$exports"
    else
        log "could not start the servers of .ci/$script; their tests will be skipped (CI=true: fail)"
    fi
}

if [[ -n ${MEMSTORE_TEST_POSTGRES_URL:-}${MEMSTORE_TEST_MYSQL_URL:-} ]]; then
    :  # set by CI or by you: use them as they are
elif use_env_file "$SERVICES_DIR/env" MEMSTORE_TEST_POSTGRES_URL MEMSTORE_TEST_MYSQL_URL; then
    :
elif [[ $START != 0 ]]; then
    start_own services.sh memstore-test-services
fi

if [[ -n ${MEMSTORE_TEST_TURSO_URL:-} ]]; then
    :
elif use_env_file "$SERVICES_DIR-turso/env" MEMSTORE_TEST_TURSO_URL; then
    :
elif [[ $START != 0 ]]; then
    start_own turso-server.sh memstore-test-turso
fi

# TLS in front of that sqld: the env file's only if it fronts this very sqld.
tls_env=$SERVICES_DIR-tls/env
if [[ -n ${MEMSTORE_TEST_TURSO_TLS_PORT:-} || -z ${MEMSTORE_TEST_TURSO_URL:-} ]]; then
    :  # set by CI or by you, or no sqld to put TLS in front of
elif [[ -f $tls_env && $(. "$tls_env"; echo "${MEMSTORE_TEST_TURSO_TLS_UPSTREAM:-}") == "$MEMSTORE_TEST_TURSO_URL" ]] &&
        use_env_file "$tls_env" MEMSTORE_TEST_TURSO_TLS_URL; then
    :
elif [[ $START != 0 ]]; then
    start_own sqld-tls.sh memstore-test-sqld-tls
fi

if [[ ! -d $repo/tests/interop/node_modules ]]; then
    if command -v npm >/dev/null; then
        log "installing the interop tests' npm packages (npm ci --prefix tests/interop)"
        npm ci --prefix "$repo/tests/interop" --no-audit --no-fund >&2 ||
            log "npm ci failed; the interop tests will be skipped (CI=true: fail)"
    else
        log "npm not found; the interop tests will be skipped (CI=true: fail)"
    fi
fi

# Not exec: the EXIT trap must still stop the servers started above.
rc=0
"$@" || rc=$?
exit "$rc"
