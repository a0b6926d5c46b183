"""Loads the named statements of ``sql/<dialect>/*.sql``.

Each file is a sequence of blocks headed ``-- name: <query_name>``; comment lines right
under the header document the statement. The files use the default table names, so a
person can run ``schema.sql`` by hand; custom table names (validated identifiers, never
user values) are substituted word by word when the files are loaded.
"""

from __future__ import annotations

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
}
# Index names of the TS package's schema, per table key. With custom table names the
# indexes get names derived from the table, so two table sets can share one database.
DEFAULT_INDEXES: dict[str, tuple[str, ...]] = {
    "working_memory": ("idx_working_memory_scope",),
    "messages": ("idx_messages_chat", "idx_messages_chat_order"),
    "chats": ("idx_chats_user",),
}

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
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
        resolved[key] = name
    if len(set(resolved.values())) != len(resolved):
        raise ValidationError("tables", "the three tables must have different names")
    return resolved


def _renames(tables: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, default in DEFAULT_TABLES.items():
        name = tables[key]
        if name == default:
            continue
        out[default] = name
        for index in DEFAULT_INDEXES[key]:
            out[index] = index.replace("idx_", f"idx_{name}_", 1)
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


@cache
def _load_raw(dialect: str) -> tuple[tuple[str, str, str], ...]:
    folder = sql_dir() / dialect
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
    return (sql_dir() / dialect / "schema.sql").read_text(encoding="utf-8")
