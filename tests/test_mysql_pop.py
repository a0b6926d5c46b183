"""pop_message on MySQL/MariaDB (issue 26): without DELETE ... RETURNING (MySQL 8, tested
on MariaDB with MEMSTORE_MYSQL_RETURNING=off) atomic and exactly-once, and pops and saves
on one chat taking their locks in one order (the chat row, then the messages), so they
wait for each other instead of deadlocking (finding 8)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import memstore
from memstore.adapters.mysql import RETURNING_ENV

WORKERS = 8
MESSAGES = 8000  # in all


@pytest.fixture(params=["returning", "no_returning"])
def url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from tests import backend_mysql

    if request.param == "no_returning":
        monkeypatch.setenv(RETURNING_ENV, "off")
    name = f"{backend_mysql.DATABASE}_pop{threading.get_ident() % 100000}"
    backend_mysql.create_database(name)
    url = backend_mysql.database_url(name)
    with memstore.connect(url) as mem:
        mem.init_schema()
        assert mem.adapter.dialect.returning is (request.param == "returning")
    try:
        yield url
    finally:
        backend_mysql.drop_database(name)


def _threads(n: int, work: object) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def body(i: int) -> None:
        try:
            start.wait()
            work(i)  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    return errors


def test_pops_are_exactly_once(url: str) -> None:
    mems = [memstore.connect(url) for _ in range(WORKERS)]
    try:
        for start in range(0, MESSAGES, 1000):
            mems[0].save_messages("shared", [{"role": "user", "content": f"m{i}"}
                                             for i in range(start, start + 1000)])
        popped: list[list[str]] = [[] for _ in mems]

        def pop(w: int) -> None:
            while (m := mems[w].pop_message("shared")) is not None:
                popped[w].append(m.content)

        assert _threads(WORKERS, pop) == []
        everything = [c for got in popped for c in got]
        assert len(everything) == len(set(everything)) == MESSAGES
        assert mems[0].count_messages("shared") == 0
        assert mems[0].get_chat("shared").message_count == 0  # type: ignore[union-attr]
        assert mems[0].pop_message("shared") is None
        assert mems[0].pop_message("no-such-chat") is None
    finally:
        for mem in mems:
            mem.close()


def test_pops_and_saves_on_one_chat_never_deadlock(url: str) -> None:
    # retries=0: a deadlock would surface as a ConflictError instead of being retried.
    # Before issue 26, 22-29% of the pops failed so (with 3 retries).
    rounds = 150
    mems = [memstore.connect(url, retries=0) for _ in range(WORKERS)]
    try:
        mems[0].save_messages("c", [{"role": "user", "content": f"seed{i}"}
                                    for i in range(WORKERS * rounds)])
        saved: list[int] = [0] * WORKERS
        popped: list[list[str]] = [[] for _ in mems]

        def work(w: int) -> None:
            for i in range(rounds):
                if w % 2:
                    mems[w].save_message("c", "user", f"w{w}-{i}")
                    saved[w] += 1
                elif (m := mems[w].pop_message("c")) is not None:
                    popped[w].append(m.content)

        errors = _threads(WORKERS, work)
        assert [type(e).__name__ + ": " + str(e)[:120] for e in errors] == []
        everything = [c for got in popped for c in got]
        assert len(everything) == len(set(everything))
        left = mems[0].count_messages("c")
        assert left == WORKERS * rounds + sum(saved) - len(everything)
        assert mems[0].get_chat("c").message_count == left  # type: ignore[union-attr]
    finally:
        for mem in mems:
            mem.close()
