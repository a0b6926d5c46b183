-- Settings memstore applies to a SQLite connection it opens itself (sqlite:/// URLs).
-- A PRAGMA takes no bound parameter, so each value the URL may ask for is its own statement.

-- name: journal_wal
PRAGMA journal_mode=WAL;

-- name: synchronous_off
PRAGMA synchronous=OFF;

-- name: synchronous_normal
PRAGMA synchronous=NORMAL;

-- name: synchronous_full
PRAGMA synchronous=FULL;

-- name: synchronous_extra
PRAGMA synchronous=EXTRA;
