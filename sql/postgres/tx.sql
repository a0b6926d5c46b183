-- The transaction rule's statements (memstore/plan.py, bracket()), for PostgreSQL.
-- memstore_savepoint is replaced by a name numbered per use (memstore_savepoint_17), so a
-- caller's own savepoints never collide with memstore's.
-- On a connection that is not in autocommit mode psycopg sends BEGIN by itself before the
-- first statement; memstore then ends that transaction with commit (or rollback).

-- name: begin
BEGIN;

-- name: commit
COMMIT;

-- name: rollback
ROLLBACK;

-- name: savepoint
SAVEPOINT memstore_savepoint;

-- name: release
RELEASE SAVEPOINT memstore_savepoint;

-- name: rollback_to
ROLLBACK TO SAVEPOINT memstore_savepoint;
