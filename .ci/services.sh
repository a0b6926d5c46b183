#!/usr/bin/env bash
# Throwaway PostgreSQL 15 and MariaDB servers for the memstore test suite.
#
#   bash .ci/services.sh start [STATE_DIR]   # default /tmp/memstore-services
#   bash .ci/services.sh stop  [STATE_DIR]
#
# `start` prints only `export ...` lines on stdout (all chatter goes to
# stderr), so callers can do:  eval "$(bash .ci/services.sh start)"
# The same lines are written to STATE_DIR/env for later `source`.
#
# Both servers listen on 127.0.0.1 only, on ports picked at start time, so
# several state dirs (or a developer's own servers) can coexist.
#
# All server settings live in files inside STATE_DIR (postgresql.conf in the
# PG data dir, STATE_DIR/my.cnf for MariaDB) rather than on command lines, so
# a test that kills a server can bring it back with exactly the same settings:
#   pg_ctl start -w -D "$MEMSTORE_TEST_PG_DATA" -l "$MEMSTORE_TEST_PG_LOG"
#       (as $MEMSTORE_TEST_PG_OSUSER: pg_ctl refuses to run as root)
#   mariadbd --defaults-file="$MEMSTORE_TEST_MYSQL_CNF" &
#
# Environment knobs:
#   MEMSTORE_SERVICES_FAST=1  turn off fsync-style durability (PG fsync and
#       full_page_writes, InnoDB flush-at-commit and doublewrite). That only
#       loses data on an OS crash / power cut, never when a server process is
#       killed, so crash tests that kill -9 a server stay meaningful. The
#       default keeps the servers' normal durability settings, so they
#       behave like production ones.
#   MEMSTORE_PG_BIN  directory with initdb/pg_ctl/postgres
#       (default /usr/lib/postgresql/15/bin, as on Debian).
set -Eeuo pipefail

cmd=${1:-}
STATE_DIR=${2:-/tmp/memstore-services}
PG_BIN=${MEMSTORE_PG_BIN:-/usr/lib/postgresql/15/bin}
FAST=${MEMSTORE_SERVICES_FAST:-0}
# Marks a directory as ours, so we never rm -rf something a typo pointed at.
MARKER=.memstore-services

log() { printf 'services.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # free_port, stop_group

usage() {
    echo "usage: $0 {start|stop} [STATE_DIR]" >&2
    exit 2
}

[[ $cmd == start || $cmd == stop ]] || usage
# Relative paths would break once the daemons chdir into their data dirs.
[[ $STATE_DIR == /* ]] || STATE_DIR="$PWD/$STATE_DIR"
STATE_DIR=${STATE_DIR%/}
# The service users may not be able to read the caller's cwd, and initdb
# complains if it cannot.
cd /

PG_DATA=$STATE_DIR/pg
PG_RUN=$STATE_DIR/pg-run            # unix socket dir
PG_LOG=$STATE_DIR/pg.log
MY_DATA=$STATE_DIR/mysql
MY_RUN=$STATE_DIR/mysql-run         # socket + pid file
MY_SOCK=$MY_RUN/mysql.sock
MY_PID=$MY_RUN/mariadbd.pid
MY_LOG=$STATE_DIR/mysql.log
MY_TMP=$STATE_DIR/mysql-tmp         # InnoDB's temp files (else $TMPDIR, maybe not the mysql user's)
MY_CNF=$STATE_DIR/my.cnf

# As root the servers run as their Debian system users (initdb/postgres refuse
# root; mariadbd drops to --user). Everyone else runs them as themselves.
# Each daemon needs its own writable dirs, hence the separate *-run dirs
# instead of sockets/pid files directly in STATE_DIR.
if [[ $(id -u) == 0 ]]; then
    IS_ROOT=1
    PG_USER=postgres
    MY_USER=mysql
else
    IS_ROOT=0
    PG_USER=$(id -un)
    MY_USER=$(id -un)
fi

# Run a command as the PostgreSQL OS user.
as_pg() {
    if ((IS_ROOT)); then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

# /usr/sbin is often not on a non-root user's PATH, and some distros still
# ship only the mysql_* names.
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

tail_log() {
    [[ -s $1 ]] || return 0
    log "---- last lines of $1 ----"
    tail -n 40 "$1" >&2 || true
    log "---- end of $1 ----"
}

# ---------------------------------------------------------------- stopping --

stop_pg() {
    [[ -f $PG_DATA/postmaster.pid ]] || return 0
    [[ -x $PG_BIN/pg_ctl ]] || { log "pg_ctl not found, cannot stop PostgreSQL in $PG_DATA"; return 0; }
    # pg_ctl must run as the cluster owner, which may differ from the current
    # PG_USER if an earlier run was made by someone else.
    local owner
    owner=$(stat -c %U "$PG_DATA")
    local -a run=()
    if ((IS_ROOT)); then
        run=(runuser -u "$owner" --)
    elif [[ $owner != "$PG_USER" ]]; then
        log "PostgreSQL in $PG_DATA belongs to $owner, cannot stop it as $PG_USER"
        return 0
    fi
    if "${run[@]}" "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1; then
        log "stopping PostgreSQL ($PG_DATA)"
        "${run[@]}" "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 >&2 ||
            log "pg_ctl stop failed (continuing)"
    fi
}

stop_mysql() {
    [[ -f $MY_PID ]] || return 0
    local pid i
    pid=$(cat "$MY_PID" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    # A stale pid file may name a pid that now belongs to something else.
    [[ $(ps -p "$pid" -o comm= 2>/dev/null) == @(mariadbd|mysqld) ]] || return 0
    # Plain SIGTERM is a clean shutdown for mariadbd and, unlike
    # mariadb-admin shutdown, needs no credentials.
    log "stopping MariaDB (pid $pid)"
    if ! kill -TERM "$pid" 2>/dev/null; then
        log "cannot signal mariadbd pid $pid (started by another user?)"
        return 0
    fi
    for ((i = 0; i < 600; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    log "MariaDB did not stop within 60s, killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

stop_all() {
    stop_pg
    stop_mysql
}

if [[ $cmd == stop ]]; then
    if [[ ! -d $STATE_DIR ]]; then
        log "nothing to stop: $STATE_DIR does not exist"
        exit 0
    fi
    stop_all
    log "stopped services in $STATE_DIR"
    exit 0
fi

# ---------------------------------------------------------------- starting --

# Say which command failed and where (with the function call chain, since
# the failing line is often inside a small helper like as_pg).
on_err() {
    local rc=$? i trace="line ${BASH_LINENO[0]}"
    for ((i = 1; i < ${#FUNCNAME[@]}; i++)); do
        trace+=" in ${FUNCNAME[i]}"
        if ((i + 1 < ${#FUNCNAME[@]})); then trace+=" <- line ${BASH_LINENO[i]}"; fi
    done
    log "ERROR: '$BASH_COMMAND' failed with exit status $rc ($trace)"
}

# On a failed start (set -e or die): show the server logs, and stop whatever
# was already started so a failed CI run leaves no orphaned daemons behind.
on_exit() {
    local rc=$? f
    ((rc)) || return 0
    trap - ERR
    for f in "$STATE_DIR"/*.log; do [[ -e $f ]] && tail_log "$f"; done
    stop_all || true
    log "start failed; see logs in $STATE_DIR"
    exit "$rc"
}

install_missing() {
    local -a pkgs=()
    [[ -x $PG_BIN/initdb ]] || pkgs+=(postgresql)
    find_tool mariadbd mysqld >/dev/null || pkgs+=(mariadb-server)
    command -v python3 >/dev/null || pkgs+=(python3)
    ((${#pkgs[@]})) || return 0
    if ! ((IS_ROOT)) || ! command -v apt-get >/dev/null; then
        die "missing ${pkgs[*]} (expected PostgreSQL in $PG_BIN, set MEMSTORE_PG_BIN to override); install them or run as root on Debian"
    fi
    log "installing ${pkgs[*]} (apt output in $STATE_DIR/apt.log)"
    # The packages' own postinst tries to start system-wide services; that is
    # refused on CI machines (policy-rc.d) and harmless, we never use them.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >>"$STATE_DIR/apt.log" 2>&1
    apt-get install -y "${pkgs[@]}" >>"$STATE_DIR/apt.log" 2>&1
    [[ -x $PG_BIN/initdb ]] || die "PostgreSQL installed but $PG_BIN/initdb is missing (not version 15?)"
}

# Start from scratch: a previous run may have left servers or half-written
# data behind. Only delete the dir if it is empty or was created by us.
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
    # The service users must be able to reach their subdirectories.
    chmod 755 "$STATE_DIR"
}

start_pg() {
    PG_PORT=$(free_port)
    log "PostgreSQL: initdb in $PG_DATA, port $PG_PORT"
    mkdir -p "$PG_DATA" "$PG_RUN"
    chmod 700 "$PG_DATA"
    touch "$PG_LOG"
    if ((IS_ROOT)); then
        chown "$PG_USER": "$PG_DATA" "$PG_RUN" "$PG_LOG"
        as_pg test -w "$PG_DATA" ||
            die "user $PG_USER cannot write to $PG_DATA; choose a STATE_DIR whose parents are world-traversable (e.g. under /tmp)"
    fi

    # Superuser "postgres" with trust auth only over the private unix socket
    # (used below for setup); TCP always requires a password so tests exercise
    # real authentication. C locale keeps sorting and messages deterministic.
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --no-locale \
        --auth-local=trust --auth-host=scram-sha-256 >>"$PG_LOG" 2>&1

    {
        echo "# added by .ci/services.sh"
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $PG_PORT"
        echo "unix_socket_directories = '$PG_RUN'"
        echo "max_connections = 200"
        if [[ $FAST == 1 ]]; then
            # synchronous_commit stays on: turning it off would lose
            # acknowledged commits when a test kills the server.
            echo "fsync = off"
            echo "full_page_writes = off"
        fi
    } >>"$PG_DATA/postgresql.conf"

    # pg_ctl redirects the server's output to the log itself, so the daemon
    # holds no reference to our stdout and $(...) callers don't hang.
    as_pg "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t 60 >&2
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 30

    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_RUN" -p "$PG_PORT" -U postgres -d postgres >&2 <<'SQL'
CREATE ROLE memstore LOGIN CREATEDB PASSWORD 'memstore';
CREATE DATABASE memstore_test OWNER memstore ENCODING 'UTF8' TEMPLATE template0;
SQL
}

start_mysql() {
    local mariadbd install_db admin i pid
    mariadbd=$(find_tool mariadbd mysqld) || die "mariadbd not found"
    install_db=$(find_tool mariadb-install-db mysql_install_db) || die "mariadb-install-db not found"
    admin=$(find_tool mariadb-admin mysqladmin) || die "mariadb-admin not found"
    MY_PORT=$(free_port)
    log "MariaDB: install-db in $MY_DATA, port $MY_PORT"
    mkdir -p "$MY_DATA" "$MY_RUN" "$MY_TMP"
    touch "$MY_LOG"
    if ((IS_ROOT)); then chown "$MY_USER": "$MY_DATA" "$MY_RUN" "$MY_TMP"; fi

    # A private defaults file keeps the system /etc/mysql config (socket in
    # /run/mysqld, logging to syslog, ...) out of the picture, and lets tests
    # restart the server with identical settings.
    {
        echo "# written by .ci/services.sh"
        echo "[mysqld]"
        if ((IS_ROOT)); then echo "user = $MY_USER"; fi
        echo "datadir = $MY_DATA"
        echo "socket = $MY_SOCK"
        echo "pid-file = $MY_PID"
        echo "tmpdir = $MY_TMP"
        echo "bind-address = 127.0.0.1"
        echo "port = $MY_PORT"
        echo "skip-networking = 0"
        # Accounts are keyed on IPs, so DNS lookups only add latency.
        echo "skip-name-resolve"
        echo "character-set-server = utf8mb4"
        echo "collation-server = utf8mb4_unicode_ci"
        echo "max_connections = 200"
        if [[ $FAST == 1 ]]; then
            echo "innodb_flush_log_at_trx_commit = 2"
            echo "innodb_doublewrite = 0"
            echo "sync_binlog = 0"
        fi
        echo "[client]"
        echo "socket = $MY_SOCK"
        echo "user = root"
    } >"$MY_CNF"
    chmod 644 "$MY_CNF"

    # root@localhost gets no password ("normal"): it is only reachable via the
    # socket in STATE_DIR or 127.0.0.1, and the servers are throwaway.
    local -a user_opt=()
    if ((IS_ROOT)); then user_opt=(--user="$MY_USER"); fi
    "$install_db" --defaults-file="$MY_CNF" "${user_opt[@]}" \
        --auth-root-authentication-method=normal --skip-test-db \
        >>"$MY_LOG" 2>&1

    # The packaged service start (systemd/init script) is refused on CI
    # machines, so run the daemon ourselves. All its fds point at the log or
    # /dev/null so $(...) callers return immediately; background jobs of a
    # non-interactive shell already ignore SIGINT, so Ctrl-C on `make` won't
    # take it down.
    "$mariadbd" --defaults-file="$MY_CNF" </dev/null >>"$MY_LOG" 2>&1 &
    pid=$!

    for ((i = 0; ; i++)); do
        if "$admin" --defaults-file="$MY_CNF" --connect-timeout=2 ping >/dev/null 2>&1; then
            break
        fi
        kill -0 "$pid" 2>/dev/null || die "mariadbd exited during startup"
        ((i < 600)) || die "mariadbd not ready after 60s"
        sleep 0.1
    done

    # memstore\_% lets tests create scratch databases next to memstore_test.
    "$(find_tool mariadb mysql)" --defaults-file="$MY_CNF" >&2 <<'SQL'
CREATE DATABASE memstore_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER 'memstore'@'127.0.0.1' IDENTIFIED BY 'memstore';
CREATE USER 'memstore'@'localhost' IDENTIFIED BY 'memstore';
GRANT ALL PRIVILEGES ON `memstore\_%`.* TO 'memstore'@'127.0.0.1', 'memstore'@'localhost';
GRANT ALL PRIVILEGES ON memstore_test.* TO 'memstore'@'127.0.0.1', 'memstore'@'localhost';
SQL
    # Named time zones (America/New_York) for the tests that set a session time zone;
    # a fresh data dir has none. Loading them takes a few seconds.
    if tzinfo=$(find_tool mariadb-tzinfo-to-sql mysql_tzinfo_to_sql) && [[ -d /usr/share/zoneinfo ]]; then
        "$tzinfo" /usr/share/zoneinfo 2>/dev/null \
            | "$(find_tool mariadb mysql)" --defaults-file="$MY_CNF" mysql >&2
    fi
}

trap on_err ERR
reset_state_dir
# Only now: before this STATE_DIR might not be ours to clean up.
trap on_exit EXIT
install_missing
start_pg
start_mysql

# %q keeps the file safe to source/eval even if STATE_DIR has odd characters.
printf 'export %s=%q\n' \
    MEMSTORE_TEST_POSTGRES_URL "postgresql://memstore:memstore@127.0.0.1:$PG_PORT/memstore_test" \
    MEMSTORE_TEST_MYSQL_URL "mysql://memstore:memstore@127.0.0.1:$MY_PORT/memstore_test" \
    MEMSTORE_TEST_PG_BIN "$PG_BIN" \
    MEMSTORE_TEST_PG_DATA "$PG_DATA" \
    MEMSTORE_TEST_PG_LOG "$PG_LOG" \
    MEMSTORE_TEST_PG_OSUSER "$PG_USER" \
    MEMSTORE_TEST_MYSQL_DATA "$MY_DATA" \
    MEMSTORE_TEST_MYSQL_PIDFILE "$MY_PID" \
    MEMSTORE_TEST_MYSQL_CNF "$MY_CNF" \
    MEMSTORE_TEST_MYSQL_SOCKET "$MY_SOCK" \
    MEMSTORE_TEST_MYSQL_LOG "$MY_LOG" \
    >"$STATE_DIR/env"
log "services running; settings in $STATE_DIR/env"
cat "$STATE_DIR/env"
