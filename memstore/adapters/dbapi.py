"""The blocking runner of the DB-API drivers (sqlite3, libsql, psycopg, PyMySQL).

One loop for all of them: borrow the connection, ask ``plan.bracket`` which statements
surround the unit, run the unit's statements and collect what each wants, undo on
failure. A driver subclass says how to borrow its connection, how to read its transaction
state, how to execute one statement, and which errors are its own.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from ..errors import ConflictError, MemstoreError
from ..plan import Bracket, Kind, Stmt, Unit, bracket
from .sqlbase import SqlDialect

log = logging.getLogger("memstore")

# Savepoint names are numbered per use, process-wide: a caller's savepoint of any name,
# or a second memstore call nested in the same transaction, never collides with one.
_savepoint_numbers = itertools.count(1)
SAVEPOINT_TOKEN = "memstore_savepoint"


def savepoint_name() -> str:
    return f"{SAVEPOINT_TOKEN}_{next(_savepoint_numbers)}"


def wanted(cur: Any, want: str) -> Any:
    """What a statement that ran on ``cur`` hands back to the plan, by its ``want``."""
    if want == "rows":
        return cur.fetchall()
    if want == "rowcount":
        return cur.rowcount
    if want == "lastrowid":
        return cur.lastrowid
    return None


def tx_statement(tx: dict[str, str], name: str, savepoint: str) -> str:
    return tx[name].replace(SAVEPOINT_TOKEN, savepoint) if savepoint else tx[name]


class DbapiRunner:
    """Runs units on a DB-API connection (see the module docstring)."""

    # The driver opens a transaction by itself at the first statement when the connection
    # is not in autocommit mode (see plan.bracket).
    implicit_begin = False

    def __init__(self, dialect: SqlDialect, errors: tuple[type[BaseException], ...],
                 map_error: Callable[[Any], MemstoreError]) -> None:
        self.dialect = dialect
        self.tx = dialect.tx
        self.sql, self.tables = dialect.sql, dialect.tables  # for tools and tests
        self.errors = errors
        self.map_error = map_error

    # -- what a driver provides ----------------------------------------------------------

    def connection(self) -> AbstractContextManager[Any]:
        """The connection for one unit, held exclusively until the block ends."""
        raise NotImplementedError

    def state(self, conn: Any) -> tuple[bool, bool]:
        """(a transaction is open on it, it is in autocommit mode)."""
        raise NotImplementedError

    def cursor(self, conn: Any) -> Any:
        return conn.cursor()

    def statement(self, conn: Any, cur: Any, stmt: Stmt) -> Any:
        """Run one statement; what it ``want``s."""
        cur.execute(stmt.sql, stmt.params)
        return wanted(cur, stmt.want)

    def close(self) -> None:
        """Close what memstore opened (nothing, for a connection the caller passed)."""

    # -- the loop --------------------------------------------------------------------------

    def execute(self, unit: Unit) -> list[Any]:
        with self.transaction(unit.kind) as (conn, cur):
            return [self.statement(conn, cur, s) for s in unit.stmts]

    @contextmanager
    def transaction(self, kind: Kind) -> Iterator[tuple[Any, Any]]:
        """A connection and cursor inside the bracket the transaction rule gives ``kind``;
        driver errors become memstore errors."""
        shape: Bracket | None = None
        try:
            with self.connection() as conn:
                in_transaction, autocommit = self.state(conn)
                shape = bracket(kind, in_transaction=in_transaction, autocommit=autocommit,
                                implicit_begin=self.implicit_begin)
                name = savepoint_name() if shape.savepoint else ""
                cur = self.cursor(conn)
                opened = False
                try:
                    if shape.open:
                        cur.execute(tx_statement(self.tx, shape.open, name))
                    opened = True
                    yield conn, cur
                    if shape.close:
                        cur.execute(tx_statement(self.tx, shape.close, name))
                except BaseException:
                    if opened:
                        self._undo(conn, cur, shape, name)
                    raise
                finally:
                    close_quietly(cur)
        except self.errors as exc:
            raise own_transaction(self.map_error(exc), shape) from exc

    def reading(self) -> AbstractContextManager[tuple[Any, Any]]:
        """A connection and cursor for a read (tools and tests that look at the tables)."""
        return self.transaction("read")

    def _undo(self, conn: Any, cur: Any, shape: Bracket, name: str) -> None:
        if not shape.undo or not self.still_open(conn):
            return
        try:
            for step in shape.undo:
                cur.execute(tx_statement(self.tx, step, name))
        except Exception as exc:
            # The original error is the one the caller gets; this one is for the operator
            # (as psycopg logs a failed rollback).
            log.warning("memstore: rollback after a failed %s call failed too: %s",
                        self.dialect.dialect, exc)

    def still_open(self, conn: Any) -> bool:
        return True


def own_transaction(err: MemstoreError, shape: Bracket | None) -> MemstoreError:
    """Marks a conflict that rolled back memstore's own transaction (not the caller's,
    joined under a savepoint): plan.run may run that unit again."""
    if isinstance(err, ConflictError):
        err.own_transaction = shape is not None and not shape.savepoint
    return err


def close_quietly(cur: Any) -> None:
    with contextlib.suppress(Exception):  # a cursor of a connection that was lost
        cur.close()
