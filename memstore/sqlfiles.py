"""Loads the named statements of ``sql/<dialect>/*.sql``.

Each file is a sequence of blocks headed ``-- name: <query_name>``; comment lines right
under the header document the statement. The files use the default table names, so a
person can run ``schema.sql`` by hand; custom table names (validated identifiers, never
user values) are substituted word by word when the files are loaded.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path

from .errors import ValidationError

# Logical table key -> the TS package's table name (what the .sql files say).
DEFAULT_TABLES: dict[str, str] = {
    "working_memory": "working_memory",
    "messages": "conversation_messages",
    "chats": "chat_sessions",
    # memstore's own, beside the TS package's tables (which never read it): the ARCHIVED
    # mark of a message (LlamaIndex's AsyncDBChatStore); no row means ACTIVE. With a
    # custom ``messages`` name and no ``status`` name given, its name is derived from the
    # messages table (``status_table_name``), so two table sets never share it.
    "status": "memstore_message_status",
    # memstore's own, for recall (memstore.recall): each message's normalized visible
    # text, its FTS5 index (SQLite's format only), and its vectors per embedding model.
    # Derived from a custom ``messages`` name as ``status`` is.
    "search": "memstore_search",
    "search_fts": "memstore_search_fts",
    "vectors": "memstore_vectors",
    # memstore's own, for budgeted reads (memstore.budget): token counts per counter.
    "tokens": "memstore_tokens",
}
# The side tables named after the messages table when it has a custom name: key -> suffix.
SIDE_TABLES: dict[str, str] = {"status": "status", "search": "search",
                               "search_fts": "search_fts", "vectors": "vectors",
                               "tokens": "tokens"}
# Index names of the TS package's schema, per table key. With custom table names the
# indexes get names derived from the table, so two table sets can share one database.
DEFAULT_INDEXES: dict[str, tuple[str, ...]] = {
    "working_memory": ("idx_working_memory_scope",),
    # idx_messages_user is memstore's own (recall: a user's messages without a side row)
    "messages": ("idx_messages_chat", "idx_messages_chat_order", "idx_messages_user"),
    "chats": ("idx_chats_user",),
    "status": (),  # its primary key (chat_id, message_id) is all it needs
    "search": ("idx_memstore_search_chat", "idx_memstore_search_user"),
    "search_fts": (),
    "vectors": ("idx_memstore_vectors_chat", "idx_memstore_vectors_user"),
    "tokens": (),  # its primary key (message_id, counter) is all a budgeted read needs
}
# Trigger names (SQLite's format: the FTS5 index follows memstore_search), per table key;
# named per table set as indexes are, so two table sets in one file keep their own.
DEFAULT_TRIGGERS: dict[str, tuple[str, ...]] = {
    "search": ("trg_memstore_search_fts_insert", "trg_memstore_search_fts_delete"),
}

# The dialect folders under sql/. Only these names are joined into a path.
DIALECTS: tuple[str, ...] = ("mysql", "postgres", "sqlite")

# PostgreSQL truncates identifiers to 63 bytes (MySQL refuses more than 64 characters), so
# every table and derived index name must fit in 63; identifiers here are ASCII only.
MAX_IDENT = 63
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

# Words that cannot be an unquoted table name on at least one backend (memstore's SQL files
# never quote names, so a person can run them by hand): the reserved words of SQLite (its
# keywords without fallback to an identifier), PostgreSQL 16 ("reserved" and "reserved (can
# be function or type)"), MySQL 8.0/8.4 (marked R) and MariaDB 10.5+. Compared lowercased.
_RESERVED_TEXT = """
accessible add all alter analyse analyze and any array as asc asensitive asymmetric
authorization autoincrement before between bigint binary blob both by call cascade case
cast change char character check collate collation column commit concurrently condition
constraint continue convert create cross cube cume_dist current_catalog current_date
current_role current_schema current_time current_timestamp current_user cursor database
databases day_hour day_microsecond day_minute day_second dec decimal declare default
deferrable delayed delete delete_domain_id dense_rank desc describe deterministic distinct
distinctrow div do do_domain_ids double drop dual each else elseif empty enclosed end
escape escaped except exists exit explain false fetch first_value float float4 float8 for
force foreign freeze from full fulltext function generated get grant group grouping groups
having high_priority hour_microsecond hour_minute hour_second if ignore ignore_domain_ids
ilike in index infile initially inner inout insensitive insert int int1 int2 int3 int4 int8
integer intersect interval into io_after_gtids io_before_gtids is isnull iterate join
json_table key keys kill lag last_value lateral lead leading leave left like limit linear
lines load localtime localtimestamp lock long longblob longtext loop low_priority manual
master_bind master_ssl_verify_server_cert match maxvalue mediumblob mediumint mediumtext
middleint minute_microsecond minute_second mod modifies natural no_write_to_binlog not
nothing notnull nth_value ntile null numeric of offset on only optimize optimizer_costs
option optionally or order out outer outfile over overlaps page_checksum parallel
parse_vcol_expr partition percent_rank placing precision primary procedure purge qualify
range rank read read_write reads real recursive ref_system_id references regexp release
rename repeat replace require resignal restrict return returning revoke right rlike row
row_number rows schema schemas second_microsecond select sensitive separator session_user
set show signal similar smallint some spatial specific sql sql_big_result
sql_calc_found_rows sql_small_result sqlexception sqlstate sqlwarning ssl starting
stats_auto_recalc stats_persistent stats_sample_pages stored straight_join symmetric system
system_user table tablesample terminated then tinyblob tinyint tinytext to trailing
transaction trigger true undo union unique unlock unsigned update usage use user using
utc_date utc_time utc_timestamp values varbinary varchar varcharacter variadic varying
verbose virtual when where while window with write xor year_month zerofill
"""
RESERVED_WORDS = frozenset(_RESERVED_TEXT.split())

_HEADER = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def sql_dir() -> Path:
    """The folder holding the dialect folders: inside the wheel, else the source tree."""
    packaged = resources.files("memstore") / "sql"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "sql"


def resolve_tables(tables: Mapping[str, str] | None) -> dict[str, str]:
    """Validate a ``tables=`` mapping once, at construction."""
    resolved = dict(DEFAULT_TABLES)
    if tables is not None and not isinstance(tables, Mapping):
        raise ValidationError("tables", "must be a mapping of table keys to names, like "
                              "{'messages': 'agent_messages'}; got "
                              f"{type(tables).__name__}")
    for key, name in (tables or {}).items():
        if key not in DEFAULT_TABLES:
            raise ValidationError(
                "tables", f"unknown key {key!r}; use {', '.join(sorted(DEFAULT_TABLES))}"
            )
        if not isinstance(name, str) or not _IDENT.fullmatch(name):
            raise ValidationError(
                f"tables.{key}",
                f"must be a plain SQL identifier (letters, digits, _; at most 63); got {name!r}",
            )
        if name.lower() in RESERVED_WORDS:
            raise ValidationError(
                f"tables.{key}", f"{name!r} is a reserved word in SQL (on at least one of "
                "SQLite, PostgreSQL, MySQL, MariaDB); choose another name")
        resolved[key] = name
    if resolved["messages"] != DEFAULT_TABLES["messages"]:
        for key, suffix in SIDE_TABLES.items():
            if key not in (tables or {}):
                resolved[key] = side_table_name(resolved["messages"], suffix)
    # Unquoted names are case-insensitive in SQLite and PostgreSQL: "Msgs" is "msgs".
    lowered = {name.lower() for name in resolved.values()}
    if len(lowered) != len(resolved):
        raise ValidationError("tables", "the tables must have different names "
                              "(ignoring case)")
    # Tables and indexes share one namespace in SQLite and PostgreSQL.
    indexes = {index.lower() for index in index_names(resolved)}
    for key, name in resolved.items():
        if name.lower() in indexes:
            raise ValidationError(f"tables.{key}", f"{name!r} is the name of one of "
                                  "memstore's indexes; choose another name")
    for key, name in resolved.items():
        if name != DEFAULT_TABLES.get(key):
            _check_range_name(key, name)
    return resolved


# -- names the bundled SQL gives to other things than a table: aliases, CTEs, pseudo-tables --

_WORD = r"([A-Za-z_][A-Za-z0-9_]*)"
# Words that follow a table or a ")" without being an alias (besides RESERVED_WORDS).
_NOT_ALIAS = frozenset({
    "at", "conflict", "columns", "comment", "do", "duplicate", "engine", "first", "ignore",
    "key", "last", "lateral", "locked", "nowait", "nulls", "only", "ordinality", "path",
    "row_format", "rows", "skip"})
# Range variables no statement declares: the upsert pseudo-rows (excluded; new and old of
# MySQL row aliases and triggers) and schema names a statement may qualify with.
_PSEUDO = frozenset({"excluded", "new", "old", "dual", "information_schema", "pg_catalog",
                     "pg_temp", "main", "temp", "sqlite_master", "sqlite_schema",
                     "sqlite_temp_master"})


def _range_variables(statement: str) -> dict[str, set[str]]:
    """The names ``statement`` gives to rows it reads (lowercased), each with what it
    names: the default table it aliases, or "other" (a CTE, a subquery or function alias,
    a pseudo-table, a qualifier that is no declared alias). Comments, string literals,
    parameters and @variables are skipped first."""
    code = re.sub(r"--[^\n]*", " ", statement)
    code = re.sub(r"'(?:[^']|'')*'", "''", code)
    code = re.sub(r"%\(\w+\)s|(?<![:\w]):\w+|@@?\w+(?:\.\w+)?", "?", code)
    tables = {t.lower() for t in DEFAULT_TABLES.values()}
    stop = RESERVED_WORDS | _NOT_ALIAS
    found: dict[str, set[str]] = {}

    def add(name: str, what: str) -> None:
        word = name.lower()
        if word not in stop and word not in tables:
            found.setdefault(word, set()).add(what)

    flags = re.IGNORECASE
    cte = r"\s*(?:\([^)]*\)\s*)?AS\s*(?:NOT\s+)?(?:MATERIALIZED\s+)?\("
    for m in re.finditer(rf"(?:\bWITH\s+(?:RECURSIVE\s+)?|\)\s*,\s*){_WORD}{cte}", code, flags):
        add(m[1], "other")  # a CTE
    for m in re.finditer(rf"\b(?:FROM|JOIN|UPDATE|INTO)\s+{_WORD}\s+(?:AS\s+)?{_WORD}",
                         code, flags):
        table = m[1].lower()
        if table not in stop:
            add(m[2], table if table in tables else "other")  # an alias
    for m in re.finditer(rf"\b(?:FROM|JOIN)\s+{_WORD}", code, flags):
        add(m[1], "other")  # a table that is not one of memstore's: catalog, function
    for m in re.finditer(rf"\)\s*(?:AS\s+)?{_WORD}|\bAS\s+{_WORD}\s*\(", code, flags):
        add(m[1] or m[2], "other")  # a subquery's, function's or row's alias
    for m in re.finditer(rf"\b{_WORD}\b", code):
        if m[1].lower() in _PSEUDO:
            add(m[1], "other")
    for m in re.finditer(rf"\b{_WORD}\s*\.\s*[A-Za-z_*]", code):
        if m[1].lower() not in found:  # a qualifier no statement part declares
            add(m[1], "other")
    return found


@cache
def _range_names() -> dict[str, list[tuple[str, frozenset[str], frozenset[str]]]]:
    """For every range-variable name in the bundled SQL: (statement, the default tables
    the statement mentions, what the name stands for there), over every dialect."""
    out: dict[str, list[tuple[str, frozenset[str], frozenset[str]]]] = {}
    defaults = [t.lower() for t in DEFAULT_TABLES.values()]
    for dialect in DIALECTS:
        for _stem, name, statement in _load_raw(dialect):
            lowered = statement.lower()
            mentions = frozenset(t for t in defaults if re.search(rf"\b{t}\b", lowered))
            for word, what in _range_variables(statement).items():
                out.setdefault(word, []).append((f"{dialect} {name}", mentions,
                                                 frozenset(what)))
    return out


def _check_range_name(key: str, name: str) -> None:
    """Refuse ``name`` for the table ``key`` where a statement that uses that table
    gives the same name to something else (an alias of another table, a CTE, a subquery,
    a pseudo-table such as ``excluded``): the substituted statement would read the wrong
    rows or fail (SQLite's upsert then counts ``excluded.message_count`` from the table)."""
    default = DEFAULT_TABLES.get(key)
    if default is None:
        return
    for statement, mentions, what in _range_names().get(name.lower(), []):
        if default in mentions and what != {default}:
            raise ValidationError(
                f"tables.{key}", f"{name!r} is a name memstore's SQL uses for something "
                f"else (an alias, a CTE or a pseudo-table, in {statement}); choose another "
                "name")


def index_name(table: str, default_index: str) -> str:
    """The name of a default index (``idx_messages_chat``) on a custom-named table:
    ``idx_<table>_messages_chat``, or, when that is longer than 63 characters (PostgreSQL
    would truncate it, and two indexes of one table could truncate to the same name; MySQL
    would refuse it), ``idx_<start of table>_<8 hex of sha256(table)>_messages_chat``.
    Deterministic, so every process and ``doctor`` derive the same name; the hash keeps
    two long names with the same start apart. It hashes the lowercased name, because
    unquoted names are case-insensitive."""
    suffix = default_index.removeprefix("idx_")
    name = f"idx_{table}_{suffix}"
    if len(name) <= MAX_IDENT:
        return name
    digest = hashlib.sha256(table.lower().encode("ascii")).hexdigest()[:8]
    keep = MAX_IDENT - len(f"idx__{digest}_{suffix}")
    return f"idx_{table[:keep]}_{digest}_{suffix}"


def status_table_name(messages: str) -> str:
    """The status table of a custom-named messages table (see ``side_table_name``)."""
    return side_table_name(messages, "status")


def side_table_name(messages: str, suffix: str) -> str:
    """A side table of a custom-named messages table: ``<messages>_<suffix>``, or, when
    that is longer than 63 characters, ``<start of messages>_<8 hex of sha256>_<suffix>``
    (as ``index_name`` shortens)."""
    name = f"{messages}_{suffix}"
    if len(name) <= MAX_IDENT:
        return name
    digest = hashlib.sha256(messages.lower().encode("ascii")).hexdigest()[:8]
    keep = MAX_IDENT - len(f"__{digest}_{suffix}") + 1
    return f"{messages[:keep]}_{digest}_{suffix}"


def index_names(tables: Mapping[str, str]) -> list[str]:
    """Every index name of a table set, as the schema statements will say it."""
    return [index if tables[key] == DEFAULT_TABLES[key] else index_name(tables[key], index)
            for key, indexes in DEFAULT_INDEXES.items() for index in indexes]


def _renames(tables: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, default in DEFAULT_TABLES.items():
        name = tables[key]
        if name == default:
            continue
        out[default] = name
        for index in (*DEFAULT_INDEXES[key], *DEFAULT_TRIGGERS.get(key, ())):
            out[index] = index_name(name, index)
    return out


def parse(text: str) -> dict[str, str]:
    """Split a file into ``{name: statement}``; the statement keeps its doc comments."""
    parts = _HEADER.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        statement = body.strip().rstrip(";").strip()
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = statement
    return queries


def _folder(dialect: str) -> Path:
    # A dialect name is joined into a path: only the known folder names may be.
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; use one of {', '.join(DIALECTS)}")
    return sql_dir() / dialect


@cache
def _load_raw(dialect: str) -> tuple[tuple[str, str, str], ...]:
    folder = _folder(dialect)
    rows: list[tuple[str, str, str]] = []
    for path in sorted(folder.glob("*.sql")):
        for name, statement in parse(path.read_text(encoding="utf-8")).items():
            rows.append((path.stem, name, statement))
    if not rows:
        raise FileNotFoundError(f"no SQL files for dialect {dialect!r} in {folder}")
    return tuple(rows)


def load(dialect: str, tables: Mapping[str, str], file: str | None = None) -> dict[str, str]:
    """Named statements of ``dialect`` (optionally of one file) with table names applied."""
    renames = _renames(tables)
    pattern = (
        re.compile(r"\b(" + "|".join(map(re.escape, renames)) + r")\b") if renames else None
    )
    out: dict[str, str] = {}
    for stem, name, statement in _load_raw(dialect):
        if file is not None and stem != file:
            continue
        if name in out:
            raise ValueError(f"query {name!r} is defined in two files of {dialect!r}")
        out[name] = pattern.sub(lambda m: renames[m.group(1)], statement) if pattern else statement
    return out


def schema_text(dialect: str) -> str:
    """The bundled schema file, byte for byte, as a person would run it."""
    return (_folder(dialect) / "schema.sql").read_text(encoding="utf-8")
