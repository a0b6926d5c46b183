"""What a new user meets first (issue 30): URLs as SQLAlchemy writes them, `async with`
without `await`, the closed-object messages, `with` on a closed Memory."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import memstore
from tests.backends import require_env


def test_a_sqlalchemy_driver_suffix_is_ignored_on_sqlite(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # was: ValidationError suggesting sqlite:////agent.db, a file at the filesystem root
    monkeypatch.chdir(tmp_path)
    with memstore.connect("sqlite+aiosqlite:///agent.db") as mem:
        mem.init_schema()
        mem.save_message("c", "user", "hi")
    assert (tmp_path / "agent.db").exists()

    async def run() -> int:
        async with await memstore.connect_async("sqlite+pysqlite:///agent.db") as amem:
            return await amem.count_messages("c")
    assert asyncio.run(run()) == 1


def test_a_misspelt_scheme_suggests_the_same_path() -> None:
    with pytest.raises(memstore.ValidationError) as e:
        memstore.connect("sqllite:///agent.db")
    assert "did you mean sqlite:///agent.db?" in str(e.value)
    with pytest.raises(memstore.ValidationError) as e:
        memstore.connect("/srv/agent.db")
    assert "did you mean sqlite:////srv/agent.db?" in str(e.value)


def test_postgresql_psycopg_url_is_accepted() -> None:
    # migrate-from takes postgresql+psycopg://; connect and connect_async do too
    url = require_env("MEMSTORE_TEST_POSTGRES_URL", "postgres")
    scheme, rest = url.split("://", 1)
    with memstore.connect(f"{scheme}+psycopg://{rest}") as mem:
        assert mem.dialect == "postgres"

    async def run() -> str:
        async with memstore.connect_async(f"postgresql+psycopg://{rest}") as amem:
            return amem.dialect
    assert asyncio.run(run()) == "postgres"


def test_async_with_connect_async_without_await(tmp_path: Path) -> None:
    # was: TypeError ('coroutine' object does not support the asynchronous context manager
    # protocol); aiosqlite.connect is both awaitable and a context manager, so is this
    url = f"sqlite:///{tmp_path / 'a.db'}"

    async def run() -> memstore.AsyncMemory:
        async with memstore.connect_async(url) as mem:
            await mem.init_schema()
            await mem.save_message("c", "user", "hi")
            assert await mem.count_messages("c") == 1
        return mem
    mem = asyncio.run(run())
    with pytest.raises(memstore.ClosedError):  # closed at the end of the block
        asyncio.run(mem.count_messages("c"))
    # still a coroutine: asyncio.run takes it as it took the coroutine before
    opened = asyncio.run(memstore.connect_async(url))
    assert isinstance(opened, memstore.AsyncMemory)
    asyncio.run(opened.aclose())


def test_closed_async_memory_names_connect_async(tmp_path: Path) -> None:
    async def run() -> None:
        mem = await memstore.connect_async("memory://")
        await mem.aclose()
        with pytest.raises(memstore.ClosedError) as e:
            await mem.get_chat("c")
        assert "memstore.connect_async()" in str(e.value)
        assert "AsyncMemory" in str(e.value)
    asyncio.run(run())
    mem = memstore.connect("memory://")
    mem.close()
    with pytest.raises(memstore.ClosedError) as e:
        mem.get_chat("c")
    assert "memstore.connect()" in str(e.value) and "connect_async" not in str(e.value)


def test_with_on_a_closed_memory_raises() -> None:
    mem = memstore.connect("memory://")
    mem.close()
    with pytest.raises(memstore.ClosedError), mem:
        pass

    async def run() -> None:
        amem = await memstore.connect_async("memory://")
        await amem.aclose()
        with pytest.raises(memstore.ClosedError):
            async with amem:
                pass
    asyncio.run(run())


def _foreign_memstore(where: Path) -> dict[str, str]:
    """An environment in which the unrelated PyPI `memstore` is installed too: its
    metadata (as pip leaves it) on the path, claiming memstore/__init__.py."""
    import os

    info = where / "memstore-0.0.4.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: memstore\nVersion: 0.0.4\n")
    (info / "RECORD").write_text("memstore/__init__.py,,\nmemstore-0.0.4.dist-info/RECORD,,\n")
    return {**os.environ, "PYTHONPATH": str(where)}


def _memstore(*args: str, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> tuple[int, str, str]:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "memstore", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def test_version_says_when_the_unrelated_memstore_is_installed(tmp_path: Path) -> None:
    import importlib.metadata as md

    code, out, err = _memstore("--version")
    assert (code, out.strip(), err) == (0, f"memstore {md.version('memstore-sql')}", "")
    code, out, err = _memstore("--version", env=_foreign_memstore(tmp_path / "site"))
    assert code == 1
    assert f"memstore {md.version('memstore-sql')}" in err
    assert "pip uninstall memstore" in err and "--force-reinstall" in err


def test_doctor_says_when_the_unrelated_memstore_is_installed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert _memstore("init", url)[0] == 0
    code, out, _ = _memstore("doctor", url)
    assert code == 0 and "schema OK" in out
    code, out, _ = _memstore("doctor", url, env=_foreign_memstore(tmp_path / "site"))
    assert code == 1 and "problem: another distribution provides the 'memstore' package" in out
    assert "pip uninstall memstore" in out


def test_messages_prints_the_visible_text_of_uimessage_rows(tmp_path: Path) -> None:
    # was: the raw UIMessage JSON of every row an integration or a TS app wrote
    from memstore.integrations import codec

    url = f"sqlite:///{tmp_path / 'a.db'}"
    with memstore.connect(url) as mem:
        mem.init_schema()
        mem.save_message("c", "user", codec.ui_message("user", "Plan Rome"), user_id="u1")
        mem.save_message("c", "assistant", codec.encode(
            "openai-agents", {"type": "function_call", "name": "f", "arguments": "{}",
                              "call_id": "x"}, role="assistant", text=None))
        mem.save_message("c", "assistant", "plain text")
    code, out, _ = _memstore("messages", url, "c")
    assert code == 0
    assert "user (u1):\nPlan Rome\n" in out and '"parts"' not in out
    assert "(openai-agents function_call without visible text; --raw prints the row)" in out
    assert "assistant (-):\nplain text\n" in out
    code, raw, _ = _memstore("messages", url, "c", "--raw")
    assert code == 0 and '"parts": [{"type": "text", "text": "Plan Rome"}]' in raw


def test_the_last_copy_progress_line_agrees_with_the_summary(tmp_path: Path) -> None:
    # was: "copied 1/1 chats, 1 messages, 1 working memories" then a summary of 2: the
    # user-scope working memory came after the last line printed (once a second)
    src, dst = f"sqlite:///{tmp_path / 's.db'}", f"sqlite:///{tmp_path / 'd.db'}"
    with memstore.connect(src) as mem:
        mem.init_schema()
        mem.save_message("c", "user", "x", user_id="u")
        mem.update_working_memory(scope="chat", chat_id="c", content="a")
        mem.update_working_memory(scope="user", user_id="u", content="b")
    code, out, _ = _memstore("copy", src, dst)
    lines = out.splitlines()
    assert code == 0 and lines[-1].startswith("memstore: copied 1 chats, 1 messages, "
                                              "2 working memories in ")
    assert lines[-2].startswith("copied 1/1 chats, 1 messages, 2 working memories, ")


def test_the_working_memory_tool_logs_the_field_and_where_ids_come_from(
        caplog: pytest.LogCaptureFixture) -> None:
    # was: "updating working memory failed: ValidationError", no field, no hint
    from memstore.integrations import working_memory as wm

    async def run() -> str:
        async with memstore.connect_async("memory://") as mem:
            return await wm.update_working_memory(mem, "secret facts", scope="chat")
    with caplog.at_level("ERROR", logger="memstore"):
        assert asyncio.run(run()) == "error"
    (record,) = caplog.records
    text = record.getMessage()
    assert "chat_id: is required when scope is 'chat'" in text
    assert "context" in text and "factory" in text and "secret facts" not in text
