"""MySQL/MariaDB over TLS (issue 26, finding 1): any ssl_* URL option requires TLS and
verifies the server's certificate and host name; unknown flag values are refused.

The server is a throwaway MariaDB with TLS and a CA of its own (.ci/mariadb-tls.sh; the
MariaDB of .ci/services.sh has no TLS), started once for this module in a temporary
directory. Without mariadbd/openssl this module is skipped locally and fails in CI."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import memstore
from tests import throwaway

SCRIPT = "mariadb-tls.sh"


@pytest.fixture(scope="module")
def tls_server() -> Iterator[dict[str, str]]:
    # Not under pytest's tmp_path: its root-only parent directories would keep mariadbd
    # (which runs as the mysql user when started as root) out.
    state = Path(tempfile.mkdtemp(prefix="memstore-mariadb-tls-"))
    env = throwaway.start(SCRIPT, state)
    try:
        yield env
    finally:
        throwaway.stop(SCRIPT, state)


def _tls_version(mem: memstore.Memory) -> str:
    cur = mem.adapter.conn.cursor()
    cur.execute("SHOW STATUS LIKE 'Ssl_version'")
    (row,) = cur.fetchall()
    cur.close()
    return str(row[1])


def _url(env: dict[str, str], query: str) -> str:
    return f"{env['MEMSTORE_TEST_MYSQL_TLS_URL']}?{query}"


def test_ssl_ca_verifies_the_certificate(tls_server: dict[str, str]) -> None:
    ca = tls_server["MEMSTORE_TEST_MYSQL_TLS_CA"]
    other = tls_server["MEMSTORE_TEST_MYSQL_TLS_OTHER_CA"]
    with memstore.connect(_url(tls_server, f"ssl_ca={ca}")) as mem:
        assert _tls_version(mem).startswith("TLS")
        mem.init_schema()
        mem.save_message("c", "user", "over TLS")
        assert [m.content for m in mem.get_messages("c")] == ["over TLS"]
    # Was: connected over TLS without checking the certificate at all.
    with pytest.raises(memstore.BackendError, match="CERTIFICATE_VERIFY_FAILED"):
        memstore.connect(_url(tls_server, f"ssl_ca={other}"))

    async def main() -> None:
        with pytest.raises(memstore.BackendError, match="CERTIFICATE_VERIFY_FAILED"):
            await memstore.connect_async(_url(tls_server, f"ssl_ca={other}"))
        amem = await memstore.connect_async(_url(tls_server, f"ssl_ca={ca}"))
        assert [m.content for m in await amem.get_messages("c")] == ["over TLS"]
        await amem.aclose()

    asyncio.run(main())


@pytest.mark.parametrize("value", ["on", "1", "true", "YES"])
def test_ssl_verify_cert_true_in_any_spelling_verifies(tls_server: dict[str, str],
                                                        value: str) -> None:
    # Was: "on" read as false, so an unknown certificate was accepted. Without ssl_ca the
    # system's CAs are used, which do not know the test CA.
    with pytest.raises(memstore.BackendError, match="CERTIFICATE_VERIFY_FAILED"):
        memstore.connect(_url(tls_server, f"ssl_verify_cert={value}"))


def test_verification_is_turned_off_only_when_the_url_says_so(
        tls_server: dict[str, str]) -> None:
    other = tls_server["MEMSTORE_TEST_MYSQL_TLS_OTHER_CA"]
    with memstore.connect(_url(tls_server, f"ssl_ca={other}&ssl_verify_cert=false")) as mem:
        assert _tls_version(mem).startswith("TLS")
    with memstore.connect(_url(tls_server, "ssl_disabled=true")) as mem:
        assert _tls_version(mem) == ""


@pytest.mark.parametrize(("query", "says"), [
    ("ssl_verify_cert=required", "ssl_verify_cert must be true or false"),
    ("ssl_verify_identity=2", "ssl_verify_identity must be true or false"),
    ("ssl_disabled=maybe", "ssl_disabled must be true or false"),
    ("ssl_verify_cert=false&ssl_verify_identity=true", "ssl_verify_identity=true needs"),
    ("ssl_disabled=true&ssl_verify_cert=true", "cannot be combined"),
])
def test_unknown_or_contradictory_flags_are_refused(query: str, says: str) -> None:
    with pytest.raises(memstore.ValidationError) as info:
        memstore.connect(f"mysql://u:pw@127.0.0.1:1/db?{query}")
    assert info.value.field == "url" and says in info.value.reason


def test_a_file_that_is_no_certificate_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    with pytest.raises(memstore.ValidationError, match="ssl_ca: cannot load"):
        memstore.connect(f"mysql://u:pw@127.0.0.1:1/db?ssl_ca={bogus}")


def test_an_ssl_option_refuses_a_server_without_tls(tls_server: dict[str, str]) -> None:
    # The MariaDB of .ci/services.sh has no TLS: with an ssl_* option memstore must not
    # fall back to plain text.
    from urllib.parse import urlsplit, urlunsplit

    from tests.backend_mysql import database_url

    plain = urlsplit(database_url())
    url = urlunsplit(plain._replace(query=f"ssl_ca={tls_server['MEMSTORE_TEST_MYSQL_TLS_CA']}"))
    with pytest.raises(memstore.BackendError, match="SSL is required"):
        memstore.connect(url)
