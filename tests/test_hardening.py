"""Custom table names at the 63-character limit, on real databases.

The index names memstore derives from a custom table name used to be
``idx_<table>_<suffix>``: from 41 characters MySQL refused them (1059, identifier too
long), and from 45 PostgreSQL truncated two of them to the same name, so one index was
never created. Every derived name now fits in 63 characters and stays distinct.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import memstore
from memstore import sqlfiles

ROOT = Path(__file__).resolve().parent.parent

# Three names of 63 characters that share their first 59: the kept start of each index
# name is the same, so only the hash keeps the index names apart.
_STEM = ("memstore_hardening_a_very_long_custom_table_name_" * 2)[:59]
LONG_TABLES = {"working_memory": f"{_STEM}_wm0", "messages": f"{_STEM}_msg",
               "chats": f"{_STEM}_cht"}
T = datetime(2024, 5, 1, 12, 0, 0, 125000, tzinfo=timezone.utc)


class Target(NamedTuple):
    url: str
    indexes: Callable[[], set[str]]  # the index names on the long-named tables


def _sqlite(tmp_path: Path) -> Iterator[Target]:
    import sqlite3

    path = tmp_path / "long.db"

    def indexes() -> set[str]:
        with closing(sqlite3.connect(path)) as conn:
            return {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN (?, ?, ?) "
                "AND sql IS NOT NULL",  # not the primary keys' automatic indexes
                tuple(LONG_TABLES.values()))}

    yield Target(f"sqlite:///{path}", indexes)


def _postgres(tmp_path: Path) -> Iterator[Target]:
    from psycopg import sql

    from tests import backend_postgres as pg

    conn = pg.shared_connection()  # this run's schema, dropped at exit

    def indexes() -> set[str]:
        cur = conn.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_class t ON t.oid = i.indrelid WHERE NOT i.indisprimary "
            "AND t.relnamespace = %s::regnamespace AND t.relname = ANY(%s)",
            (pg.SCHEMA, list(LONG_TABLES.values())))
        return {r[0] for r in cur.fetchall()}

    try:
        yield Target(pg.schema_url(), indexes)
    finally:
        for name in LONG_TABLES.values():
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))


def _mysql(tmp_path: Path) -> Iterator[Target]:
    from tests import backend_mysql as my

    my.admin()  # this run's database, dropped at exit

    def indexes() -> set[str]:
        with closing(my.raw_connect()) as conn:
            cur = conn.cursor()
            cur.execute("SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS "
                        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (%s, %s, %s) "
                        "AND INDEX_NAME <> 'PRIMARY'", tuple(LONG_TABLES.values()))
            return {r[0] for r in cur.fetchall()}

    try:
        yield Target(my.database_url(), indexes)
    finally:
        with closing(my.raw_connect()) as conn:
            for name in LONG_TABLES.values():  # constants of this test, not input
                conn.cursor().execute(f"DROP TABLE IF EXISTS {name}")


TARGETS = {"sqlite": _sqlite, "postgres": _postgres, "mysql": _mysql}


@pytest.fixture(params=sorted(TARGETS))
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    yield from TARGETS[request.param](tmp_path)


def test_63_character_table_names_get_every_index(target: Target) -> None:
    # the indexes on the TS package's three tables, memstore's idx_messages_user included
    # (memstore's side tables, named after the messages table, have theirs: doctor
    # checks those)
    expected = {sqlfiles.index_name(LONG_TABLES[key], index)
                for key in ("working_memory", "messages", "chats")
                for index in sqlfiles.DEFAULT_INDEXES[key]}
    assert len(expected) == 5 and all(len(name) <= 63 for name in expected)
    with memstore.connect(target.url, tables=LONG_TABLES) as mem:
        assert mem.doctor() != []  # nothing there yet
        mem.init_schema()
        mem.init_schema()  # idempotent: finds the indexes by the same names
        assert mem.doctor() == []
        # PostgreSQL folds unquoted names to lower case; the names are lower case already.
        assert target.indexes() == expected
        saved = mem.save_messages("c1", [{"role": "user", "content": "hi", "timestamp": T},
                                         {"role": "assistant", "content": {"a": [1]}}],
                                  user_id="u1")
        assert [m.content for m in mem.get_messages("c1")] == ["hi", '{"a": [1]}']
        assert [m.id for m in mem.get_messages("c1")] == [m.id for m in saved]
        mem.update_working_memory(scope="chat", chat_id="c1", content="# notes")
        wm = mem.get_working_memory(scope="chat", chat_id="c1")
        assert wm is not None and wm.content == "# notes"
        mem.update_chat_title("c1", "Long names")
        chats = mem.get_chats(user_id="u1", search="long")
        assert [(c.chat_id, c.title, c.message_count) for c in chats] == [
            ("c1", "Long names", 2)]
        assert mem.delete_chat("c1")
        assert mem.get_messages("c1") == [] and mem.get_chat("c1") is None


# -- raw Python errors where a memstore error belongs ----------------------------------


def test_millisecond_integer_times_in_sqlite_are_a_backend_error(tmp_path: Any) -> None:
    """A row written with milliseconds where the TS schema has seconds is out of
    datetime's range: BackendError with a hint, not ValueError/OverflowError."""
    mem = memstore.connect(f"sqlite:///{tmp_path / 'ms.db'}")
    mem.init_schema()
    mem.save_message("c", "user", "x")
    raw = sqlite3.connect(tmp_path / "ms.db")
    raw.execute("UPDATE conversation_messages SET timestamp = 1733000000000")
    raw.commit()
    raw.close()
    with pytest.raises(memstore.BackendError, match="milliseconds"):
        mem.get_messages("c")
    mem.close()


@pytest.mark.parametrize(("stored", "expected"), [
    ("'2024-12-01T00:00:00Z'", "expected Unix seconds in a time column, found str"),
    ("x'00ff'", "expected Unix seconds in a time column, found bytes"),
    ("1e300", "out of range"),
    ("-1e300", "out of range"),
    ("NULL", "expected Unix seconds in a time column, found NoneType"),
])
def test_a_time_value_that_is_not_unix_seconds_is_a_backend_error(
        tmp_path: Any, stored: str, expected: str) -> None:
    """Reads decode times inline for speed (SqliteFormat.messages_from_rows); any other
    value still gets the error that names it, whichever row of the page holds it."""
    path = tmp_path / "bad.db"
    mem = memstore.connect(f"sqlite:///{path}")
    mem.init_schema()
    mem.save_messages("c", [{"role": "user", "content": str(i)} for i in range(3)])
    raw = sqlite3.connect(path)
    # The schema's NOT NULL would refuse NULL: a copy of the table without it.
    raw.executescript("""
        CREATE TABLE t AS SELECT * FROM conversation_messages;
        DROP TABLE conversation_messages;
        ALTER TABLE t RENAME TO conversation_messages;""")
    raw.execute(f"UPDATE conversation_messages SET timestamp = {stored} "
                "WHERE id = (SELECT min(id) FROM conversation_messages)")
    raw.commit()
    raw.close()
    with pytest.raises(memstore.BackendError, match=expected):
        mem.get_messages("c")
    mem.close()


def test_non_iterable_messages_are_a_validation_error() -> None:
    mem = memstore.connect("memory://")
    with pytest.raises(memstore.ValidationError) as info:
        mem.save_messages("c", 5)  # type: ignore[arg-type]
    assert info.value.field == "messages"


@pytest.mark.parametrize(("url", "extra"), [
    ("http://127.0.0.1:1", "turso"), ("postgresql://u@127.0.0.1:1/db", "postgres"),
    ("mysql://u@127.0.0.1:1/db", "mysql")])
def test_a_missing_driver_says_what_to_install(url: str, extra: str) -> None:
    """The driver made unimportable in a child interpreter (as on a machine without the
    extra): a MemstoreError naming the pip extra, not ModuleNotFoundError."""
    module = {"turso": "libsql_client", "postgres": "psycopg", "mysql": "pymysql"}[extra]
    code = (f"import sys; sys.modules[{module!r}] = None\n"
            "import memstore\n"
            f"try:\n    memstore.connect({url!r})\n"
            "except memstore.MemstoreError as exc:\n    print('MemstoreError', exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "MemstoreError" in out.stdout and f"memstore-sql[{extra}]" in out.stdout, out.stdout


def test_use_after_close_is_one_error_on_memory_too() -> None:
    mem = memstore.connect("memory://")
    mem.close()
    with pytest.raises(memstore.ClosedError):
        mem.save_message("c", "user", "x")


def test_savepoints_do_not_collide_with_the_callers(tmp_path: Any) -> None:
    """A caller's own savepoint named like memstore's old fixed one survives a memstore
    call inside it (memstore numbers its savepoints)."""
    conn = sqlite3.connect(tmp_path / "sp.db", isolation_level=None)
    mem = memstore.connect(conn)
    mem.init_schema()
    conn.execute("BEGIN")
    conn.execute("SAVEPOINT memstore")
    mem.save_message("c", "user", "inside")
    conn.execute("ROLLBACK TO memstore")  # the caller's savepoint still exists
    conn.execute("RELEASE memstore")
    conn.execute("COMMIT")
    assert mem.get_messages("c") == []
    conn.close()


def test_a_read_only_sqlite_file_names_the_file(tmp_path: Path) -> None:
    """A write to a file this process may not write: the error names the file and says
    what to check (SQLite's "attempt to write a readonly database" names neither)."""
    import os

    db = tmp_path / "ro.db"
    with memstore.connect(f"sqlite:///{db}") as mem:
        mem.init_schema()
    url = f"sqlite:///{db}"
    os.chmod(db, 0o444)
    try:
        mem = memstore.connect(url)
        try:
            if os.geteuid() == 0:  # root writes read-only files; use SQLite's own switch
                mem.adapter.conn.execute("PRAGMA query_only=ON")
            with pytest.raises(memstore.BackendError) as info:
                mem.save_message("c", "user", "x")
            assert "ro.db" in str(info.value)
        finally:
            mem.close()
    finally:
        os.chmod(db, 0o644)


@pytest.mark.parametrize(("url", "hint"), [
    ("agent.db", "sqlite:///agent.db"), ("sqlite//x.db", "sqlite:///x.db"),
    (":memory:", "sqlite://")])
def test_a_mistyped_url_gets_a_did_you_mean(url: str, hint: str) -> None:
    with pytest.raises(memstore.ValidationError) as info:
        memstore.connect(url)
    assert info.value.field == "url" and hint in str(info.value)


def test_a_test_run_stopped_by_sigterm_removes_its_scratch_folder(tmp_path: Path) -> None:
    """A pytest run of this suite that gets SIGTERM mid-test still runs its atexit hooks
    (tests/conftest.py turns SIGTERM into KeyboardInterrupt): its scratch folder is gone."""
    (tmp_path / "test_sleeper.py").write_text(
        "import time\n"
        "from tests import backends\n"
        "def test_sleep():\n"
        "    print('SCRATCH', backends._scratch, flush=True)\n"
        "    time.sleep(60)\n")
    child = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
         "-p", "tests.conftest", "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"),
         str(tmp_path / "test_sleeper.py")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert child.stdout is not None
    scratch = None
    for line in child.stdout:
        if line.startswith("SCRATCH "):
            scratch = Path(line.split(" ", 1)[1].strip())
            break
    assert scratch is not None and scratch.is_dir()
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=60)
    assert child.returncode != 0
    assert not scratch.exists()
