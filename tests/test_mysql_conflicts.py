"""A MySQL lock wait timeout (1205) inside the caller's transaction (issue 26, finding 9):
InnoDB (innodb_rollback_on_timeout=OFF, the default) undoes only the statement, while
ConflictError says the whole transaction was rolled back and to retry it. memstore rolls
the caller's transaction back before raising, as a deadlock (1213) does, so a caller who
retries as told never writes its own statements twice."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import closing

import pytest
from pymysql.constants import SERVER_STATUS

import memstore


@pytest.fixture
def db() -> Iterator[str]:
    from tests import backend_mysql

    name = f"memstore_lwt_{uuid.uuid4().hex[:10]}"
    backend_mysql.create_database(name)
    with memstore.connect(backend_mysql.database_url(name)) as mem:
        mem.init_schema()
        mem.save_message("c", "user", "first")
    try:
        yield name
    finally:
        backend_mysql.drop_database(name)


def test_lock_wait_timeout_in_the_callers_transaction_rolls_it_back(db: str) -> None:
    from tests.backend_mysql import raw_connect

    with closing(raw_connect(db)) as holder, closing(raw_connect(db)) as conn:
        hold = holder.cursor()
        hold.execute("BEGIN")
        hold.execute("SELECT * FROM chat_sessions WHERE chat_id = 'c' FOR UPDATE")
        cur = conn.cursor()
        cur.execute("SET SESSION innodb_lock_wait_timeout = 1")
        conn.begin()
        cur.execute("INSERT INTO working_memory (id, scope, chat_id, user_id, content, "
                    "updated_at) VALUES ('user:mine', 'user', NULL, 'mine', 'caller''s own', "
                    "UTC_TIMESTAMP(3))")
        mem = memstore.connect(conn)
        with pytest.raises(memstore.ConflictError) as info:
            mem.save_message("c", "user", "blocked")
        assert "1205" in str(info.value)
        assert not isinstance(info.value, memstore.RetriesExhaustedError)
        # the whole transaction is gone, the caller's own INSERT too, as the error says
        assert not conn.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS
        holder.rollback()
        conn.commit()  # what a caller that did not read the error would do
        cur.execute("SELECT COUNT(*) FROM working_memory WHERE id = 'user:mine'")
        assert cur.fetchone() == (0,)
        # the caller retries its whole transaction: written once
        conn.begin()
        cur.execute("INSERT INTO working_memory (id, scope, chat_id, user_id, content, "
                    "updated_at) VALUES ('user:mine', 'user', NULL, 'mine', 'caller''s own', "
                    "UTC_TIMESTAMP(3))")
        mem.save_message("c", "user", "retried")
        conn.commit()
        cur.execute("SELECT COUNT(*) FROM working_memory WHERE id = 'user:mine'")
        assert cur.fetchone() == (1,)
        assert [m.content for m in mem.get_messages("c")] == ["first", "retried"]
        mem.close()
