#!/usr/bin/env bash
# A local TLS terminator (Debian's stunnel4) with a throwaway CA, in front of the sqld of
# .ci/turso-server.sh, so memstore's https://, wss:// and libsql:// URLs are tested end to
# end with certificate verification on (tests/test_tls.py).
#
#   eval "$(bash .ci/turso-server.sh start DIR1)"   # sqld: MEMSTORE_TEST_TURSO_URL
#   bash .ci/sqld-tls.sh start [STATE_DIR]          # default /tmp/memstore-sqld-tls
#   bash .ci/sqld-tls.sh stop  [STATE_DIR]
#
# `start` fronts the sqld at $MEMSTORE_TEST_TURSO_URL (http://127.0.0.1:PORT, from the
# environment). It prints only `export ...` lines on stdout (chatter goes to stderr), so
# callers can do:  eval "$(bash .ci/sqld-tls.sh start DIR)"; the same lines go to
# STATE_DIR/env:
#   MEMSTORE_TEST_TURSO_TLS_URL      https://127.0.0.1:PORT: TLS on PORT, then plain bytes
#                                    to sqld, so wss://127.0.0.1:PORT and
#                                    libsql://127.0.0.1:PORT (= wss) reach it as well
#   MEMSTORE_TEST_TURSO_TLS_PORT     PORT
#   MEMSTORE_TEST_TURSO_TLS_CA       the CA certificate (PEM) that signed the server's; give
#                                    it to clients as SSL_CERT_FILE (see tests/test_tls.py)
#   MEMSTORE_TEST_TURSO_TLS_PIDFILE  stunnel's pid file
#   MEMSTORE_TEST_TURSO_TLS_UPSTREAM the sqld it fronts ($MEMSTORE_TEST_TURSO_URL at start)
# The server certificate is for 127.0.0.1 and localhost (subjectAltName IP:127.0.0.1,
# DNS:localhost), valid for 30 days; the CA key is thrown away once it has signed it.
#
# stunnel4 is installed with apt-get when missing (root on Debian only; output in
# STATE_DIR/apt.log). It is a raw TLS tunnel: HTTP and WebSocket (sqld serves both on one
# port) pass through it unchanged.
set -Eeuo pipefail

cmd=${1:-}
STATE_DIR=${2:-/tmp/memstore-sqld-tls}
MARKER=.memstore-sqld-tls  # marks STATE_DIR as ours, so we never rm -rf something else

log() { printf 'sqld-tls.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # free_port, stop_group

[[ $cmd == start || $cmd == stop ]] || { echo "usage: $0 {start|stop} [STATE_DIR]" >&2; exit 2; }
[[ $STATE_DIR == /* ]] || STATE_DIR="$PWD/$STATE_DIR"
STATE_DIR=${STATE_DIR%/}
PID_FILE=$STATE_DIR/stunnel.pid
LOG=$STATE_DIR/stunnel.log

stop_stunnel() {
    [[ -f $PID_FILE ]] || return 0
    local pid
    pid=$(cat "$PID_FILE" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    # A stale pid file may name a pid that now belongs to something else.
    [[ $(ps -p "$pid" -o comm= 2>/dev/null) == stunnel* ]] || return 0
    log "stopping stunnel (pid $pid)"
    stop_group "$pid"
    rm -f "$PID_FILE"
}

if [[ $cmd == stop ]]; then
    [[ -d $STATE_DIR ]] || { log "nothing to stop: $STATE_DIR does not exist"; exit 0; }
    stop_stunnel
    log "stopped stunnel in $STATE_DIR"
    exit 0
fi

# ---------------------------------------------------------------- starting --

find_stunnel() { command -v stunnel4 || command -v stunnel; }

install_missing() {
    find_stunnel >/dev/null && return 0
    if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
        die "stunnel4 is missing; install it (Debian: apt-get install stunnel4) or run as root on Debian"
    fi
    log "installing stunnel4 (apt output in $STATE_DIR/apt.log)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >>"$STATE_DIR/apt.log" 2>&1
    apt-get install -y stunnel4 >>"$STATE_DIR/apt.log" 2>&1
    find_stunnel >/dev/null || die "stunnel4 installed but no stunnel4 or stunnel command found"
}

# A CA (ca.pem, its key deleted after signing) and a server certificate for 127.0.0.1 and
# localhost (server.pem, server.key). The extensions are those strict verifiers want
# (Python 3.13's VERIFY_X509_STRICT among them): CA:TRUE + keyCertSign on the CA, key
# identifiers, serverAuth and CA:FALSE on the server's.
make_certs() {
    local d=$STATE_DIR
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$d/ca.key" -out "$d/ca.pem" -days 30 \
        -subj "/CN=memstore test CA $(date -u +%Y%m%dT%H%M%SZ)" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" 2>>"$d/openssl.log"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=localhost" 2>>"$d/openssl.log"
    cat >"$d/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
        -CAcreateserial -days 30 -extfile "$d/server.ext" -out "$d/server.pem" \
        2>>"$d/openssl.log"
    rm -f "$d/ca.key" "$d/server.csr" "$d/ca.srl"
    chmod 600 "$d/server.key"
}

# True once a TLS client that trusts only our CA gets an HTTP answer from sqld through
# stunnel on port $1 (any status: sqld's /health is 200).
answers_tls() {
    python3 - "$1" "$STATE_DIR/ca.pem" <<'PY' 2>/dev/null
import ssl, sys, urllib.request, urllib.error
ctx = ssl.create_default_context(cafile=sys.argv[2])
try:
    urllib.request.urlopen(f"https://127.0.0.1:{sys.argv[1]}/health", timeout=2, context=ctx)
except urllib.error.HTTPError:
    pass
PY
}

# True when sqld answers plain HTTP at $1:$2.
answers_plain() {
    python3 - "$1" "$2" <<'PY' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/health", timeout=2)
except urllib.error.HTTPError:
    pass
PY
}

on_exit() {
    local rc=$?
    ((rc)) || return 0
    [[ -s $LOG ]] && { log "---- last lines of $LOG ----"; tail -n 40 "$LOG" >&2; }
    stop_stunnel || true
    log "start failed; see $STATE_DIR"
    exit "$rc"
}

# The sqld to front: http://127.0.0.1:PORT (or ws://), from .ci/turso-server.sh.
UPSTREAM=${MEMSTORE_TEST_TURSO_URL:-}
[[ -n $UPSTREAM ]] || die "MEMSTORE_TEST_TURSO_URL is not set; start sqld first: eval \"\$(bash .ci/turso-server.sh start DIR)\""
[[ $UPSTREAM =~ ^(http|ws)://([^/:?#]+):([0-9]+)/?$ ]] ||
    die "MEMSTORE_TEST_TURSO_URL must be http://HOST:PORT (plain sqld), not ${UPSTREAM%%\?*}"
UP_HOST=${BASH_REMATCH[2]}
UP_PORT=${BASH_REMATCH[3]}

if [[ -d $STATE_DIR ]]; then
    if [[ ! -e $STATE_DIR/$MARKER ]] && [[ -n $(ls -A "$STATE_DIR") ]]; then
        die "$STATE_DIR exists, is not empty and was not created by this script; refusing to delete it"
    fi
    stop_stunnel
    rm -rf "$STATE_DIR"
fi
mkdir -p "$STATE_DIR"
touch "$STATE_DIR/$MARKER"
trap on_exit EXIT

command -v openssl >/dev/null || die "openssl is needed to make the certificates"
answers_plain "$UP_HOST" "$UP_PORT" || die "no sqld answers at $UPSTREAM (MEMSTORE_TEST_TURSO_URL)"
install_missing
STUNNEL=$(find_stunnel)
make_certs
PORT=$(free_port)
# foreground: stunnel stays our child (setsid makes it a group leader, for stop_group)
# and logs to stderr; no pid file of its own, no setuid (it only reads STATE_DIR).
cat >"$STATE_DIR/stunnel.conf" <<EOF
foreground = yes
pid =
debug = notice
syslog = no

[sqld]
accept = 127.0.0.1:$PORT
connect = $UP_HOST:$UP_PORT
cert = $STATE_DIR/server.pem
key = $STATE_DIR/server.key
sslVersionMin = TLSv1.2
EOF
log "$("$STUNNEL" -version 2>&1 | grep -m 1 "^stunnel" || true); TLS on 127.0.0.1:$PORT -> sqld at $UP_HOST:$UP_PORT"
setsid "$STUNNEL" "$STATE_DIR/stunnel.conf" </dev/null >>"$LOG" 2>&1 &
echo $! >"$PID_FILE"
deadline=$((SECONDS + 30))
until answers_tls "$PORT"; do
    kill -0 "$(cat "$PID_FILE")" 2>/dev/null || die "stunnel exited during startup"
    ((SECONDS < deadline)) || die "no answer through stunnel on port $PORT after 30s (is sqld at $UP_HOST:$UP_PORT up?)"
    sleep 0.2
done

printf 'export %s=%q\n' \
    MEMSTORE_TEST_TURSO_TLS_URL "https://127.0.0.1:$PORT" \
    MEMSTORE_TEST_TURSO_TLS_PORT "$PORT" \
    MEMSTORE_TEST_TURSO_TLS_CA "$STATE_DIR/ca.pem" \
    MEMSTORE_TEST_TURSO_TLS_PIDFILE "$PID_FILE" \
    MEMSTORE_TEST_TURSO_TLS_UPSTREAM "$UPSTREAM" \
    >"$STATE_DIR/env"
log "stunnel running; settings in $STATE_DIR/env"
cat "$STATE_DIR/env"
