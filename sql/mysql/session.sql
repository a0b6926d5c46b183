-- The session settings memstore's statements run with on MySQL and MariaDB: time_zone
-- '+00:00' (TIMESTAMP values are converted through the session time zone, so UTC keeps
-- every instant as written, whatever the server's or the caller's zone) and a strict
-- sql_mode (a value too long for its column is an error, never a truncated row).
-- Keep the three statements' sql_mode identical.

-- name: session
-- A connection memstore opens itself: PyMySQL's init_command, so a reconnect gets it too.
SET time_zone = '+00:00',
    sql_mode = 'STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION';

-- name: swap_in
-- A caller's connection, before each unit: keep its values (the right-hand sides are read
-- before any assignment), then use memstore's. Being a SET, its OK packet also refreshes
-- PyMySQL's copy of the server status, whose IN_TRANS flag says whether the caller has a
-- transaction open (a result set does not update it).
SET @memstore_tz = @@session.time_zone, @memstore_mode = @@session.sql_mode,
    time_zone = '+00:00',
    sql_mode = 'STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION';

-- name: swap_out
-- A caller's connection, after each unit: its own values back.
SET time_zone = @memstore_tz, sql_mode = @memstore_mode;

-- Session variables a URL may set (mysql://...?innodb_lock_wait_timeout=5): one statement
-- per variable, named set_<variable>, the value bound by the driver and checked first in
-- memstore/adapters/mysql.py (SESSION_VARIABLES). Run after every connect, a reconnect
-- included (init_command takes no bound parameter). A variable the server does not know
-- (max_statement_time is MariaDB's, max_execution_time MySQL's) fails the connect.

-- name: set_wsrep_sync_wait
-- MariaDB Galera: with 1, a read waits until this node has applied every write the
-- cluster committed before it (read-your-writes across nodes).
SET SESSION wsrep_sync_wait = %(value)s;

-- name: set_innodb_lock_wait_timeout
-- Seconds a statement waits for a row lock before error 1205 (memstore retries it).
SET SESSION innodb_lock_wait_timeout = %(value)s;

-- name: set_lock_wait_timeout
-- Seconds a statement waits for a metadata lock (e.g. behind an ALTER TABLE).
SET SESSION lock_wait_timeout = %(value)s;

-- name: set_max_statement_time
-- MariaDB: seconds a statement may run before it is aborted (0: no limit).
SET SESSION max_statement_time = %(value)s;

-- name: set_max_execution_time
-- MySQL: milliseconds a SELECT may run before it is aborted (0: no limit).
SET SESSION max_execution_time = %(value)s;

-- name: set_wait_timeout
-- Seconds the server keeps an idle connection (memstore reconnects its own when lost).
SET SESSION wait_timeout = %(value)s;
