"""Malformed URLs and options (issue 26, findings 3, 4 and 14): a ValidationError that
names the malformed part and never echoes the password or the whole URL, from connect(),
connect_async(), the CLI (doctor, export, copy, migrate-from) and migrate_from()."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

import memstore
from memstore import cli, migrate

SECRET = "s3cretPW"

# (URL, what the message must say). None of them reaches a server.
MALFORMED: list[tuple[str, str]] = [
    (f"postgresql://u:{SECRET}@[]:5432/db", "the host is an empty IPv6 address []"),
    (f"postgresql://u:{SECRET}%@localhost:5432/db", "the password has a '%' that is not "
     "followed by two hex digits (write a literal % as %25)"),
    (f"postgresql://u:{SECRET}%zz@localhost:5432/db", "the password has a '%'"),
    (f"postgresql://u:{SECRET}%00@localhost:5432/db", "the password contains %00"),
    (f"postgresql://u:{SECRET}@[::1/db", "the host has an unbalanced '['"),
    (f"postgresql://u%:{SECRET}@localhost/db", "the user name has a '%'"),
    (f"mysql://u:{SECRET}@[::1/db", "not a valid MySQL URL: the host has an unbalanced '['"),
    (f"mysql://u:{SECRET}%@localhost/db", "not a valid MySQL URL: the password has a '%'"),
    (f"mysql://u:{SECRET}@localhost:99999/db", "the port must be a number from 0 to 65535"),
    (f"mysql://u:{SECRET}@localhost:abc/db", "the port must be a number from 0 to 65535"),
    (f"mysql://u:{SECRET}@localhost/db%", "the path has a '%'"),
    (f"mysql://u:{SECRET}@localhost/db?ssl_ca=/missing/ca.pem",
     "ssl_ca: no file at '/missing/ca.pem'"),
    (f"mysql://u:{SECRET}@localhost/db?ssl_cert=/missing/c.pem",
     "ssl_cert: no file at '/missing/c.pem'"),
    (f"mysql://u:{SECRET}@localhost/db?wsrep_sync_wait=\u00b2",
     "wsrep_sync_wait must be a whole number"),
    (f"mysql://u:{SECRET}@localhost/db?innodb_lock_wait_timeout=\u0663",
     "innodb_lock_wait_timeout must be a whole number"),
    ("libsql://[::1/db", "not a valid libSQL URL: the host has an unbalanced '['"),
    ("https://[::1/db", "not a valid libSQL URL: the host has an unbalanced '['"),
]


def _check(exc: BaseException, says: str) -> None:
    assert isinstance(exc, memstore.ValidationError), repr(exc)
    assert exc.field == "url"
    assert says in exc.reason, exc.reason
    for text in (str(exc), repr(exc), repr(exc.args)):
        assert SECRET not in text


@pytest.mark.parametrize(("url", "says"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_connect_names_the_malformed_part_and_never_the_password(url: str, says: str) -> None:
    with pytest.raises(memstore.ValidationError) as info:
        memstore.connect(url)
    _check(info.value, says)

    async def main() -> None:
        with pytest.raises(memstore.ValidationError) as info:
            await memstore.connect_async(url)
        _check(info.value, says)

    asyncio.run(main())


@pytest.mark.parametrize(("url", "says"), MALFORMED[:8], ids=[m[0] for m in MALFORMED[:8]])
def test_cli_names_the_malformed_part_and_never_the_password(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, says: str) -> None:
    dst = f"sqlite:///{tmp_path / 'dst.db'}"
    for argv in (["doctor", url], ["export", url], ["copy", url, dst]):
        try:
            code = cli.main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out = capsys.readouterr()
        assert code == 1, argv
        assert says in out.err, (argv, out.err)
        assert SECRET not in out.err + out.out, argv
        assert "Traceback" not in out.err


def test_cli_in_a_subprocess_prints_no_traceback() -> None:
    for url in (f"postgresql://u:{SECRET}@[]:5432/db", f"mysql://u:{SECRET}@[::1/db"):
        done = subprocess.run([sys.executable, "-m", "memstore", "doctor", url],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 1
        assert "Traceback" not in done.stderr and SECRET not in done.stderr, done.stderr
        assert done.stderr.startswith("memstore: url: not a valid ")


@pytest.mark.parametrize("url", [f"postgresql://u:{SECRET}@[]:5432/db",
                                 f"postgresql://u:{SECRET}%@localhost/db",
                                 f"postgresql+psycopg://u:{SECRET}%00@localhost/db",
                                 f"postgresql://u:{SECRET}@[::1/db"])
def test_migrate_from_a_malformed_postgres_url(
        capsys: pytest.CaptureFixture[str], url: str) -> None:
    with pytest.raises(memstore.ValidationError) as info:
        migrate.migrate_langchain(url, to="memory://")
    assert SECRET not in str(info.value)
    code = cli.main(["migrate-from", "langchain", url, "--to", "memory://"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("memstore: url: not a valid ") and SECRET not in err


def test_migrate_from_an_unreachable_or_refusing_postgres_is_a_backend_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    # Was a raw psycopg OperationalError traceback.
    url = f"postgresql://u:{SECRET}@127.0.0.1:1/db?connect_timeout=2"
    with pytest.raises(memstore.BackendError) as info:
        migrate.migrate_langchain(url, to="memory://")
    assert SECRET not in str(info.value)
    assert isinstance(info.value.__cause__, Exception)
    code = cli.main(["migrate-from", "openai-agents", url, "--to", "memory://"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("memstore: reading the source database failed")
    assert SECRET not in err


def test_migrate_from_postgres_with_a_wrong_password(capsys: pytest.CaptureFixture[str]) -> None:
    from urllib.parse import urlsplit, urlunsplit

    from tests.backend_postgres import server_url

    parts = urlsplit(server_url())
    host = parts.netloc.rpartition("@")[2]
    url = urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}:{SECRET}@{host}"))
    code = cli.main(["migrate-from", "langchain", url, "--to", "memory://"])
    err = capsys.readouterr().err
    if "password" not in err and code == 0:
        pytest.skip("the test server trusts every password")
    assert code == 1 and err.startswith("memstore: "), err
    assert "Traceback" not in err and SECRET not in err


def test_tables_must_be_a_mapping() -> None:
    for bad in (["messages"], "messages", 5):
        with pytest.raises(memstore.ValidationError) as info:
            memstore.connect("memory://", tables=bad)  # type: ignore[arg-type]
        assert info.value.field == "tables" and "must be a mapping" in info.value.reason


# -- URLs kept off the command line (finding 16) -----------------------------------------


def test_cli_reads_urls_from_the_environment(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    src, dst = f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 'dst.db'}"
    with memstore.connect(src) as mem:
        mem.init_schema()
        mem.save_message("c", "user", "hello", user_id="u")
    monkeypatch.setenv("MY_SRC", src)
    monkeypatch.setenv("MY_DST", dst)
    assert cli.main(["copy", "env:MY_SRC", "env:MY_DST"]) == 0
    with memstore.connect(dst) as mem:
        assert [m.content for m in mem.get_messages("c")] == ["hello"]
    assert cli.main(["doctor", "env:MY_DST"]) == 0
    out = tmp_path / "out.jsonl"
    assert cli.main(["export", "env:MY_SRC", "-o", str(out)]) == 0
    assert cli.main(["import", "env:MY_DST", str(out), "--check"]) == 0
    capsys.readouterr()
    for argv in (["copy", "env:MY_SRC", "env:NOT_SET"], ["doctor", "env:NOT_SET"],
                 ["export", "env:"]):
        assert cli.main(argv) == 1, argv
        err = capsys.readouterr().err
        assert "named by env: is not set" in err and "Traceback" not in err


def test_mysql_password_from_mysql_pwd(monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib.parse import urlsplit, urlunsplit

    from tests.backend_mysql import server_url

    parts = urlsplit(server_url())
    password = parts.password
    assert password
    host = parts.netloc.rpartition("@")[2]
    bare = urlunsplit(parts._replace(netloc=f"{parts.username}@{host}",
                                     query="ssl_disabled=true"))
    monkeypatch.setenv("MYSQL_PWD", password)
    with memstore.connect(bare) as mem:  # connected: the password came from $MYSQL_PWD
        assert isinstance(mem.doctor(), list)
    monkeypatch.setenv("MYSQL_PWD", SECRET)
    with pytest.raises(memstore.BackendError, match="1045") as info:
        memstore.connect(bare)
    assert SECRET not in str(info.value)
    # a password in the URL wins over $MYSQL_PWD
    with memstore.connect(server_url()) as mem:
        assert isinstance(mem.doctor(), list)
