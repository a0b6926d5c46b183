"""MySQL 8.0.17+ and MariaDB 10.5+ through PyMySQL (tested on MariaDB 10.11).

Two ways in:

* a URL, ``mysql://user:password@host:3306/db`` (``mariadb://`` is the same): memstore
  opens one connection with charset utf8mb4, autocommit, ``time_zone = '+00:00'`` and a
  strict ``sql_mode`` (PyMySQL's ``init_command``, so a reconnect gets them too). Calls are
  serialised on it with a lock, so one ``Memory`` can be shared by threads (they take
  turns; open one ``Memory`` per thread for parallel calls). A lost connection (server
  restart, timeout) makes that call raise ``BackendError`` and is reopened by the next
  call. Timeouts: connect 10 s, read 60 s, write 60 s; ``?connect_timeout=5&
  read_timeout=30&write_timeout=30`` (seconds) change them.
* a ``pymysql.connections.Connection`` (charset utf8mb4): used as it is and never closed.
  Each call sets ``time_zone`` and ``sql_mode`` for its own statements and restores the
  caller's values afterwards; the same statement refreshes PyMySQL's copy of the server
  status, whose IN_TRANS flag says whether the caller has a transaction open (PyMySQL has
  no ``in_transaction``, and a result set does not update the flag).

The transaction rule: with no transaction open, a write runs in START TRANSACTION ...
COMMIT; inside the caller's transaction it runs under SAVEPOINT memstore (rolled back to
on error). A read on a non-autocommit connection ends the transaction InnoDB opened for
it. On MySQL a deadlock or lock-wait timeout rolls back the whole transaction, the
caller's part included; memstore reports it as BackendError.

Instants are ``TIMESTAMP(3)`` in UTC. A TIMESTAMP is converted through the session time
zone, which is why memstore's statements always run with ``'+00:00'``: the same instants
are stored and returned whatever the server's or the caller's zone is, and the TS package
(which writes UTC after ``SET time_zone = '+00:00'``) reads them unchanged.

A batch of messages is one multi-row INSERT per ``max_allowed_packet``. Its ids come from
``RETURNING id`` on MariaDB 10.5+; on MySQL from LAST_INSERT_ID() (consecutive, stepping by
``auto_increment_increment``, when ``innodb_autoinc_lock_mode`` is 0 or 1), and with lock
mode 2, where InnoDB promises nothing about one statement's ids, one INSERT per message.

Tables are checked once per ``Memory`` (information_schema, repeated until they are
right). Three shapes stop every call with a ``SchemaError`` saying to run ``memstore init
URL``: id columns that are not binary NO PAD (``'c1'``, ``'C1'`` and ``'c1 '`` would be one
id), time columns with fewer than 3 fractional digits (the TS package's ``TIMESTAMP``
would drop the milliseconds of every write, and "now" nearly always has some), and a
non-InnoDB table (no rollback). A ``TEXT`` content column (TS schema) only refuses
content over its 65,535 bytes, with a ``ValidationError`` naming ``content``. ``init``
widens such columns of existing tables in place (ALTER TABLE ... MODIFY to the bundled
definitions: every value keeps its meaning and no two ids can collide) and adds missing
indexes; a table whose text is not utf8mb4 is reported with the ALTER statement to run,
never converted behind its owner's back.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pymysql
from pymysql.constants import SERVER_STATUS

from .. import validate
from ..errors import BackendError, MemstoreError, SchemaError, ValidationError
from ..models import NewMessage
from .sqlbase import Cursor, SqlAdapter
from .sqlite import EXPECTED_COLUMNS

DIALECT = "mysql"
UTC = timezone.utc
TIMEOUTS = {"connect_timeout": 10.0, "read_timeout": 60.0, "write_timeout": 60.0}
# TLS, as PyMySQL names it. Without any, PyMySQL tries TLS and falls back to plain
# (building that TLS context costs ~70 ms per connection); ssl_disabled=true skips it.
SSL_OPTIONS = ("ssl_ca", "ssl_cert", "ssl_key", "ssl_verify_cert", "ssl_verify_identity",
               "ssl_disabled")
# Strict: a value too long for its column is an error, never a truncated row.
SQL_MODE = "STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION"
SESSION = f"SET time_zone = '+00:00', sql_mode = '{SQL_MODE}'"
# For a caller's connection: keep its values (the right-hand sides are read before any
# assignment), use memstore's, and put them back after the call.
SWAP_IN = ("SET @memstore_tz = @@session.time_zone, @memstore_mode = @@session.sql_mode, "
           f"time_zone = '+00:00', sql_mode = '{SQL_MODE}'")
SWAP_OUT = "SET time_zone = @memstore_tz, sql_mode = @memstore_mode"

# Collations that compare ids byte for byte with no trailing-space padding.
NOPAD_BIN = ("utf8mb4_nopad_bin", "utf8mb4_0900_bin")
# working_memory.id is 'chat:' or 'user:' and an id of up to 255 characters.
ID_LENGTHS = {"id": validate.MAX_ID_CHARS + 5}
ID_COLUMNS = {"working_memory": ("id", "chat_id", "user_id"),
              "messages": ("chat_id", "user_id"), "chats": ("chat_id", "user_id")}
TIME_COLUMNS = {"working_memory": ("updated_at",), "messages": ("timestamp",),
                "chats": ("created_at", "updated_at")}
TEXT_COLUMNS = {"working_memory": ("scope", "content"), "messages": ("role", "content"),
                "chats": ("title",)}

# Server errors after which it closes the connection: killed, idle too long.
_KILLED = frozenset({1927, 4031})
_TABLE = re.compile(r"Table '(?:[^'.]*\.)?([^'.]+)' doesn't exist")
_COLUMN = re.compile(r"for column (\S+) at row (\d+)")
_MARIADB = re.compile(r"(\d+)\.(\d+)\.(\d+)-MariaDB")
_PARAM = re.compile(r"%\((\w+)\)s")
_VALUES = re.compile(r"^(.*\bVALUES\s*)(\(.*\))\s*$", re.DOTALL)
_TABLE_DEF = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*)\)", re.DOTALL)
_INDEX_DEF = re.compile(r"^\s*INDEX (\w+) (\(.*\)),?$")

# Three small queries: joining COLUMNS to TABLES costs MariaDB ~10x more than both.
_COLUMNS = """
SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_SET_NAME, COLLATION_NAME,
       DATETIME_PRECISION, CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (%s, %s, %s)
"""
_TABLES = """
SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (%s, %s, %s)
"""
_INDEXES = """
SELECT DISTINCT TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (%s, %s, %s)
"""
_SERVER = "SELECT @@max_allowed_packet, @@innodb_autoinc_lock_mode, @@auto_increment_increment"


def _unusable(exc: BaseException) -> bool:
    """Whether the connection can no longer be trusted after ``exc``: the server closed it,
    or the client lost it or its place in the protocol (client errors are 2000-2999;
    PyMySQL's own protocol errors carry no code; an interrupt may stop it mid-packet).
    memstore's own errors and the server's refusals of a statement leave it usable."""
    if isinstance(exc, MemstoreError):
        return False
    if not isinstance(exc, pymysql.err.MySQLError):
        return isinstance(exc, BaseException)
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    return code is None or code in _KILLED or 0 <= code < 1000 or 2000 <= code < 3000


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
    return BackendError(f"{type(exc).__name__} {code}: {text}", dialect=DIALECT)


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
    """What information_schema says about the three tables."""

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


# -- the adapter --------------------------------------------------------------------


@dataclass(frozen=True)
class _Server:
    max_packet: int
    autoinc_lock_mode: int
    increment: int


class MysqlAdapter(SqlAdapter):
    dialect = DIALECT

    def __init__(self, conn: Any, *, tables: Mapping[str, str], owned: bool) -> None:
        super().__init__(tables)
        self.conn = conn
        self.owned = owned
        self._lock = threading.RLock()
        self._shape: Shape | None = None
        self._shape_ok = False  # the last shape read had all tables and no fatal problem
        self._server: _Server | None = None
        mariadb = _MARIADB.search(conn.get_server_info() or "")
        # MariaDB 10.5+ returns the ids of a multi-row INSERT exactly; MySQL has no RETURNING.
        self.returning = mariadb is not None and tuple(map(int, mariadb.groups())) >= (10, 5, 0)
        head, row, self._insert_names = _split_insert(self.sql["insert_message"])
        self._insert_head, self._insert_row = head, row
        self._definitions, self._index_defs = _parse_schema(self.schema)

    # -- connection and session ---------------------------------------------------

    def _connection(self) -> Any:
        if self.owned and not self.conn.open:
            self.conn.connect()  # init_command sets memstore's session again
            self._server = None
        return self.conn

    @contextmanager
    def _session(self, *, check: bool) -> Iterator[tuple[Cursor, bool]]:
        """A cursor with memstore's session settings, and whether the caller has a
        transaction open. Driver errors become memstore errors."""
        with self._lock:
            try:
                conn = self._connection()
                cur = conn.cursor(pymysql.cursors.Cursor)
                try:
                    if not self.owned:
                        cur.execute(SWAP_IN)  # also refreshes server_status
                    joined = bool(conn.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS)
                    if check:
                        self._check_shape(cur)
                    yield cur, joined
                except BaseException:
                    self._restore(cur, failing=True)
                    raise
                self._restore(cur, failing=False)
            except BaseException as exc:
                if self.owned and _unusable(exc):
                    # memstore's own connection: drop it, the next call opens a new one
                    self.conn._force_close()
                if isinstance(exc, pymysql.err.MySQLError):
                    raise map_error(exc) from exc
                raise

    def _restore(self, cur: Cursor, *, failing: bool) -> None:
        try:
            if not self.owned and self.conn.open:
                cur.execute(SWAP_OUT)
            cur.close()
        except Exception:
            if not failing:
                raise
            # the error being raised is the one worth reporting

    @contextmanager
    def _read(self, *, check: bool) -> Iterator[tuple[Cursor, bool]]:
        with self._session(check=check) as (cur, joined):
            # With autocommit off, InnoDB opens a transaction for a SELECT: memstore ends
            # the one it started (not the caller's).
            ours = not joined and not self.conn.get_autocommit()
            try:
                yield cur, joined
            except BaseException:
                if ours:
                    self._undo(cur, joined=False)
                raise
            if ours:
                cur.execute("ROLLBACK")

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        with self._read(check=True) as (cur, _):
            yield cur

    @contextmanager
    def writing(self) -> Iterator[Cursor]:
        with self._session(check=True) as (cur, joined), self._atomic(cur, joined):
            yield cur

    @contextmanager
    def writing_one(self) -> Iterator[Cursor]:
        with self._session(check=True) as (cur, joined):
            if not joined and self.conn.get_autocommit():
                yield cur  # in autocommit mode the statement is its own transaction
            else:
                with self._atomic(cur, joined):
                    yield cur

    @contextmanager
    def _atomic(self, cur: Cursor, joined: bool) -> Iterator[None]:
        cur.execute("SAVEPOINT memstore" if joined else "START TRANSACTION")
        try:
            yield
            cur.execute("RELEASE SAVEPOINT memstore" if joined else "COMMIT")
        except BaseException:
            self._undo(cur, joined)
            raise

    def _undo(self, cur: Cursor, joined: bool) -> None:
        try:
            if joined:
                cur.execute("ROLLBACK TO SAVEPOINT memstore")
                cur.execute("RELEASE SAVEPOINT memstore")
            else:
                cur.execute("ROLLBACK")
        except Exception:
            pass  # connection lost, or the server already rolled back (deadlock)

    def _server_settings(self, cur: Cursor) -> _Server:
        """Settings that decide how a batch is sent, read once per connection."""
        if self._server is None:
            cur.execute(_SERVER)
            packet, mode, increment = cur.fetchone()
            self._server = _Server(int(packet), int(mode), int(increment))
        return self._server

    # -- encoding -------------------------------------------------------------------

    def encode_time(self, value: datetime) -> datetime:
        # Naive UTC: the session time zone is '+00:00', so the column gets this instant.
        # memstore hands adapters UTC already (validate.instant); converting costs per row
        return (value if value.tzinfo is UTC else value.astimezone(UTC)).replace(tzinfo=None)

    def decode_time(self, value: Any) -> datetime:
        if type(value) is datetime:
            # memstore's instants are milliseconds; a finer column is read as the TS
            # package reads it, truncated.
            return value.replace(microsecond=value.microsecond // 1000 * 1000, tzinfo=UTC)
        raise BackendError(f"expected a timestamp in a time column, found "
                           f"{type(value).__name__} {value!r}", dialect=DIALECT)

    # -- writes that need more than the generic sequence ----------------------------

    def save_messages(
        self, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> list[int]:
        def where(i: int) -> str:
            return "content" if len(messages) == 1 else f"messages[{i}].content"

        with self.writing() as cur:
            self.check_content("messages", [m.content for m in messages], where)
            ids = self._insert_messages(cur, chat_id, user_id, messages)
            self.run(cur, "touch_chat_for_messages", self.touch_params(chat_id, user_id, messages))
        return ids

    def _insert_messages(
        self, cur: Cursor, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> list[int]:
        """Multi-row INSERTs, each below max_allowed_packet. MariaDB returns the ids
        (RETURNING); on MySQL, InnoDB gives a multi-row INSERT consecutive ids when
        innodb_autoinc_lock_mode is 0 or 1, and in mode 2 (interleaved) nothing is
        promised, so each row is then its own INSERT with its own LAST_INSERT_ID()."""
        server = self._server_settings(cur)
        rows = []
        for m in messages:
            values = {"chat_id": chat_id, "user_id": user_id, "role": m.role,
                      "content": m.content, "timestamp": self.encode_time(m.timestamp)}
            rows.append([values[name] for name in self._insert_names])
        if not self.returning and server.autoinc_lock_mode > 1:
            ids = []
            for row in rows:
                cur.execute(self._insert_head + self._insert_row, row)
                ids.append(int(cur.lastrowid))
            return ids
        fixed = 8 * (len(chat_id) + len(user_id or "")) + 200  # escaped ids, role, time
        ids = []
        for chunk in _chunks(rows, [fixed + _escaped_size(m.content) for m in messages],
                             server.max_packet - 4096):
            statement = self._insert_head + ",".join([self._insert_row] * len(chunk))
            params = [value for row in chunk for value in row]
            if self.returning:
                cur.execute(statement + " RETURNING id", params)
                got = [int(r[0]) for r in cur.fetchall()]
            else:
                cur.execute(statement, params)
                first = int(cur.lastrowid)
                got = [first + k * server.increment for k in range(len(chunk))]
            if len(got) != len(chunk):
                raise BackendError(f"inserted {len(got)} of {len(chunk)} messages",
                                   dialect=DIALECT)
            ids += got
        return ids

    def check_content(self, key: str, contents: Sequence[str],
                       where: Callable[[int], str]) -> None:
        """Content larger than the actual column (a TS-created TEXT holds 65,535 bytes)
        is refused before anything is written, naming the field."""
        table = self.tables[key]
        column = self._shape.columns.get(table, {}).get("content") if self._shape else None
        limit = column.octets if column and column.data_type.endswith("text") else None
        if column is None or not limit or limit >= validate.MAX_CONTENT_BYTES:
            return
        for i, text in enumerate(contents):
            if len(text) * 4 > limit and (size := len(text.encode("utf-8"))) > limit:
                raise ValidationError(
                    where(i), f"is {size} bytes of UTF-8; column {table}.content is "
                    f"{column.data_type.upper()} and holds {limit} bytes: run `memstore init "
                    "URL` to widen it to MEDIUMTEXT (nothing was written)")

    # -- the tables: check, create, upgrade -------------------------------------------

    def _read_shape(self, cur: Cursor, *, indexes: bool = True) -> Shape:
        names = [self.tables[k] for k in ("working_memory", "messages", "chats")]
        shape = Shape()
        cur.execute(_COLUMNS, names)
        for table, name, dtype, charset, coll, fsp, chars, octets in cur.fetchall():
            shape.columns.setdefault(table, {})[name] = Column(
                name, str(dtype).lower(), charset, coll,
                None if fsp is None else int(fsp),
                None if chars is None else int(chars), None if octets is None else int(octets))
        cur.execute(_TABLES, names)
        for table, engine, collation in cur.fetchall():
            shape.engines[table] = str(engine or "")
            shape.table_charsets[table] = str(collation or "").split("_", 1)[0]
        if indexes:
            cur.execute(_INDEXES, names)
            shape.indexes = {(t, i) for t, i in cur.fetchall()}
        return shape

    def _check_shape(self, cur: Cursor) -> None:
        if self._shape_ok:
            return
        shape = self._read_shape(cur, indexes=False)
        self._shape = shape
        fatal = [p.text for p in self._problems(shape) if p.fatal]
        self._shape_ok = not fatal and len(shape.columns) == 3
        if fatal:
            raise SchemaError("memstore cannot use these tables as they are: "
                              + "; ".join(fatal))

    def _problems(self, shape: Shape) -> list[Problem]:
        out: list[Problem] = []
        for key, table in self.tables.items():
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
                f"{content.octets} bytes, less than the 1 MiB memstore accepts: run "
                "`memstore init URL` to widen it to MEDIUMTEXT",
                modify=define["content"] if content.data_type in ("text", "tinytext") else None))
        return out

    def doctor(self) -> list[str]:
        with self._read(check=False) as (cur, _):
            return [p.text for p in self._problems(self._read_shape(cur))]

    def init_schema(self) -> None:
        """Create missing tables; widen the columns of existing ones (tables the TS
        package created) where that is lossless; add missing indexes."""
        with self._read(check=False) as (cur, joined):
            if joined:
                raise MemstoreError(
                    "init_schema runs CREATE/ALTER TABLE, which on MySQL and MariaDB commit "
                    "the open transaction: call it outside your transaction")
            for statement in self.schema.values():
                cur.execute(statement)
            problems = self._problems(self._read_shape(cur))
            manual = {p.table for p in problems if p.manual}
            for table in self._definitions:
                changes = [p.modify for p in problems
                           if p.table == table and p.modify and table not in manual]
                if changes:
                    cur.execute(f"ALTER TABLE {table} "
                                + ", ".join(f"MODIFY {d}" for d in dict.fromkeys(changes)))
            # MySQL has no CREATE INDEX IF NOT EXISTS: look first, and let a concurrent
            # init that created the same index first win (1061: duplicate key name).
            have = self._read_shape(cur).indexes or set()
            for (table, index), index_columns in self._index_defs.items():
                if (table, index) not in have:
                    try:
                        cur.execute(f"CREATE INDEX {index} ON {table} {index_columns}")
                    except pymysql.err.MySQLError as exc:
                        if exc.args[:1] != (1061,):
                            raise
            left = [p.text for p in self._problems(self._read_shape(cur))]
        self._shape, self._shape_ok = None, False
        if left:
            raise SchemaError("memstore init could not fix everything: " + "; ".join(left))

    def close(self) -> None:
        if self.owned:
            with self._lock:
                if self.conn.open:
                    try:
                        self.conn.close()
                    except pymysql.err.MySQLError:
                        self.conn._force_close()


# -- helpers --------------------------------------------------------------------------


def _split_insert(statement: str) -> tuple[str, str, list[str]]:
    """``INSERT ... VALUES `` and its one row ``(%s, ...)``, with the parameter names in
    order: a batch repeats the row, and the driver binds every value."""
    m = _VALUES.match(statement)
    if m is None:
        raise ValueError("insert_message must end with one VALUES (...) row")
    return m.group(1), _PARAM.sub("%s", m.group(2)), _PARAM.findall(m.group(2))


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


def _seconds(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 31_536_000:
        raise ValidationError("url", f"{name} must be a positive number of seconds; got {text!r}")
    return value


def from_url(url: str, tables: Mapping[str, str]) -> MysqlAdapter:
    parts = urlsplit(url)
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise ValidationError("url", "name the database: mysql://user:password@host:3306/DB")
    try:
        port = parts.port or 3306
    except ValueError:
        raise ValidationError("url", "the port must be a number") from None
    kwargs: dict[str, Any] = dict(TIMEOUTS)
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in TIMEOUTS:
            kwargs[name] = _seconds(name, value)
        elif name in SSL_OPTIONS or name == "unix_socket":
            flag = name in ("ssl_verify_cert", "ssl_verify_identity", "ssl_disabled")
            kwargs[name] = value.lower() in ("1", "true", "yes") if flag else value
        else:
            known = ", ".join([*TIMEOUTS, "unix_socket", *SSL_OPTIONS])
            raise ValidationError("url", f"unknown option {name!r}; use {known}")
    try:
        conn = pymysql.connect(
            host=parts.hostname or "localhost", port=port,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password or ""), database=database, charset="utf8mb4",
            autocommit=True, init_command=SESSION, **kwargs)
    except pymysql.err.MySQLError as exc:
        raise map_error(exc) from exc
    return MysqlAdapter(conn, tables=tables, owned=True)


def from_connection(conn: Any, tables: Mapping[str, str]) -> MysqlAdapter:
    if not isinstance(conn, pymysql.connections.Connection):
        raise ValidationError("target", f"expected a pymysql Connection; got "
                              f"{type(conn).__module__}.{type(conn).__qualname__}")
    if conn.charset != "utf8mb4":
        raise ValidationError(
            "target", f"the connection's charset is {conn.charset!r}; memstore needs "
            "pymysql.connect(..., charset='utf8mb4') so that any Unicode text round-trips")
    return MysqlAdapter(conn, tables=tables, owned=False)
