#!/usr/bin/env bash
# A throwaway MariaDB with TLS and a CA of its own, for the MySQL TLS tests
# (tests/test_mysql_tls.py): memstore's ssl_* URL options must verify the certificate.
# The MariaDB of .ci/services.sh has no TLS (have_ssl DISABLED).
#
#   bash .ci/mariadb-tls.sh start STATE_DIR   # prints `export ...` lines (also STATE_DIR/env)
#   bash .ci/mariadb-tls.sh stop  STATE_DIR
#
#   MEMSTORE_TEST_MYSQL_TLS_URL       mysql://memstore:memstore@127.0.0.1:PORT/memstore_test
#   MEMSTORE_TEST_MYSQL_TLS_CA        the CA that signed the server certificate (for
#                                     127.0.0.1 and localhost)
#   MEMSTORE_TEST_MYSQL_TLS_OTHER_CA  an unrelated CA: verification against it must fail
set -Eeuo pipefail

cmd=${1:-}
STATE_DIR=${2:-}
MARKER=.memstore-mariadb-tls

log() { printf 'mariadb-tls.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # free_port, stop_group

[[ ($cmd == start || $cmd == stop) && -n $STATE_DIR ]] || {
    echo "usage: $0 {start|stop} STATE_DIR" >&2; exit 2; }
[[ $STATE_DIR == /* ]] || STATE_DIR="$PWD/$STATE_DIR"
STATE_DIR=${STATE_DIR%/}
PID_FILE=$STATE_DIR/mariadbd.pid
LOG=$STATE_DIR/mariadbd.log

if [[ $cmd == stop ]]; then
    [[ -f $PID_FILE ]] && stop_group "$(cat "$PID_FILE")"
    [[ -e $STATE_DIR/$MARKER ]] && rm -rf "$STATE_DIR"
    exit 0
fi

if [[ -e $STATE_DIR ]]; then
    [[ -e $STATE_DIR/$MARKER ]] || [[ -z $(ls -A "$STATE_DIR") ]] \
        || die "$STATE_DIR exists and was not created by this script"
    [[ -f $PID_FILE ]] && stop_group "$(cat "$PID_FILE")"
    rm -rf "$STATE_DIR"
fi
mkdir -p "$STATE_DIR"/{data,run,tmp}
touch "$STATE_DIR/$MARKER"
cd /

mariadbd=$(command -v mariadbd || command -v mysqld || ls /usr/sbin/mariadbd 2>/dev/null) \
    || die "mariadbd not found (make services installs it)"
install_db=$(command -v mariadb-install-db || command -v mysql_install_db) \
    || die "mariadb-install-db not found"
client=$(command -v mariadb || command -v mysql) || die "mariadb client not found"
command -v openssl >/dev/null || die "openssl is needed to make the certificates"

ca() {  # ca NAME: a self-signed CA in STATE_DIR/NAME.pem (+ .key)
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$STATE_DIR/$1.key" -out "$STATE_DIR/$1.pem" -days 30 \
        -subj "/CN=memstore test $1 $(date -u +%Y%m%dT%H%M%SZ)" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" 2>>"$STATE_DIR/openssl.log"
}
ca ca
ca other-ca
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$STATE_DIR/server.key" -out "$STATE_DIR/server.csr" -subj "/CN=localhost" \
    2>>"$STATE_DIR/openssl.log"
cat >"$STATE_DIR/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
openssl x509 -req -in "$STATE_DIR/server.csr" -CA "$STATE_DIR/ca.pem" -CAkey "$STATE_DIR/ca.key" \
    -CAcreateserial -days 30 -extfile "$STATE_DIR/server.ext" -out "$STATE_DIR/server.pem" \
    2>>"$STATE_DIR/openssl.log"
rm -f "$STATE_DIR"/*.csr "$STATE_DIR"/*.srl "$STATE_DIR/ca.key" "$STATE_DIR/other-ca.key"

PORT=$(free_port)
user_opt=()
if [[ $(id -u) == 0 ]]; then
    user_opt=(--user=mysql)
    chown -R mysql "$STATE_DIR"
fi
cat >"$STATE_DIR/my.cnf" <<EOF
[mysqld]
datadir = $STATE_DIR/data
socket = $STATE_DIR/run/mysql.sock
pid-file = $STATE_DIR/run/mariadbd.pid
tmpdir = $STATE_DIR/tmp
bind-address = 127.0.0.1
port = $PORT
skip-networking = 0
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
innodb_buffer_pool_size = 16M
innodb_log_file_size = 8M
performance_schema = 0
ssl-ca = $STATE_DIR/ca.pem
ssl-cert = $STATE_DIR/server.pem
ssl-key = $STATE_DIR/server.key
[client]
socket = $STATE_DIR/run/mysql.sock
user = root
EOF
chmod 644 "$STATE_DIR/my.cnf"
"$install_db" --defaults-file="$STATE_DIR/my.cnf" "${user_opt[@]}" \
    --auth-root-authentication-method=normal --skip-test-db >>"$LOG" 2>&1 \
    || die "mariadb-install-db failed (see $LOG)"
setsid "$mariadbd" --defaults-file="$STATE_DIR/my.cnf" "${user_opt[@]}" </dev/null >>"$LOG" 2>&1 &
echo $! >"$PID_FILE"
for ((i = 0; ; i++)); do
    "$client" --defaults-file="$STATE_DIR/my.cnf" -e "SELECT 1" >/dev/null 2>&1 && break
    kill -0 "$(cat "$PID_FILE")" 2>/dev/null || die "mariadbd exited during startup (see $LOG)"
    ((i < 600)) || die "mariadbd not ready after 60s"
    sleep 0.1
done
"$client" --defaults-file="$STATE_DIR/my.cnf" >&2 <<'SQL'
CREATE DATABASE memstore_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER 'memstore'@'127.0.0.1' IDENTIFIED BY 'memstore';
GRANT ALL PRIVILEGES ON memstore_test.* TO 'memstore'@'127.0.0.1';
SQL
printf 'export %s=%q\n' \
    MEMSTORE_TEST_MYSQL_TLS_URL "mysql://memstore:memstore@127.0.0.1:$PORT/memstore_test" \
    MEMSTORE_TEST_MYSQL_TLS_CA "$STATE_DIR/ca.pem" \
    MEMSTORE_TEST_MYSQL_TLS_OTHER_CA "$STATE_DIR/other-ca.pem" \
    >"$STATE_DIR/env"
log "mariadbd with TLS on 127.0.0.1:$PORT; settings in $STATE_DIR/env"
cat "$STATE_DIR/env"
