"""memstore over TLS to libSQL: ``https://``, ``wss://`` and ``libsql://`` URLs end to end,
certificate verification on, against sqld behind a TLS terminator with a CA of its own
(``.ci/sqld-tls.sh``: stunnel in front of the sqld of ``.ci/turso-server.sh``).

The servers come from the environment (``eval "$(bash .ci/turso-server.sh start DIR)"``
then ``eval "$(bash .ci/sqld-tls.sh start DIR2)"``, or ``make services``); without them
these tests are skipped locally and fail with ``CI=true`` (tests/backends.py).

How a client trusts the private CA: libsql-client talks through aiohttp, whose verifying
SSL context is ``ssl.create_default_context()``, made once when aiohttp is imported, so
it holds OpenSSL's default verify paths as they are then: ``$SSL_CERT_FILE`` (a PEM
bundle, which then replaces the system's) or ``$SSL_CERT_DIR``. libsql-client offers no
way to pass a CA or an ``SSLContext``, and memstore adds none. So each case runs in a
fresh interpreter (this one imported aiohttp long ago), as a user's program would:
``SSL_CERT_FILE=ca.pem python app.py``; or the program sets ``os.environ`` itself before
its first libSQL connect (memstore imports libsql-client, and so aiohttp, only then).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import memstore
from memstore.adapters.turso import ClientRunner
from tests.backends import require_env

SERVERS = "sqld behind TLS (servers: `make services`, or .ci/sqld-tls.sh)"
SCHEMES = ("https", "wss", "libsql")  # libsql:// is wss:// (TLS unless ?tls=0)
APIS = ("sync", "async")
TEXT = "hello over TLS"

# Run in a fresh interpreter: argv = api, url, chat_id, setenv (""|"before"|"after": set
# $SSL_CERT_FILE from $TLS_TEST_CA inside the program, before or after aiohttp's import),
# tables (JSON: this module's own table names, so the shared sqld keeps no default ones).
# The auth token comes in $TURSO_AUTH_TOKEN, so it is in no command line. Prints one JSON
# line: the messages read back, or the memstore error.
CHILD = r"""
import asyncio, json, os, sys
api, url, chat, setenv, tables = sys.argv[1:6]
tables = json.loads(tables)
if setenv == "after":
    import aiohttp  # noqa: F401  (its verifying SSL context is made now)
if setenv:
    os.environ["SSL_CERT_FILE"] = os.environ["TLS_TEST_CA"]
import memstore

def out(msgs):
    return {"messages": [[m.role, m.content] for m in msgs]}

def sync():
    with memstore.connect(url, tables=tables) as mem:
        mem.init_schema()
        mem.save_message(chat, "user", "hello over TLS")
        return out(mem.get_messages(chat))

async def asynchronous():
    async with await memstore.connect_async(url, tables=tables) as mem:
        await mem.init_schema()
        await mem.save_message(chat, "user", "hello over TLS")
        return out(await mem.get_messages(chat))

try:
    result = sync() if api == "sync" else asyncio.run(asynchronous())
except memstore.MemstoreError as exc:
    cause = exc.__cause__
    result = {"error": type(exc).__name__, "message": str(exc),
              "cause": type(cause).__name__ if cause is not None else None}
print(json.dumps(result))
"""


@dataclass
class Tls:
    port: str
    ca: str
    token: str
    plain_url: str  # the same sqld without TLS
    tables: dict[str, str]  # this module's own, dropped at its end

    def plain(self) -> memstore.Memory:
        return memstore.connect(f"{self.plain_url}?authToken={self.token}",
                                tables=self.tables)


@pytest.fixture(scope="module")
def tls() -> Iterator[Tls]:
    port = require_env("MEMSTORE_TEST_TURSO_TLS_PORT", SERVERS)
    ca = require_env("MEMSTORE_TEST_TURSO_TLS_CA", SERVERS)
    token = require_env("MEMSTORE_TEST_TURSO_TOKEN", SERVERS)
    plain = require_env("MEMSTORE_TEST_TURSO_URL", SERVERS)
    assert os.path.isfile(ca), f"$MEMSTORE_TEST_TURSO_TLS_CA={ca} is not a file"
    tag = f"tls{os.getpid()}_{uuid.uuid4().hex[:6]}"
    tables = {"working_memory": f"wm_{tag}", "messages": f"msg_{tag}",
              "chats": f"chat_{tag}", "status": f"status_{tag}"}
    t = Tls(port, ca, token, plain, tables)
    try:
        yield t
    finally:
        with t.plain() as mem:
            runner = mem.adapter
            assert isinstance(runner, ClientRunner)
            runner.client.batch([f"DROP TABLE IF EXISTS {name}" for name in tables.values()])


def run_child(tls: Tls, api: str, url: str, *, ca: bool, setenv: str = "") -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR", "TURSO_AUTH_TOKEN")}
    env["TURSO_AUTH_TOKEN"] = tls.token
    env["TLS_TEST_CA"] = tls.ca
    if ca:
        env["SSL_CERT_FILE"] = tls.ca
    chat = f"tls-{uuid.uuid4().hex[:12]}"
    proc = subprocess.run([sys.executable, "-c", CHILD, api, url, chat, setenv,
                           json.dumps(tls.tables)],
                          env=env, capture_output=True, text=True, timeout=120,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert proc.returncode == 0, f"child failed:\n{proc.stdout}\n{proc.stderr}"
    assert tls.token not in proc.stdout + proc.stderr, "the auth token leaked into the output"
    assert "Unclosed" not in proc.stderr, f"a client was left open:\n{proc.stderr}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["chat"] = chat
    return result


def assert_round_trip(tls: Tls, result: dict[str, Any]) -> None:
    assert "error" not in result, result
    assert result["messages"] == [["user", TEXT]]
    # Written through the TLS terminator, to the very sqld behind it: read it back plainly.
    with tls.plain() as mem:
        assert [(m.role, m.content) for m in mem.get_messages(result["chat"])] == [
            ("user", TEXT)]


def assert_cert_error(result: dict[str, Any]) -> None:
    assert result.get("error") == "BackendError", result
    message = result["message"]
    assert "certificate verification failed" in message, message
    assert "SSL_CERT_FILE" in message, message
    assert "does not speak TLS" not in message, message  # the hint for another failure
    assert result["cause"] == "ClientConnectorCertificateError", result


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("scheme", SCHEMES)
def test_round_trip_with_the_ca(tls: Tls, scheme: str, api: str) -> None:
    result = run_child(tls, api, f"{scheme}://127.0.0.1:{tls.port}", ca=True)
    assert_round_trip(tls, result)


@pytest.mark.parametrize("api", APIS)
def test_host_name_from_the_certificate(tls: Tls, api: str) -> None:
    """The certificate names DNS:localhost as well as IP:127.0.0.1."""
    result = run_child(tls, api, f"libsql://localhost:{tls.port}", ca=True)
    assert_round_trip(tls, result)


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("scheme", SCHEMES)
def test_without_the_ca_verification_fails_clearly(tls: Tls, scheme: str, api: str) -> None:
    result = run_child(tls, api, f"{scheme}://127.0.0.1:{tls.port}", ca=False)
    assert_cert_error(result)


def test_ca_set_inside_the_program_before_the_first_connect(tls: Tls) -> None:
    result = run_child(tls, "sync", f"https://127.0.0.1:{tls.port}", ca=False,
                       setenv="before")
    assert_round_trip(tls, result)


def test_ca_set_after_aiohttp_was_imported_is_too_late(tls: Tls) -> None:
    """aiohttp reads the CA once, at its import: documented, so shown here."""
    result = run_child(tls, "sync", f"https://127.0.0.1:{tls.port}", ca=False,
                       setenv="after")
    assert_cert_error(result)
