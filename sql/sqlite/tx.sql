-- The transaction rule's statements (memstore/plan.py, bracket()), for SQLite and libSQL.
-- memstore_savepoint is replaced by a name numbered per use (memstore_savepoint_17), so a
-- caller's own savepoints never collide with memstore's.

-- name: begin
-- IMMEDIATE takes the write lock up front, so the busy timeout applies instead of a
-- deadlock error when two writers upgrade a read lock at once.
BEGIN IMMEDIATE;

-- name: commit
COMMIT;

-- name: rollback
ROLLBACK;

-- name: savepoint
SAVEPOINT memstore_savepoint;

-- name: release
RELEASE memstore_savepoint;

-- name: rollback_to
ROLLBACK TO memstore_savepoint;
