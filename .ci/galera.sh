#!/usr/bin/env bash
# A throwaway 3-node MariaDB Galera cluster on 127.0.0.1 for memstore's distributed tests
# (tests/test_distributed.py).
#
#   bash .ci/galera.sh start [STATE_DIR]   # default /tmp/memstore-galera
#   bash .ci/galera.sh stop  [STATE_DIR]
#
# `start` prints only `export ...` lines on stdout (chatter goes to stderr), so callers can
# do:  eval "$(bash .ci/galera.sh start DIR)"; the same lines go to STATE_DIR/env:
#   MEMSTORE_TEST_GALERA_URLS        mysql://memstore:memstore@127.0.0.1:PORT/memstore_test
#                                    for nodes 1,2,3, comma-separated (the test user may
#                                    create `memstore\_%` databases, as on .ci/services.sh)
#   MEMSTORE_TEST_GALERA_ADMIN_URLS  the same nodes as memstore_admin (all privileges: the
#                                    tests cut a node off with SET GLOBAL)
#   MEMSTORE_TEST_GALERA_CNFS        each node's defaults file, comma-separated
#                                    (`mariadb --defaults-file=CNF` reaches that node as root)
#
# Each node is a `mariadbd` of its own with its own data dir, socket, pid file, log and four
# ports (SQL, gcomm, IST, SST), all picked free at start time. Node 1 is initialised with
# mariadb-install-db and bootstraps the cluster (--wsrep-new-cluster); nodes 2 and 3 start
# with empty data dirs and join by state transfer (rsync SST, a few seconds each). Settings
# are the ones in /work/shared/DISTRIBUTED_FACTS.md, plus the strictest wsrep_mode.
#
# Packages (mariadb-server galera-4 rsync socat) are installed with apt-get when missing
# (root on Debian only; output in STATE_DIR/apt.log).
#
# Environment knobs:
#   MEMSTORE_SERVICES_FAST=1  innodb_flush_log_at_trx_commit=2 and no doublewrite (as for
#       .ci/services.sh): durability then comes from the other nodes, as Galera documents.
#   MEMSTORE_GALERA_PROVIDER  path of libgalera_smm.so (default /usr/lib/galera/...).
set -Eeuo pipefail

cmd=${1:-}
STATE_DIR=${2:-/tmp/memstore-galera}
FAST=${MEMSTORE_SERVICES_FAST:-0}
PROVIDER=${MEMSTORE_GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}
CLUSTER=memstore_test_galera
NODES=(1 2 3)
MARKER=.memstore-galera  # marks STATE_DIR as ours, so we never rm -rf something else

log() { printf 'galera.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $cmd == start || $cmd == stop ]] || { echo "usage: $0 {start|stop} [STATE_DIR]" >&2; exit 2; }
[[ $STATE_DIR == /* ]] || STATE_DIR="$PWD/$STATE_DIR"
STATE_DIR=${STATE_DIR%/}
cd /  # the mysql user may not be able to read the caller's cwd

if [[ $(id -u) == 0 ]]; then IS_ROOT=1; MY_USER=mysql; else IS_ROOT=0; MY_USER=$(id -un); fi

find_tool() {
    local name dir
    for name in "$@"; do
        command -v "$name" 2>/dev/null && return 0
        for dir in /usr/sbin /usr/libexec /usr/local/sbin; do
            [[ -x $dir/$name ]] && { echo "$dir/$name"; return 0; }
        done
    done
    return 1
}

node_cnf() { echo "$STATE_DIR/node$1.cnf"; }
node_pidfile() { echo "$STATE_DIR/node$1/run/mariadbd.pid"; }
node_log() { echo "$STATE_DIR/node$1.log"; }

# ---------------------------------------------------------------- stopping --

# SIGTERM is a clean shutdown (and a clean leave of the cluster); no credentials needed.
stop_node() {
    local pidfile pid i
    pidfile=$(node_pidfile "$1")
    [[ -f $pidfile ]] || return 0
    pid=$(cat "$pidfile" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    # A stale pid file may name a pid that now belongs to something else.
    [[ $(ps -p "$pid" -o comm= 2>/dev/null) == @(mariadbd|mysqld) ]] || return 0
    log "stopping node $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || { log "cannot signal pid $pid"; return 0; }
    for ((i = 0; i < 600; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    log "node $1 did not stop within 60s, killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

# The last node to leave is the one that can bootstrap again, so stop 3, 2, 1.
stop_all() {
    local n
    for n in 3 2 1; do stop_node "$n"; done
}

if [[ $cmd == stop ]]; then
    [[ -d $STATE_DIR ]] || { log "nothing to stop: $STATE_DIR does not exist"; exit 0; }
    stop_all
    log "stopped the Galera cluster in $STATE_DIR"
    exit 0
fi

# ---------------------------------------------------------------- starting --

on_err() {
    local rc=$?
    log "ERROR: '$BASH_COMMAND' failed with exit status $rc (line ${BASH_LINENO[0]})"
}

on_exit() {
    local rc=$? n f
    ((rc)) || return 0
    trap - ERR
    for n in "${NODES[@]}"; do
        f=$(node_log "$n")
        [[ -s $f ]] && { log "---- last lines of $f ----"; tail -n 30 "$f" >&2 || true; }
    done
    stop_all || true
    log "start failed; see logs in $STATE_DIR"
    exit "$rc"
}

install_missing() {
    local -a pkgs=()
    find_tool mariadbd mysqld >/dev/null || pkgs+=(mariadb-server)
    [[ -f $PROVIDER ]] || pkgs+=(galera-4)
    command -v rsync >/dev/null || pkgs+=(rsync)
    command -v socat >/dev/null || pkgs+=(socat)
    ((${#pkgs[@]})) || return 0
    if ! ((IS_ROOT)) || ! command -v apt-get >/dev/null; then
        die "missing ${pkgs[*]}; install them or run as root on Debian"
    fi
    log "installing ${pkgs[*]} (apt output in $STATE_DIR/apt.log)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >>"$STATE_DIR/apt.log" 2>&1
    apt-get install -y "${pkgs[@]}" >>"$STATE_DIR/apt.log" 2>&1
    [[ -f $PROVIDER ]] || die "galera-4 installed but $PROVIDER is missing"
}

reset_state_dir() {
    if [[ -d $STATE_DIR ]]; then
        if [[ ! -e $STATE_DIR/$MARKER ]] && [[ -n $(ls -A "$STATE_DIR") ]]; then
            die "$STATE_DIR exists, is not empty and was not created by this script; refusing to delete it"
        fi
        stop_all
        rm -rf "$STATE_DIR"
    fi
    mkdir -p "$STATE_DIR"
    touch "$STATE_DIR/$MARKER"
    chmod 755 "$STATE_DIR"
}

# 12 distinct free ports (SQL, gcomm, IST, SST for each node), all sockets held open until
# every one is chosen so none repeats.
pick_ports() {
    python3 -c '
import socket
socks = []
for _ in range(12):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))'
}

write_cnf() {
    local n=$1 dir=$STATE_DIR/node$1
    mkdir -p "$dir/data" "$dir/run" "$dir/tmp"
    touch "$(node_log "$n")"
    if ((IS_ROOT)); then chown -R "$MY_USER": "$dir" "$(node_log "$n")"; fi
    {
        echo "# written by .ci/galera.sh"
        echo "[mysqld]"
        if ((IS_ROOT)); then echo "user = $MY_USER"; fi
        echo "datadir = $dir/data"
        echo "socket = $dir/run/mysql.sock"
        echo "pid-file = $dir/run/mariadbd.pid"
        echo "tmpdir = $dir/tmp"
        echo "log-error = $(node_log "$n")"
        echo "bind-address = 127.0.0.1"
        echo "port = ${SQL_PORT[n]}"
        echo "skip-name-resolve"
        echo "character-set-server = utf8mb4"
        echo "collation-server = utf8mb4_unicode_ci"
        echo "max_connections = 200"
        echo "innodb_buffer_pool_size = 128M"
        echo "binlog_format = ROW"
        echo "default_storage_engine = InnoDB"
        echo "innodb_autoinc_lock_mode = 2"
        if [[ $FAST == 1 ]]; then
            echo "innodb_flush_log_at_trx_commit = 2"
            echo "innodb_doublewrite = 0"
        fi
        echo "wsrep_on = ON"
        echo "wsrep_provider = $PROVIDER"
        echo "wsrep_cluster_name = $CLUSTER"
        echo "wsrep_cluster_address = gcomm://127.0.0.1:${GCOMM_PORT[1]},127.0.0.1:${GCOMM_PORT[2]},127.0.0.1:${GCOMM_PORT[3]}"
        echo "wsrep_node_name = node$n"
        echo "wsrep_node_address = 127.0.0.1:${GCOMM_PORT[n]}"
        echo "wsrep_node_incoming_address = 127.0.0.1:${SQL_PORT[n]}"
        echo "wsrep_provider_options = \"gmcast.listen_addr=tcp://127.0.0.1:${GCOMM_PORT[n]};ist.recv_addr=127.0.0.1:${IST_PORT[n]};gcache.size=64M\""
        echo "wsrep_sst_method = rsync"
        echo "wsrep_sst_receive_address = 127.0.0.1:${SST_PORT[n]}"
        echo "wsrep_mode = REQUIRED_PRIMARY_KEY,STRICT_REPLICATION"
        echo "[client]"
        echo "socket = $dir/run/mysql.sock"
        echo "user = root"
    } >"$(node_cnf "$n")"
    chmod 644 "$(node_cnf "$n")"
}

# One status value of node $1 (empty while it does not answer).
status_of() {
    "$CLIENT" --defaults-file="$(node_cnf "$1")" --connect-timeout=2 -N -B \
        -e "SHOW STATUS LIKE '$2'" 2>/dev/null | cut -f2
}

start_node() {
    local n=$1 i pid state size
    shift
    log "node $n: SQL ${SQL_PORT[n]}, gcomm ${GCOMM_PORT[n]}, IST ${IST_PORT[n]}, SST ${SST_PORT[n]}${*:+ ($*)}"
    # The packaged service start is refused on CI machines: run the daemon ourselves, all its
    # fds on the log or /dev/null so $(...) callers return at once.
    "$MARIADBD" --defaults-file="$(node_cnf "$n")" "$@" </dev/null >>"$(node_log "$n")" 2>&1 &
    pid=$!
    for ((i = 0; ; i++)); do
        if [[ $(status_of "$n" wsrep_ready) == ON ]]; then
            state=$(status_of "$n" wsrep_local_state_comment)
            [[ $state == Synced ]] && break
        fi
        kill -0 "$pid" 2>/dev/null || die "node $n exited during startup"
        ((i < 1200)) || die "node $n not synced after 120s"
        sleep 0.1
    done
    size=$(status_of "$n" wsrep_cluster_size)
    log "node $n synced (cluster size $size)"
}

trap on_err ERR
reset_state_dir
trap on_exit EXIT
install_missing
MARIADBD=$(find_tool mariadbd mysqld) || die "mariadbd not found"
INSTALL_DB=$(find_tool mariadb-install-db mysql_install_db) || die "mariadb-install-db not found"
CLIENT=$(find_tool mariadb mysql) || die "mariadb client not found"

read -r -a ports <<<"$(pick_ports)"
declare -a SQL_PORT GCOMM_PORT IST_PORT SST_PORT
for n in "${NODES[@]}"; do
    i=$(((n - 1) * 4))
    SQL_PORT[n]=${ports[i]} GCOMM_PORT[n]=${ports[i + 1]}
    IST_PORT[n]=${ports[i + 2]} SST_PORT[n]=${ports[i + 3]}
done
for n in "${NODES[@]}"; do write_cnf "$n"; done

started=$(date +%s.%N)
user_opt=()
if ((IS_ROOT)); then user_opt=(--user="$MY_USER"); fi
log "node 1: mariadb-install-db"
"$INSTALL_DB" --defaults-file="$(node_cnf 1)" "${user_opt[@]}" \
    --auth-root-authentication-method=normal --skip-test-db >>"$(node_log 1)" 2>&1

start_node 1 --wsrep-new-cluster
# Users and the test database before the others join: they arrive with the state transfer.
# root stays reachable only through each node's socket in STATE_DIR.
"$CLIENT" --defaults-file="$(node_cnf 1)" >&2 <<'SQL'
CREATE DATABASE memstore_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER 'memstore'@'127.0.0.1' IDENTIFIED BY 'memstore';
CREATE USER 'memstore'@'localhost' IDENTIFIED BY 'memstore';
GRANT ALL PRIVILEGES ON `memstore\_%`.* TO 'memstore'@'127.0.0.1', 'memstore'@'localhost';
GRANT ALL PRIVILEGES ON memstore_test.* TO 'memstore'@'127.0.0.1', 'memstore'@'localhost';
CREATE USER 'memstore_admin'@'127.0.0.1' IDENTIFIED BY 'memstore_admin';
GRANT ALL PRIVILEGES ON *.* TO 'memstore_admin'@'127.0.0.1';
SQL
start_node 2
start_node 3
for n in "${NODES[@]}"; do
    size=$(status_of "$n" wsrep_cluster_size)
    [[ $size == 3 ]] || die "node $n sees a cluster of ${size:-?} nodes, not 3"
done
log "cluster of 3 ready in $(python3 -c "import sys; print(round($(date +%s.%N) - $started, 1))") s"

urls=() admin=() cnfs=()
for n in "${NODES[@]}"; do
    urls+=("mysql://memstore:memstore@127.0.0.1:${SQL_PORT[n]}/memstore_test")
    admin+=("mysql://memstore_admin:memstore_admin@127.0.0.1:${SQL_PORT[n]}/memstore_test")
    cnfs+=("$(node_cnf "$n")")
done
join() { local IFS=,; echo "$*"; }
printf 'export %s=%q\n' \
    MEMSTORE_TEST_GALERA_URLS "$(join "${urls[@]}")" \
    MEMSTORE_TEST_GALERA_ADMIN_URLS "$(join "${admin[@]}")" \
    MEMSTORE_TEST_GALERA_CNFS "$(join "${cnfs[@]}")" \
    >"$STATE_DIR/env"
log "Galera cluster running; settings in $STATE_DIR/env"
cat "$STATE_DIR/env"
