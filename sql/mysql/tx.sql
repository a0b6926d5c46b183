-- The transaction rule's statements (memstore/plan.py, bracket()), for MySQL and MariaDB.
-- memstore_savepoint is replaced by a name numbered per use (memstore_savepoint_17), so a
-- caller's own savepoints never collide with memstore's.
-- On MySQL and MariaDB a deadlock or lock-wait timeout rolls back the whole transaction
-- (a caller's part included) and drops its savepoints: the undo then fails, is logged,
-- and the call raises BackendError.

-- name: begin
START TRANSACTION;

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
