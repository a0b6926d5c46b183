"""MySQL 8.0.17+ and MariaDB 10.5+ through PyMySQL (tested on MariaDB 10.11).

Two ways in:

* a URL, ``mysql://user:password@host:3306/db`` (``mariadb://`` is the same): memstore
  opens one connection with charset utf8mb4, autocommit, and the session settings of
  sql/mysql/session.sql (``time_zone = '+00:00'``, a strict ``sql_mode``) as PyMySQL's
  ``init_command``, so a reconnect gets them too. Calls are serialised on it with a lock,
  so one ``Memory`` can be shared by threads (they take turns; open one ``Memory`` per
  thread for parallel calls). A lost connection (server restart, timeout) makes that call
  raise ``BackendError`` and is reopened by the next call (never after ``close()``).
  Timeouts: connect 10 s, read 60 s, write 60 s; ``?connect_timeout=5&read_timeout=30&
  write_timeout=30`` (seconds) change them.
* a ``pymysql.connections.Connection`` (charset utf8mb4): used as it is and never closed.
  Each unit sets ``time_zone`` and ``sql_mode`` for its own statements and restores the
  caller's values afterwards (session.sql, swap_in / swap_out); the same statement
  refreshes PyMySQL's copy of the server status, whose IN_TRANS flag says whether the
  caller has a transaction open (PyMySQL has no ``in_transaction``, and a result set does
  not update the flag).

The transaction rule is ``plan.bracket`` with the statements of sql/mysql/tx.sql: inside
the caller's transaction a unit runs under a savepoint of its own; otherwise a write of
several statements runs in START TRANSACTION ... COMMIT, and on a connection that is not
in autocommit mode (InnoDB opens a transaction at the first statement) every unit, reads
included, ends with COMMIT. On MySQL a deadlock or lock-wait timeout rolls back the whole
transaction, the caller's part included; memstore reports it as ``BackendError``.

``AsyncMemory`` runs this blocking runner on a thread of its own (``ThreadedRunner``).

Instants are ``TIMESTAMP(3)`` in UTC. A TIMESTAMP is converted through the session time
zone, which is why memstore's statements always run with ``'+00:00'``: the same instants
are stored and returned whatever the server's or the caller's zone is, and the TS package
(which writes UTC after ``SET time_zone = '+00:00'``) reads them unchanged.

A batch of messages is one multi-row INSERT per ``max_allowed_packet``, all in one write
unit. Its ids come from ``RETURNING id`` on MariaDB 10.5+; on MySQL from LAST_INSERT_ID()
(consecutive, stepping by ``auto_increment_increment``, when ``innodb_autoinc_lock_mode``
is 0 or 1), and with lock mode 2, where InnoDB promises nothing about one statement's
ids, one INSERT per message.

Tables are checked (information_schema) by a read at the start of every call until they
are right. Three shapes stop every call with a ``SchemaError`` saying to run ``memstore
init URL``: id columns that are not binary NO PAD (``'c1'``, ``'C1'`` and ``'c1 '`` would
be one id), time columns with fewer than 3 fractional digits (the TS package's
``TIMESTAMP`` would drop the milliseconds of every write, and "now" nearly always has
some), and a non-InnoDB table (no rollback). A ``TEXT`` content column (TS schema) only
refuses content over its 65,535 bytes, with a ``ValidationError`` naming ``content``;
before refusing, the shape is read again, as another process may have widened the column
since (``memstore init``). ``init`` widens such columns of existing tables in place
(ALTER TABLE ... MODIFY to the bundled definitions: every value keeps its meaning and no
two ids can collide) and adds missing indexes; a table whose text is not utf8mb4 is
reported with the ALTER statement to run, never converted behind its owner's back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import ssl
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import parse_qsl, unquote

import pymysql
from pymysql.constants import SERVER_STATUS

from .. import sqlfiles, validate
from ..errors import (
    BackendError,
    ClosedError,
    ConflictError,
    MemstoreError,
    NodeNotReadyError,
    SchemaError,
    ValidationError,
)
from ..models import Message, NewMessage
from ..plan import NO_BRACKET, Bracket, Plan, Stmt, Unit
from .base import Dialect
from .dbapi import DbapiRunner, close_quietly, own_transaction, tx_statement
from .sqlbase import Inserts, SqlDialect
from .sqlite import EXPECTED_COLUMNS
from .threaded import ThreadedRunner
from .utc import to_aware, to_naive

DIALECT = "mysql"
log = logging.getLogger("memstore")
P = ParamSpec("P")
T = TypeVar("T")
UTC = timezone.utc
TIMEOUTS = {"connect_timeout": 10.0, "read_timeout": 60.0, "write_timeout": 60.0}
# TLS, as PyMySQL names it. Without any, PyMySQL tries TLS unverified and falls back to
# plain (building that TLS context costs ~70 ms per connection); ssl_disabled=true skips
# it; any other ssl_* option requires TLS with the certificate verified (_tls_options).
SSL_OPTIONS = ("ssl_ca", "ssl_cert", "ssl_key", "ssl_verify_cert", "ssl_verify_identity",
               "ssl_disabled")
SSL_FILES = ("ssl_ca", "ssl_cert", "ssl_key")
# Set to "off" to run MariaDB without RETURNING, as on MySQL (how the tests cover MySQL 8's
# paths: pop_message's pop.sql, inserts' LAST_INSERT_ID(); no MySQL 8 server here).
RETURNING_ENV = "MEMSTORE_MYSQL_RETURNING"


def _whole(low: int, high: int, unit: str) -> Callable[[str, str], int]:
    def check(name: str, value: str) -> int:
        # isascii: "²".isdigit() is True, and int("²") a ValueError
        if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
            raise ValidationError("url", f"{name} must be a whole number of {unit} from "
                                  f"{low} to {high}; got {value!r}")
        return int(value)
    return check


def _statement_seconds(name: str, value: str) -> float:
    return 0.0 if value in ("0", "0.0") else validate.seconds("url", value, what=name)


# Session variables a URL may set (?name=value), each checked here and set by its own
# statement in session.sql (set_<name>, the value bound by the driver) after every
# connect. A fixed list, because MySQL has no set_config(name, value): setting a variable
# named in the URL would mean building SQL from it. Add one with a line here and there.
SESSION_VARIABLES: dict[str, Callable[[str, str], Any]] = {
    "wsrep_sync_wait": _whole(0, 15, "flags (a bit mask)"),
    "innodb_lock_wait_timeout": _whole(1, 1073741824, "seconds"),
    "lock_wait_timeout": _whole(1, 31536000, "seconds"),
    "max_statement_time": _statement_seconds,
    "max_execution_time": _whole(0, 4294967295, "milliseconds"),
    "wait_timeout": _whole(1, 31536000, "seconds"),
}

# Collations that compare ids byte for byte with no trailing-space padding.
NOPAD_BIN = ("utf8mb4_nopad_bin", "utf8mb4_0900_bin")
# working_memory.id is 'chat:' or 'user:' and an id of up to 255 characters.
ID_LENGTHS = {"id": validate.MAX_ID_CHARS + 5}
ID_COLUMNS = {"working_memory": ("id", "chat_id", "user_id"),
              "messages": ("chat_id", "user_id"), "chats": ("chat_id", "user_id"),
              "status": ("chat_id",)}
TIME_COLUMNS = {"working_memory": ("updated_at",), "messages": ("timestamp",),
                "chats": ("created_at", "updated_at"), "status": ()}
# The tables whose shape every call checks (``prepare``): the TS package's three and the
# status table. The recall side tables are memstore's alone, created by ``init`` with
# the bundled definitions, and only searches read them.
CHECKED_TABLES = ("working_memory", "messages", "chats", "status")
TEXT_COLUMNS = {"working_memory": ("scope", "content"), "messages": ("role", "content"),
                "chats": ("title",), "status": ("status",)}

# Server errors after which it closes the connection: killed, idle too long.
_KILLED = frozenset({1927, 4031})
# ER_DUP_KEYNAME: a concurrent `init` created the same index first.
_DUPLICATE_INDEX = 1061
_TABLE = re.compile(r"Table '(?:[^'.]*\.)?([^'.]+)' doesn't exist")
_COLUMN = re.compile(r"for column (\S+) at row (\d+)")
_MARIADB = re.compile(r"(\d+)\.(\d+)\.(\d+)-MariaDB")
_PARAM = re.compile(r"%\((\w+)\)s")
# INSERT ... VALUES (one row)[ RETURNING ...]: the row is repeated for a batch.
_VALUES = re.compile(r"^(.*\bVALUES\s*)(\(.*\))(\s*RETURNING\s.*)?\s*$", re.DOTALL)
_TABLE_DEF = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*)\)", re.DOTALL)
_INDEX_DEF = re.compile(r"^\s*INDEX (\w+) (\(.*\)),?$")
_INIT_IN_TRANSACTION = ("init_schema runs CREATE/ALTER TABLE, which on MySQL and MariaDB "
                        "commit the open transaction: call it outside your transaction")


def _code(exc: BaseException) -> int | None:
    args = exc.args
    return args[0] if args and isinstance(args[0], int) else None


def _unusable(exc: BaseException) -> bool:
    """Whether the connection can no longer be trusted after ``exc``: the server closed it,
    or the client lost it or its place in the protocol (client errors are 2000-2999;
    PyMySQL's own protocol errors carry no code; any other exception, an interrupt
    included, may have stopped it mid-packet). memstore's own errors and the server's
    refusals of a statement leave it usable."""
    if isinstance(exc, MemstoreError):
        return False
    if isinstance(exc, pymysql.err.MySQLError):
        code = _code(exc)
        return code is None or code in _KILLED or 0 <= code < 1000 or 2000 <= code < 3000
    return True


def _column_name(text: str) -> str:
    """``content`` from "... for column `db`.`t`.`content` at row 1" (or 'content')."""
    m = _COLUMN.search(text)
    return m.group(1).split(".")[-1].strip("`'") if m else "value"


def map_error(exc: Exception) -> MemstoreError:
    """The memstore error for a PyMySQL error."""
    args: tuple[Any, ...] = exc.args
    code = args[0] if args and isinstance(args[0], int) else -1
    text = str(args[1]) if len(args) > 1 else str(exc)
    if code == 1146 and (m := _TABLE.search(text)):
        return SchemaError.missing_table(m.group(1), DIALECT)
    if code == 1054:
        return SchemaError.missing_column(text)
    if code == 1406:  # strict mode: a value too long for its column; nothing was written
        column = _column_name(text)
        return ValidationError(column, f"does not fit its column ({text}); nothing was "
                               "written. `memstore doctor URL` shows columns narrower "
                               "than memstore's schema")
    if code == 1366:  # text the column's character set cannot hold
        return SchemaError(f"{text}: the column's character set cannot hold this text; "
                           "memstore needs utf8mb4 tables (`memstore doctor URL` shows "
                           "the ALTER TABLE ... CONVERT TO CHARACTER SET utf8mb4 to run)")
    message = f"{type(exc).__name__} {code}: {text}"
    if code in (1213, 1205):
        # A deadlock or a Galera certification failure (1213) rolled the transaction
        # back; a lock wait timeout (1205) the statement, and memstore then the rest of
        # the transaction, its own or the caller's (MysqlRunner._undo). Either way the
        # whole transaction is gone.
        return ConflictError(message, dialect=DIALECT)
    if code == 1047:  # WSREP has not yet prepared node for application use
        return NodeNotReadyError(message, dialect=DIALECT)
    # lost connections (2006, 2013), ...
    return BackendError(message, dialect=DIALECT)


# -- the tables' actual shape -------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    charset: str | None
    collation: str | None
    fsp: int | None
    max_chars: int | None
    octets: int | None


@dataclass
class Shape:
    """What information_schema says about the tables (the TS package's three and
    memstore's status table)."""

    columns: dict[str, dict[str, Column]] = field(default_factory=dict)  # by table name
    engines: dict[str, str] = field(default_factory=dict)
    table_charsets: dict[str, str] = field(default_factory=dict)
    indexes: set[tuple[str, str]] | None = None  # (table, index), when read


@dataclass(frozen=True)
class Problem:
    table: str
    text: str  # a sentence for `memstore doctor`
    fatal: bool = False  # memstore refuses to work on the table until it is fixed
    modify: str | None = None  # the column definition `init` applies, if it may
    manual: bool = False  # a person must act (init says what)


def _time_type(c: Column) -> str:
    return f"{c.data_type.upper()}({c.fsp or 0})"


@dataclass(frozen=True)
class _Server:
    max_packet: int
    autoinc_lock_mode: int
    increment: int


# -- the dialect ----------------------------------------------------------------------


class MysqlDialect(SqlDialect):
    """MySQL's plans: the generic ones, each behind a check of the tables' shape
    (``prepare``, see ``_checked`` below), with MySQL's own batch inserts (multi-row
    INSERT), content check, init_schema and doctor.

    The dialect holds what it read of the database: the tables' shape (until it is right)
    and the server's settings (until the runner reconnects). Units of several threads may
    interleave between these reads; each read is idempotent, so the last one stands."""

    dialect = DIALECT
    naive_utc_times = True

    def __init__(self, tables: Mapping[str, str], *, returning: bool) -> None:
        super().__init__(tables)
        # MariaDB 10.5+ returns the ids of a multi-row INSERT exactly; MySQL has no RETURNING.
        self.returning = returning
        self._shape: Shape | None = None
        self._shape_ok = False  # the last shape read had all tables and no fatal problem
        self._server: _Server | None = None
        self._names = {f"{k}_table": self.tables[k] for k in ("messages", "chats", "status")}
        self._names["wm_table"] = self.tables["working_memory"]
        head, row, self._insert_names = _split_insert(self.sql["insert_message"])
        self._insert_head, self._insert_row = head, row
        head, row, tail = _split_returning(self.catalog["insert_message_returning"])
        if _PARAM.findall(row) != self._insert_names:
            raise ValueError("insert_message_returning must insert what insert_message does")
        self._returning_head, self._returning_tail = head, tail
        self._returning_row = _PARAM.sub("%s", row)
        self._definitions, self._index_defs = _parse_schema(self.schema)
        self.pop_sql = sqlfiles.load(DIALECT, self.tables, file="pop")  # without RETURNING
        # The statements that change tables rather than rows, each with the server error
        # that means "already done" (if any). They commit any open transaction, so the
        # runner refuses them inside a caller's transaction.
        self.ddl: dict[str, int | None] = dict.fromkeys(self.schema.values())

    # -- encoding -------------------------------------------------------------------

    def encode_time(self, value: datetime) -> datetime:
        # Naive UTC: the session time zone is '+00:00', so the column gets this instant.
        return to_naive(value)

    def decode_time(self, value: Any) -> datetime:
        if type(value) is datetime:
            return to_aware(value)
        raise BackendError(f"expected a timestamp in a time column, found "
                           f"{type(value).__name__} {value!r}", dialect=DIALECT)

    # -- what the database is like --------------------------------------------------

    def read_shape(self, *, indexes: bool = True) -> Plan[Shape]:
        """The tables' columns, engines and (optionally) indexes, in one read unit."""
        names = ["table_columns", "table_engines", *(["table_indexes"] if indexes else [])]
        results = yield Unit("read", tuple(Stmt(self.catalog[n], self._names, "rows")
                                           for n in names))
        shape = Shape()
        for table, name, dtype, charset, coll, fsp, chars, octets in results[0]:
            shape.columns.setdefault(table, {})[name] = Column(
                name, str(dtype).lower(), charset, coll,
                None if fsp is None else int(fsp),
                None if chars is None else int(chars), None if octets is None else int(octets))
        for table, engine, collation in results[1]:
            shape.engines[table] = str(engine or "")
            shape.table_charsets[table] = str(collation or "").split("_", 1)[0]
        if indexes:
            shape.indexes = {(t, i) for t, i in results[2]}
        return shape

    def prepare(self, *, again: bool = False) -> Plan[None]:
        """The check at the start of every call: until the tables are right (all four
        there, nothing fatal), read their shape and refuse to work on fatal problems.
        ``again`` reads it even when it was right (another process may have changed it)."""
        if self._shape_ok and not again:
            return
        shape = yield from self.read_shape(indexes=False)
        fatal = [p.text for p in self._problems(shape) if p.fatal]
        self._shape, self._shape_ok = shape, not fatal and len(shape.columns) == len(CHECKED_TABLES)
        if fatal:
            raise SchemaError("memstore cannot use these tables as they are: "
                              + "; ".join(fatal))

    def server_settings(self) -> Plan[_Server]:
        """Settings that decide how a batch is sent, read once per connection."""
        if self._server is None:
            (rows,) = yield Unit("read", (Stmt(self.catalog["server_settings"], {}, "rows"),))
            packet, mode, increment = rows[0]
            self._server = _Server(int(packet), int(mode), int(increment))
        return self._server

    def connection_changed(self) -> None:
        """The runner opened a new connection (perhaps to another server): its settings
        are read again."""
        self._server = None

    def _too_large(self, key: str, contents: Sequence[str]
                   ) -> tuple[int, int, Column, int] | None:
        """The first content larger than the known ``key`` content column: (its index,
        its size in bytes, the column, the column's size), or None."""
        table = self.tables[key]
        column = self._shape.columns.get(table, {}).get("content") if self._shape else None
        limit = column.octets if column and column.data_type.endswith("text") else None
        if column is None or not limit or limit >= validate.MAX_CONTENT_BYTES:
            return None
        for i, text in enumerate(contents):
            if len(text) * 4 > limit and (size := len(text.encode("utf-8"))) > limit:
                return i, size, column, limit
        return None

    def check_packet(self, contents: Sequence[str], where: Callable[[int], str],
                     server: _Server, fixed: int) -> None:
        """Content that would not fit in one packet to the server (max_allowed_packet)
        is refused before anything is sent, naming the field: the server would drop the
        connection with a driver error instead. Checked exactly only for content that may
        be that large (the cheap bound first)."""
        budget = server.max_packet - 4096
        for i, text in enumerate(contents):
            if fixed + _escaped_size(text) > budget \
                    and (size := fixed + _exact_escaped_size(text)) > budget:
                raise ValidationError(
                    where(i), f"takes {size} bytes in a statement, more than the server's "
                    f"max_allowed_packet ({server.max_packet} bytes) carries: raise "
                    "max_allowed_packet on the server, or lower connect(..., "
                    "max_content_bytes=) (nothing was written)")

    def check_content(self, key: str, contents: Sequence[str],
                      where: Callable[[int], str]) -> Plan[None]:
        """Content larger than the actual column (a TS-created TEXT holds 65,535 bytes)
        is refused before anything is written, naming the field. The shape known may be
        old (``memstore init`` in another process widens the column), so it is read again
        before refusing."""
        if self._too_large(key, contents) is None:
            return
        yield from self.prepare(again=True)
        found = self._too_large(key, contents)
        if found is None:
            return
        i, size, column, limit = found
        raise ValidationError(
            where(i), f"is {size} bytes of UTF-8; column {self.tables[key]}.content is "
            f"{column.data_type.upper()} and holds {limit} bytes: run `memstore init "
            "URL` to widen it to MEDIUMTEXT (nothing was written)")

    # -- writes that need more than the generic sequence ----------------------------

    def pop_message(self, chat_id: str) -> Plan[Message | None]:
        if self.returning:
            return (yield from super().pop_message(chat_id))
        # MySQL: no DELETE ... RETURNING. The newest message is picked FOR UPDATE into a
        # session variable, read and deleted by id, in the same transaction (pop.sql).
        params = {"chat_id": chat_id}
        pop = self.pop_sql
        results = yield Unit("write", (
            self.stmt("uncount_newest_message", params),
            Stmt(pop["pop_forget_pick"], {}),
            Stmt(pop["pop_pick_newest"], params),
            Stmt(pop["pop_read_picked"], {}, "rows"),
            Stmt(pop["pop_delete_picked"], {}),
            self.stmt("forget_deleted_status", params)))
        rows = results[3]
        return self.messages_from_rows(rows)[0] if rows else None

    def working_memory_stmt(
        self, wm_id: str, scope: str, chat_id: str | None, user_id: str | None,
        content: str, updated_at: datetime,
    ) -> Plan[Stmt]:
        yield from self.check_content("working_memory", [content], lambda i: "content")
        server = yield from self.server_settings()
        self.check_packet([content], lambda i: "content", server,
                          4 * (len(wm_id) + len(chat_id or "") + len(user_id or "")) + 300)
        return (yield from super().working_memory_stmt(wm_id, scope, chat_id, user_id,
                                                       content, updated_at))

    def insert_stmts(
        self, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> Plan[Inserts]:
        """The chat row's update, then multi-row INSERTs, each below max_allowed_packet
        (save_messages and replace_messages run them in one write unit). MariaDB returns
        the ids (RETURNING); on MySQL, InnoDB gives a multi-row INSERT consecutive ids when
        innodb_autoinc_lock_mode is 0 or 1, and in mode 2 (interleaved) nothing is
        promised, so each row is then its own INSERT with its own LAST_INSERT_ID()."""
        def where(i: int) -> str:
            return "content" if len(messages) == 1 else f"messages[{i}].content"

        yield from self.check_content("messages", [m.content for m in messages], where)
        server = yield from self.server_settings()
        fixed = 8 * (len(chat_id) + len(user_id or "")) + 200  # escaped ids, role, time
        self.check_packet([m.content for m in messages], where, server, fixed)
        encode = self.encode_time
        rows = []
        stamps = [encode(m.timestamp) for m in messages]
        for m, stamp in zip(messages, stamps, strict=True):
            values = {"chat_id": chat_id, "user_id": user_id, "role": m.role,
                      "content": m.content, "timestamp": stamp}
            rows.append([values[name] for name in self._insert_names])
        # The chat row first, then the messages: the order pop_message and delete_messages
        # lock them in, so a save and a pop on one chat wait for each other instead of
        # deadlocking (issue 26, finding 8). Its values are known before the inserts.
        stmts: list[Stmt] = [self.stmt("touch_chat_for_messages",
                                       self.touch_params(chat_id, user_id, stamps))]
        sizes: list[int] = []  # how many rows each INSERT writes
        returning = self.returning
        if not returning and server.autoinc_lock_mode > 1:
            one = self._insert_head + self._insert_row
            stmts += [Stmt(one, row, "lastrowid") for row in rows]
            sizes = [1] * len(rows)
        else:
            head, row, tail = ((self._returning_head, self._returning_row,
                                self._returning_tail) if returning
                               else (self._insert_head, self._insert_row, ""))
            for chunk in _chunks(rows, [fixed + _escaped_size(m.content) for m in messages],
                                 server.max_packet - 4096):
                # insert_message's own text (insert_message_returning's on MariaDB) with
                # its VALUES row repeated; the driver binds every value.
                stmts.append(Stmt(head + ",".join([row] * len(chunk)) + tail,
                                  [value for r in chunk for value in r],
                                  "rows" if returning else "lastrowid"))
                sizes.append(len(chunk))

        def ids_of(results: list[Any]) -> list[int]:
            ids: list[int] = []
            for result, size in zip(results[1:], sizes, strict=True):  # after the touch's
                if returning:
                    got = [int(r[0]) for r in result]
                else:
                    got = [int(result) + k * server.increment for k in range(size)]
                if len(got) != size:
                    raise BackendError(f"inserted {len(got)} of {size} messages",
                                       dialect=DIALECT)
                ids += got
            return ids

        return (stmts, ids_of)

    # -- the tables: check, create, upgrade -------------------------------------------

    def _problems(self, shape: Shape) -> list[Problem]:
        out: list[Problem] = []
        for key in CHECKED_TABLES:
            table = self.tables[key]
            cols = shape.columns.get(table)
            if not cols:
                out.append(Problem(table, f"table {table} is missing: run `memstore init URL`"))
                continue
            if missing := sorted(EXPECTED_COLUMNS[key] - set(cols)):
                out.append(Problem(table, f"table {table} lacks columns {', '.join(missing)}"))
            out += self._table_problems(key, table, cols, shape)
        for table, index in self._index_defs:
            if shape.indexes is not None and table in shape.columns \
                    and (table, index) not in shape.indexes:
                out.append(Problem(table, f"index {index} is missing: run `memstore init URL`"))
        return out

    def _table_problems(self, key: str, table: str, cols: dict[str, Column],
                        shape: Shape) -> list[Problem]:
        out: list[Problem] = []
        define = self._definitions[table]
        engine = shape.engines.get(table, "")
        if engine.upper() != "INNODB":
            out.append(Problem(table, f"table {table} uses the {engine} engine, which cannot "
                               f"roll back: run ALTER TABLE {table} ENGINE=InnoDB",
                               fatal=True, manual=True))
        texts = [c for n in (*ID_COLUMNS[key], *TEXT_COLUMNS[key]) if (c := cols.get(n))]
        charsets = {c.charset or "utf8mb4" for c in texts}
        charsets.add(shape.table_charsets.get(table) or "utf8mb4")
        if bad := sorted(charsets - {"utf8mb4"}):
            out.append(Problem(
                table, f"table {table} stores text as {', '.join(bad)}, which cannot hold "
                "every Unicode character (emoji): run ALTER TABLE "
                f"{table} CONVERT TO CHARACTER SET utf8mb4, then `memstore init URL`",
                manual=True))
        for name in ID_COLUMNS[key]:
            c = cols.get(name)
            if c is None:
                continue
            if c.collation not in NOPAD_BIN:
                out.append(Problem(
                    table, f"column {table}.{name} has collation {c.collation}, which would "
                    "treat ids such as 'c1', 'C1' and 'c1 ' as one: run `memstore init URL` "
                    "to give it a binary NO PAD collation", fatal=True,
                    modify=define[name] if c.data_type == "varchar" else None))
            if (c.max_chars or 0) < (need := ID_LENGTHS.get(name, validate.MAX_ID_CHARS)):
                out.append(Problem(table, f"column {table}.{name} holds {c.max_chars} "
                                   f"characters; memstore needs {need}: run `memstore init URL`",
                                   modify=define[name] if c.data_type == "varchar" else None))
        for name in TIME_COLUMNS[key]:
            c = cols.get(name)
            if c is None:
                continue
            if c.data_type not in ("timestamp", "datetime"):
                out.append(Problem(table, f"column {table}.{name} is {c.data_type.upper()}; "
                                   "memstore stores UTC instants in TIMESTAMP(3)", fatal=True,
                                   manual=True))
            elif (c.fsp or 0) < 3:
                out.append(Problem(
                    table, f"column {table}.{name} is {_time_type(c)}, which would drop the "
                    "milliseconds memstore stores: run `memstore init URL` to widen it to "
                    f"{c.data_type.upper()}(3)", fatal=True,
                    modify=define[name] if c.data_type == "timestamp" else None))
        content = cols.get("content")
        if content is not None and (content.octets or 0) < validate.MAX_CONTENT_BYTES:
            out.append(Problem(
                table, f"column {table}.content is {content.data_type.upper()} and holds "
                f"{content.octets} bytes, less than the 8 MiB memstore accepts: run "
                "`memstore init URL` to widen it to MEDIUMTEXT",
                modify=define["content"] if content.data_type in ("text", "tinytext") else None))
        return out

    def doctor(self) -> Plan[list[str]]:
        shape = yield from self.read_shape()
        return [p.text for p in self._problems(shape)]

    def _ddl(self, sql: str, done_code: int | None = None) -> Stmt:
        self.ddl[sql] = done_code
        return Stmt(sql, {})

    def init_schema(self) -> Plan[None]:
        """Create missing tables; widen the columns of existing ones (tables the TS
        package created) where that is lossless; add missing indexes. Each step is a unit
        of DDL after a read of the catalog; the runner refuses DDL inside a caller's
        transaction (it would commit it)."""
        yield Unit("write", tuple(self._ddl(s) for s in self.schema.values()))
        problems = self._problems((yield from self.read_shape(indexes=False)))
        manual = {p.table for p in problems if p.manual}
        alters: list[Stmt] = []
        for table in self._definitions:
            changes = [p.modify for p in problems
                       if p.table == table and p.modify and table not in manual]
            if changes:
                # Assembled here, not in a .sql file: the table name is a checked
                # identifier and each definition is a column line of the bundled
                # schema.sql (see _parse_schema), never a user's value.
                alters.append(self._ddl(f"ALTER TABLE {table} " + ", ".join(
                    f"MODIFY {d}" for d in dict.fromkeys(changes))))
        if alters:
            yield Unit("write", tuple(alters))
        # MySQL has no CREATE INDEX IF NOT EXISTS: look first, and let a concurrent init
        # that created the same index first win (the runner ignores its 1061).
        have = (yield from self.read_shape()).indexes or set()
        # Assembled as the ALTERs above are: names and column lists from schema.sql.
        creates = [self._ddl(f"CREATE INDEX {index} ON {table} {index_columns}",
                             _DUPLICATE_INDEX)
                   for (table, index), index_columns in self._index_defs.items()
                   if (table, index) not in have]
        if creates:
            yield Unit("write", tuple(creates))
        left = [p.text for p in self._problems((yield from self.read_shape()))]
        self._shape, self._shape_ok = None, False
        if left:
            raise SchemaError("memstore init could not fix everything: " + "; ".join(left))


def _checked(plan: Callable[Concatenate[MysqlDialect, P], Plan[T]]
             ) -> Callable[Concatenate[MysqlDialect, P], Plan[T]]:
    """``plan`` behind the check of the tables' shape (``MysqlDialect.prepare``)."""
    def checked(self: MysqlDialect, /, *args: P.args, **kwargs: P.kwargs) -> Plan[T]:
        yield from self.prepare()
        return (yield from plan(self, *args, **kwargs))

    functools.update_wrapper(checked, plan)  # its name and docstring
    return checked


# Every operation of a Dialect, except those that look at the tables themselves, starts
# with the shape check: one place, so that no operation (present or added later) skips it.
for _name in sorted(Dialect.__abstractmethods__ - {"init_schema", "doctor"}):
    setattr(MysqlDialect, _name, _checked(getattr(MysqlDialect, _name)))


# -- the runner -------------------------------------------------------------------------


class MysqlRunner(DbapiRunner):
    """A PyMySQL connection: memstore's own (from a URL; reopened when lost) or the
    caller's (its session settings swapped in and out around each unit). Units take turns
    on a lock, so one ``Memory`` can be shared by threads."""

    # With autocommit off, InnoDB opens a transaction at the first statement.
    implicit_begin = True
    dialect: MysqlDialect

    def __init__(self, dialect: MysqlDialect, conn: Any, *, owned: bool) -> None:
        super().__init__(dialect, (pymysql.err.MySQLError,), map_error)
        self.conn = conn
        self.owned = owned
        self.session = sqlfiles.load("mysql", dialect.tables, file="session")
        # Session settings from the URL (session.sql name, parameters), applied after every
        # connect: init_command takes no bound parameter.
        self.settings: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.RLock()
        self._closed = False
        self._joined = False  # the unit under way joined the caller's transaction

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        with self._lock:
            conn = self.conn
            if self.owned and not conn.open:
                if self._closed:  # a call that waited for the lock while close() ran
                    raise ClosedError()
                log.warning("memstore: the MySQL connection was lost; reconnecting")
                conn.connect()  # init_command sets memstore's session again
                self.apply_settings()
                self.dialect.connection_changed()
            if not self.owned:
                self._swap("swap_in")  # also refreshes server_status
            try:
                yield conn
            except BaseException as exc:
                if self.owned:
                    if _unusable(exc) and conn.open:
                        # memstore's own connection: drop it, the next call opens a new one
                        conn.close()
                elif conn.open:
                    # the caller's settings back; the error being raised is the news
                    with contextlib.suppress(Exception):
                        self._swap("swap_out")
                raise
            if not self.owned:
                self._swap("swap_out")

    def apply_settings(self) -> None:
        for name, params in self.settings:
            cur = self.conn.cursor(pymysql.cursors.Cursor)
            try:
                cur.execute(self.session[name], params)
            finally:
                cur.close()

    def _swap(self, name: str) -> None:
        cur = self.conn.cursor(pymysql.cursors.Cursor)
        try:
            cur.execute(self.session[name])
        finally:
            cur.close()

    def state(self, conn: Any) -> tuple[bool, bool]:
        # The flag of the last OK packet: swap_in's on a caller's connection; on memstore's
        # own, that of its last COMMIT/ROLLBACK (it leaves no transaction open).
        self._joined = bool(conn.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS)
        return self._joined, bool(conn.get_autocommit())

    def cursor(self, conn: Any) -> Any:
        # Plain tuple rows, whatever cursor class the caller's connection defaults to.
        return conn.cursor(pymysql.cursors.Cursor)

    def statement(self, conn: Any, cur: Any, stmt: Stmt) -> Any:
        # No parameters: None, so that PyMySQL does not %-format the text.
        cur.execute(stmt.sql, stmt.params or None)
        want = stmt.want
        if want == "rows":
            return list(cur.fetchall())
        if want == "rowcount":
            return cur.rowcount
        if want == "lastrowid":
            return cur.lastrowid
        return None

    def execute(self, unit: Unit) -> list[Any]:
        ddl = self.dialect.ddl
        if unit.kind != "write":
            return self._alone(unit)
        if not any(s.sql in ddl for s in unit.stmts):
            return super().execute(unit)
        with self.transaction(unit.kind) as (conn, cur):
            if self._joined:
                raise MemstoreError(_INIT_IN_TRANSACTION)
            results = []
            for stmt in unit.stmts:
                try:
                    results.append(self.statement(conn, cur, stmt))
                except pymysql.err.MySQLError as exc:
                    done_code = ddl.get(stmt.sql)
                    if done_code is None or _code(exc) != done_code:
                        raise
                    results.append(None)  # already done (by a concurrent init)
            return results

    def _alone(self, unit: Unit) -> list[Any]:
        """A read or a single write: on memstore's own connection, open, in autocommit
        mode and outside a transaction, the transaction rule gives no bracket
        (plan.bracket), so it runs without the general loop's context managers (what
        connection() does on an error is done here too). Anything else: the general loop."""
        with self._lock:
            conn = self.conn
            if not (self.owned and conn.open and conn.get_autocommit()
                    and not conn.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS):
                return super().execute(unit)
            try:
                cur = conn.cursor(pymysql.cursors.Cursor)
                try:
                    return [self.statement(conn, cur, s) for s in unit.stmts]
                finally:
                    close_quietly(cur)
            except BaseException as exc:
                if _unusable(exc) and conn.open:
                    conn.close()  # the next call opens a new one
                if isinstance(exc, pymysql.err.MySQLError):
                    raise own_transaction(map_error(exc), NO_BRACKET) from exc
                raise

    def still_open(self, conn: Any) -> bool:
        return bool(conn.open)

    def _undo(self, conn: Any, cur: Any, shape: Bracket, name: str) -> None:
        exc = sys.exc_info()[1]  # _undo runs while the unit's error is being handled
        if shape.savepoint and isinstance(exc, pymysql.err.MySQLError) \
                and _code(exc) == 1205 and self.still_open(conn):
            # A lock wait timeout undid only the statement (innodb_rollback_on_timeout is
            # OFF by default); a deadlock (1213) undoes the caller's whole transaction, and
            # ConflictError tells the caller to retry that whole transaction. Roll it back
            # so both mean the same and a retry never writes the caller's statements twice.
            try:
                cur.execute(tx_statement(self.tx, "rollback", name))
            except Exception as err:
                log.warning("memstore: rolling back after a lock wait timeout failed: %s",
                            err)
            return
        super()._undo(conn, cur, shape, name)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self.owned and self.conn.open:
                self.conn.close()  # COM_QUIT, then the socket; never raises when open


# -- helpers --------------------------------------------------------------------------


def _split_insert(statement: str) -> tuple[str, str, list[str]]:
    """``INSERT ... VALUES `` and its one row ``(%s, ...)``, with the parameter names in
    order: a batch repeats the row, and the driver binds every value."""
    head, row, tail = _split_returning(statement)
    if tail:
        raise ValueError("insert_message must end with its VALUES (...) row")
    return head, _PARAM.sub("%s", row), _PARAM.findall(row)


def _split_returning(statement: str) -> tuple[str, str, str]:
    """``INSERT ... VALUES ``, its row as written (named parameters), and what follows
    it (`` RETURNING id``)."""
    m = _VALUES.match(statement)
    if m is None:
        raise ValueError("an insert of messages must have one VALUES (...) row")
    return m.group(1), m.group(2), m.group(3) or ""


def _parse_schema(schema: Mapping[str, str]) -> tuple[
        dict[str, dict[str, str]], dict[tuple[str, str], str]]:
    """From the bundled CREATE TABLEs: each column's definition (what ``init`` applies to
    an existing table with ALTER TABLE ... MODIFY) and each index's column list."""
    definitions: dict[str, dict[str, str]] = {}
    indexes: dict[tuple[str, str], str] = {}
    for statement in schema.values():
        m = _TABLE_DEF.search(statement)
        if m is None:
            continue
        table, body = m.groups()
        columns = definitions.setdefault(table, {})
        for line in body.splitlines():
            if idx := _INDEX_DEF.match(line):
                indexes[(table, idx.group(1))] = idx.group(2)
            elif (words := line.strip().rstrip(",").split(" ", 1)) and len(words) == 2 \
                    and words[0] not in ("PRIMARY", "INDEX", "UNIQUE", "KEY", ""):
                columns[words[0]] = line.strip().rstrip(",")
    return definitions, indexes


_ESCAPED = "\0\n\r\\'\"\x1a"  # what PyMySQL's escape_string doubles


def _exact_escaped_size(text: str) -> int:
    """The bytes ``text`` takes in a statement as PyMySQL quotes it."""
    return len(text.encode("utf-8")) + sum(text.count(c) for c in _ESCAPED) + 2


def _escaped_size(text: str) -> int:
    """An upper bound of the bytes ``text`` takes in a statement: UTF-8, every byte
    possibly escaped."""
    return 2 * (len(text) if text.isascii() else len(text.encode("utf-8"))) + 2


def _chunks(rows: list[list[Any]], sizes: list[int], budget: int) -> Iterator[list[list[Any]]]:
    start, used = 0, 0
    for i, size in enumerate(sizes):
        if i > start and used + size > budget:
            yield rows[start:i]
            start, used = i, 0
        used += size
    yield rows[start:]


# -- entry points (memstore.connect) --------------------------------------------------


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _flag(name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    # The value is not repeated: a secret pasted into the wrong option stays out of logs.
    raise ValidationError("url", f"{name} must be true or false (1/0, yes/no, on/off); got "
                          "something else")


def _tls_options(tls: Mapping[str, str]) -> dict[str, Any]:
    """PyMySQL's connect() arguments for the URL's ssl_* options.

    No option: PyMySQL's default (TLS if the server offers it, certificate not checked,
    plain text if the server has no TLS). Any ssl_* option but ssl_disabled=true: TLS is
    required and the server's certificate is verified (against ssl_ca, else the system's
    CAs) and so is its host name, unless the URL says ssl_verify_cert=false or
    ssl_verify_identity=false. memstore builds the SSLContext itself: PyMySQL would leave
    the certificate unchecked with ssl_ca alone, and the host name unchecked without it."""
    if not tls:
        return {}
    if "ssl_disabled" in tls and _flag("ssl_disabled", tls["ssl_disabled"]):
        if len(tls) > 1:
            raise ValidationError("url", "ssl_disabled=true cannot be combined with other "
                                  "ssl_* options")
        return {"ssl_disabled": True}
    verify_cert = _flag("ssl_verify_cert", tls.get("ssl_verify_cert", "true"))
    verify_identity = _flag("ssl_verify_identity",
                            tls.get("ssl_verify_identity", "true" if verify_cert else "false"))
    if verify_identity and not verify_cert:
        raise ValidationError("url", "ssl_verify_identity=true needs the certificate "
                              "verified: drop ssl_verify_cert=false")
    if "ssl_key" in tls and "ssl_cert" not in tls:
        raise ValidationError("url", "ssl_key needs ssl_cert (the client certificate)")
    try:
        ctx = ssl.create_default_context(cafile=tls.get("ssl_ca"))
    except (ssl.SSLError, OSError) as exc:
        raise ValidationError("url", f"ssl_ca: cannot load {tls['ssl_ca']!r} as PEM "
                              f"certificates ({type(exc).__name__})") from None
    ctx.check_hostname = verify_identity
    ctx.verify_mode = ssl.CERT_REQUIRED if verify_cert else ssl.CERT_NONE
    if "ssl_cert" in tls:
        try:
            ctx.load_cert_chain(tls["ssl_cert"], tls.get("ssl_key"))
        except (ssl.SSLError, OSError) as exc:
            raise ValidationError("url", "ssl_cert/ssl_key: cannot load the client "
                                  f"certificate ({type(exc).__name__})") from None
    return {"ssl": ctx}  # PyMySQL then requires TLS: no plain-text fallback


def _connect_options(url: str) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """PyMySQL's connect() arguments for a URL, and the session variables it sets (their
    session.sql statement names and parameters)."""
    parts = validate.url_parts(url, "MySQL")
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise ValidationError("url", "name the database: mysql://user:password@host:3306/DB")
    port = parts.port or 3306
    kwargs: dict[str, Any] = dict(TIMEOUTS)
    settings: dict[str, dict[str, Any]] = {}
    tls: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in TIMEOUTS:
            kwargs[name] = validate.seconds("url", value, what=name)
        elif name in SESSION_VARIABLES:  # memstore's, not PyMySQL's: see MysqlRunner
            settings[f"set_{name}"] = {"value": SESSION_VARIABLES[name](name, value)}
        elif name in SSL_FILES and not os.path.isfile(value):
            raise ValidationError("url", f"{name}: no file at {value!r}")
        elif name in SSL_OPTIONS:
            tls[name] = value
        elif name == "unix_socket":
            kwargs[name] = value
        else:
            known = ", ".join([*TIMEOUTS, *SESSION_VARIABLES, "unix_socket", *SSL_OPTIONS])
            raise ValidationError("url", f"unknown option {name!r}; use {known}")
    kwargs.update(_tls_options(tls))
    return dict(host=parts.hostname or "localhost", port=port,
                user=unquote(parts.username) if parts.username else None,
                # no password in the URL: $MYSQL_PWD, as the mysql client reads it
                password=(unquote(parts.password) if parts.password is not None
                          else os.environ.get("MYSQL_PWD", "")), database=database,
                charset="utf8mb4", autocommit=True, **kwargs), list(settings.items())


def _pair(conn: Any, tables: Mapping[str, str], *, owned: bool
          ) -> tuple[MysqlDialect, MysqlRunner]:
    mariadb = _MARIADB.search(conn.get_server_info() or "")
    returning = mariadb is not None and tuple(map(int, mariadb.groups())) >= (10, 5, 0)
    # MEMSTORE_MYSQL_RETURNING=off: MariaDB as MySQL 8 (no RETURNING), for tests.
    if os.environ.get(RETURNING_ENV, "").lower() in ("off", "0", "false", "no"):
        returning = False
    dialect = MysqlDialect(tables, returning=returning)
    return dialect, MysqlRunner(dialect, conn, owned=owned)


def from_url(url: str, tables: Mapping[str, str]) -> tuple[MysqlDialect, MysqlRunner]:
    options, settings = _connect_options(url)
    session = sqlfiles.load("mysql", tables, file="session")
    try:
        conn = pymysql.connect(init_command=session["session"], **options)
    except pymysql.err.MySQLError as exc:
        raise map_error(exc) from exc
    try:
        dialect, runner = _pair(conn, tables, owned=True)
        if settings:
            runner.settings.extend(settings)
            runner.apply_settings()
        return dialect, runner
    except BaseException as exc:
        conn.close()  # no connection outlives a failed connect
        if isinstance(exc, pymysql.err.MySQLError):
            raise map_error(exc) from exc
        raise


def from_connection(conn: Any, tables: Mapping[str, str]) -> tuple[MysqlDialect, MysqlRunner]:
    if not isinstance(conn, pymysql.connections.Connection):
        raise ValidationError("target", f"expected a pymysql Connection; got "
                              f"{type(conn).__module__}.{type(conn).__qualname__}")
    if conn.charset != "utf8mb4":
        raise ValidationError(
            "target", f"the connection's charset is {conn.charset!r}; memstore needs "
            "pymysql.connect(..., charset='utf8mb4') so that any Unicode text round-trips")
    return _pair(conn, tables, owned=False)


async def async_from_url(url: str, tables: Mapping[str, str]
                         ) -> tuple[MysqlDialect, ThreadedRunner]:
    """The blocking runner, its connection opened on a worker thread, on a thread of its
    own. If the caller is cancelled while the connection opens, it is closed once open."""
    opening = asyncio.ensure_future(asyncio.to_thread(from_url, url, tables))
    try:
        dialect, sync = await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(_close_opened)
        raise
    return dialect, ThreadedRunner(sync, name="memstore-mysql")


def _close_opened(opening: asyncio.Future[tuple[MysqlDialect, MysqlRunner]]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        opening.result()[1].close()


async def async_from_connection(conn: Any, tables: Mapping[str, str]
                                ) -> tuple[MysqlDialect, ThreadedRunner]:
    """A caller's PyMySQL connection, used on a thread of the ``AsyncMemory``'s own (the
    caller must not use it at the same time)."""
    dialect, sync = from_connection(conn, tables)
    return dialect, ThreadedRunner(sync, name="memstore-mysql")
