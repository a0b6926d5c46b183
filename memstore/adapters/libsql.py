"""libSQL through the ``libsql`` driver (DB-API style: local files, remote URLs, embedded
replicas), on a ``libsql.Connection`` the caller passes in; memstore never closes it.

It behaves like ``sqlite3`` (``in_transaction``, savepoints), so it is the SQLite runner
with the transaction rule of every DB-API driver (a write joins the caller's transaction
under a savepoint). What differs: parameters are bound by number (the driver binds only
sequences), the driver raises its own errors (``libsql.Error``, and plain ``ValueError``
for SQL errors in 0.1.11), ``rowcount`` adds up over a cursor's statements (so a count is
taken on a fresh cursor), and a single write runs in BEGIN ... COMMIT too (the driver's
autocommit rules are not sqlite3's).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError
from ..plan import Stmt
from .dbapi import wanted
from .sqlbase import SqlDialect
from .sqlite import SqliteFormat, SqliteRunner, map_error
from .threaded import ThreadedRunner

# A string, quoted identifier or comment (skipped), or a :name parameter.
_TOKENS = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|:([A-Za-z_]\w*)""",
                     re.DOTALL)


def numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """``:name`` parameters rewritten as ``?N`` (libsql binds only sequences), and the
    names in N order; a name used twice gets one number."""
    names: list[str] = []

    def number(m: re.Match[str]) -> str:
        name = m.group(1)
        if name is None:
            return m.group(0)
        if name not in names:
            names.append(name)
        return f"?{names.index(name) + 1}"

    return _TOKENS.sub(number, sql), tuple(names)


class LibsqlDialect(SqliteFormat):
    dialect = "libsql"


class LibsqlRunner(SqliteRunner):
    """A ``libsql.Connection`` (see the module docstring); calls take turns on the SQLite
    runner's lock."""

    def __init__(self, dialect: SqlDialect, conn: Any) -> None:
        libsql = sys.modules["libsql"]
        super().__init__(dialect, conn, owned=False, errors=(libsql.Error, ValueError),
                         mapper=lambda exc: map_error(exc, dialect.dialect))
        # sql text -> (numbered sql, names in number order), filled as statements are used
        self._numbered: dict[str, tuple[str, tuple[str, ...]]] = {}

    def bind(self, stmt: Stmt) -> tuple[str, tuple[Any, ...]]:
        """The statement's SQL with numbered parameters, and its arguments in order."""
        try:
            sql, names = self._numbered[stmt.sql]
        except KeyError:
            sql, names = self._numbered[stmt.sql] = numbered(stmt.sql)
        params = stmt.params
        if isinstance(params, Mapping):
            return sql, tuple(params[n] for n in names)
        return sql, tuple(params)

    def state(self, conn: Any) -> tuple[bool, bool]:
        # Reported as not in autocommit mode, so that a single write gets BEGIN ... COMMIT
        # of its own as well (plan.bracket): the driver's autocommit handling differs
        # from sqlite3's, and IMMEDIATE makes a writer wait for the lock, not fail.
        return conn.in_transaction, False

    def still_open(self, conn: Any) -> bool:
        return bool(conn.in_transaction)

    def statement(self, conn: Any, cur: Any, stmt: Stmt) -> Any:
        sql, args = self.bind(stmt)
        want = stmt.want
        if want == "rowcount":
            # libsql 0.1.11's cursor.rowcount adds up every statement the cursor ran: a
            # count is taken on a cursor of its own (same connection, same transaction).
            fresh = conn.cursor()
            try:
                fresh.execute(sql, args)
                return fresh.rowcount
            finally:
                fresh.close()
        cur.execute(sql, args)
        if want == "rows":
            return cur.fetchall()
        if want == "lastrowid":
            return cur.lastrowid
        return None

    def direct(self, conn: Any) -> bool | None:
        # No transaction open: the SQLite runner's direct path, every write in BEGIN
        # IMMEDIATE ... COMMIT (see state()). In a transaction (the caller's, or the one the
        # driver opened at a DML statement the caller ran): the general loop, a savepoint.
        return None if conn.in_transaction else False

    def run(self, conn: Any, stmt: Stmt) -> Any:
        # Connection.execute gives a fresh cursor, so its rowcount is this statement's.
        return wanted(conn.execute(*self.bind(stmt)), stmt.want)


def _check(conn: Any) -> None:
    libsql = sys.modules.get("libsql")
    if libsql is None or not isinstance(conn, libsql.Connection):
        raise ValidationError("target", "expected a libsql Connection; got "
                              f"{type(conn).__qualname__}")


def from_connection(conn: Any, tables: Mapping[str, str]) -> tuple[LibsqlDialect, LibsqlRunner]:
    """A ``libsql.Connection`` the caller opened; memstore never closes it."""
    _check(conn)
    dialect = LibsqlDialect(tables)
    return dialect, LibsqlRunner(dialect, conn)


async def async_from_connection(
    conn: Any, tables: Mapping[str, str],
) -> tuple[LibsqlDialect, ThreadedRunner]:
    """The same, for ``AsyncMemory``: the driver has no async API, so its blocking runner
    runs on a thread of the ``AsyncMemory``'s own (memstore/adapters/threaded.py)."""
    dialect, runner = from_connection(conn, tables)
    return dialect, ThreadedRunner(runner, name="memstore-libsql")
