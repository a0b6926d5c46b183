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

-- name: wsrep_sync_wait
-- The URL option wsrep_sync_wait=N (MariaDB Galera): with N = 1, a read waits until this
-- node has applied every write the cluster committed before it (read-your-writes across
-- nodes). Run after every connect, the value bound by the driver.
SET SESSION wsrep_sync_wait = %(value)s;
