"""memstore's status table (``memstore_message_status``, the ARCHIVED marks behind
``MemstoreAsyncDBChatStore``) on SQLite, PostgreSQL and MariaDB: every delete path removes
the marks of the messages it deletes, in the same transaction, so no mark outlives its
message; ``doctor`` checks the table; ``tables=`` renames it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import memstore


def status_rows(mem: memstore.Memory) -> list[tuple[Any, ...]]:
    adapter: Any = mem.adapter
    with adapter.reading() as (_, cur):
        cur.execute(f"SELECT chat_id, message_id, status FROM {adapter.tables['status']} "
                    "ORDER BY chat_id, message_id")
        return [tuple(r) for r in cur.fetchall()]


def setup(mem: memstore.Memory) -> tuple[list[int], list[int]]:
    """Chat c (user u1's): 4 messages, the 3 oldest archived; chat d (u2's): a message of
    u1, then one of u2, both archived, then an active one."""
    for chat in ("c", "d"):
        mem.delete_chat(chat)
    c = [m.id for m in mem.save_messages(
        "c", [{"role": "user", "content": f"c{i}"} for i in range(4)], user_id="u1")]
    mem.save_chat("d", user_id="u2")
    d = [mem.save_message("d", "user", "d0", user_id="u1").id,
         mem.save_message("d", "assistant", "d1", user_id="u2").id,
         mem.save_message("d", "user", "d2", user_id="u2").id]
    assert [m.content for m in mem.archive_messages("c", 3)] == ["c0", "c1", "c2"]
    assert [m.content for m in mem.archive_messages("d", 2)] == ["d0", "d1"]
    assert status_rows(mem) == [("c", i, "archived") for i in c[:3]] + [
        ("d", i, "archived") for i in d[:2]]
    return c, d


DELETES: dict[str, tuple[Callable[[memstore.Memory, list[int], list[int]], Any], Callable[
        [list[int], list[int]], list[tuple[str, int]]]]] = {
    "clear_messages": (lambda mem, c, d: mem.clear_messages("c"),
                       lambda c, d: [("d", d[0]), ("d", d[1])]),
    "replace_messages": (lambda mem, c, d: mem.replace_messages(
        "c", [{"role": "user", "content": "new"}]), lambda c, d: [("d", d[0]), ("d", d[1])]),
    "delete_messages": (lambda mem, c, d: mem.delete_messages("c", [c[0], c[3]]),
                        lambda c, d: [("c", c[1]), ("c", c[2]), ("d", d[0]), ("d", d[1])]),
    "pop_message": (lambda mem, c, d: (mem.archive_messages("c", 1), mem.pop_message("c")),
                    lambda c, d: [("c", c[0]), ("c", c[1]), ("c", c[2]), ("d", d[0]),
                                  ("d", d[1])]),
    "delete_chat": (lambda mem, c, d: mem.delete_chat("c"),
                    lambda c, d: [("d", d[0]), ("d", d[1])]),
    "delete_user": (lambda mem, c, d: mem.delete_user("u1"), lambda c, d: [("d", d[1])]),
}


@pytest.mark.parametrize("path", sorted(DELETES))
def test_every_delete_removes_the_marks_of_what_it_deletes(memory: memstore.Memory,
                                                           path: str) -> None:
    c, d = setup(memory)
    delete, left = DELETES[path]
    delete(memory, c, d)
    assert [(chat, i) for chat, i, _ in status_rows(memory)] == left(c, d)
    for chat in ("c", "d"):  # the marks left are exactly the archived messages
        archived = memory.get_messages_window(chat, status="archived")
        assert [(chat, m.id) for m in archived] == [
            (x, i) for x, i in left(c, d) if x == chat]
        assert memory.count_messages(chat, status="archived") + memory.count_messages(
            chat, status="active") == memory.count_messages(chat)


def test_doctor_checks_the_status_table(memory: memstore.Memory) -> None:
    assert memory.doctor() == []
    table = memory.adapter.tables["status"]
    assert table == "memstore_message_status"
    adapter: Any = memory.adapter
    with adapter.reading() as (_, cur):
        cur.execute(f"ALTER TABLE {table} RENAME TO memstore_status_gone")
    try:
        assert f"table {table} is missing: run `memstore init URL`" in memory.doctor()
    finally:
        with adapter.reading() as (_, cur):
            cur.execute(f"ALTER TABLE memstore_status_gone RENAME TO {table}")
    assert memory.doctor() == []


def test_custom_names_give_the_status_table_its_own_name(tmp_path: Path) -> None:
    with memstore.connect(f"sqlite:///{tmp_path / 'names.db'}",
                          tables={"messages": "msgs"}) as mem:
        mem.init_schema()
        assert mem.doctor() == []
        mem.save_messages("c", [{"role": "user", "content": "a"},
                                {"role": "user", "content": "b"}])
        assert [m.content for m in mem.archive_messages("c", 1)] == ["a"]
        assert status_rows(mem)[0][0] == "c"
        assert mem.adapter.tables["status"] == "msgs_status"
