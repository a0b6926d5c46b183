"""The memstore command: print the bundled schema, create or check the tables, and show
what an agent stored, for a person to look at.

URL is a database URL as memstore.connect() takes it; without one, $MEMSTORE_URL, else
sqlite:///memstore.db. init, import, copy and migrate-from create the tables (and a
SQLite file); doctor, chats, messages and memory refuse a SQLite path that does not exist.
"""
# The docstring above is the --help description: plain text, no reST markup.

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from . import sqlfiles
from .connect import DEFAULT_URL, connect
from .errors import MemstoreError
from .models import Chat, Message

DIALECT_ALIASES = {"turso": "sqlite", "libsql": "sqlite", "mariadb": "mysql",
                   "postgresql": "postgres"}
URL_HELP = (f"database URL, or env:NAME to read it from $NAME (default: $MEMSTORE_URL, "
            f"else {DEFAULT_URL})")
ENV_HELP = "; env:NAME reads it from the environment variable NAME (kept out of `ps`)"


def _env_urls(args: argparse.Namespace) -> None:
    """Every URL argument given as ``env:NAME`` replaced by ``$NAME``: a URL with a
    password on the command line shows in ``ps`` and shell history. MemstoreError when the
    variable is unset or empty."""
    for key in ("url", "src", "dst", "to"):
        value = getattr(args, key, None)
        if isinstance(value, str) and value.startswith("env:"):
            name = value[4:]
            url = os.environ.get(name)
            if not name or not url:
                raise MemstoreError(f"{key}: the environment variable {name or '(no name)'!r} "
                                    "named by env: is not set")
            setattr(args, key, url)


class _Version(argparse._VersionAction):
    """--version: memstore-sql's version from its metadata, and a warning (exit 1) when an
    unrelated distribution also provides the memstore package (distribution.py)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None,
                 ) -> None:
        from . import distribution

        installed, others = distribution.version(), distribution.foreign()
        if installed is not None:
            self.version = f"memstore {installed}"
        if others:
            print(f"{self.version}\nmemstore: {distribution.clash_message(others)}",
                  file=sys.stderr)
            parser.exit(1)
        super().__call__(parser, namespace, values, option_string)


def _parser() -> argparse.ArgumentParser:
    # Read here, when the package is fully initialised; getattr, because a
    # memstore/__init__.py another distribution overwrote may not have it, and --version
    # must still run to say so (_Version reads the version from the metadata).
    __version__ = getattr(sys.modules[__package__ or "memstore"], "__version__", "unknown")

    p = argparse.ArgumentParser(prog="memstore", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action=_Version, version=f"memstore {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    s = sub.add_parser("schema", help="print the bundled schema of a dialect")
    # A fixed list: the name becomes part of a file path.
    s.add_argument("dialect", choices=sorted({*sqlfiles.DIALECTS, *DIALECT_ALIASES}),
                   help="sqlite, postgres or mysql (turso and libsql use sqlite)")
    sub.add_parser("init", help="create missing tables and indexes").add_argument(
        "url", nargs="?", metavar="URL", help=URL_HELP)
    sub.add_parser("doctor", help="check tables, columns and indexes; exit 1 on problems"
                   ).add_argument("url", nargs="?", metavar="URL", help=URL_HELP)
    c = sub.add_parser("chats", help="list chats, most recently updated first")
    c.add_argument("url", nargs="?", metavar="URL", help=URL_HELP)
    c.add_argument("--user", help="only this user's chats")
    c.add_argument("--search", help="only chats whose title contains this text (any case)")
    c.add_argument("--limit", type=int, default=100, metavar="N",
                   help="list at most N chats, 1..10000 (default 100)")
    c.add_argument("--json", action="store_true",
                   help="one JSON object per chat and line (the export's field names)")
    m = sub.add_parser("messages", help="print the last messages of a chat, oldest first")
    m.add_argument("url", nargs="?", metavar="URL", help=URL_HELP)
    m.add_argument("chat", help="the chat id")
    m.add_argument("--limit", type=int, default=100, metavar="N",
                   help="print the last N messages, 1..10000 (default 100)")
    m.add_argument("--before", type=int, metavar="ID",
                   help="the N messages just older than message ID (page back with the "
                   "oldest id printed)")
    m.add_argument("--json", action="store_true",
                   help="one JSON object per message and line (the export's field names)")
    m.add_argument("--raw", action="store_true",
                   help="print contents as stored (default: the visible text of the "
                   "UIMessage rows the integrations and TS apps write)")
    w = sub.add_parser("memory", help="print the working memory of a chat or a user")
    w.add_argument("url", nargs="?", metavar="URL", help=URL_HELP)
    who = w.add_mutually_exclusive_group(required=True)
    who.add_argument("--chat", help="the chat-scope working memory of this chat")
    who.add_argument("--user", help="the user-scope working memory of this user")
    _transfer_parsers(sub)
    _recall_parsers(sub)
    return p


def _recall_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .cli_recall import add_parsers

    add_parsers(sub, URL_HELP)


def _transfer_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    e = sub.add_parser("export", help="write chats, messages and working memory as JSON Lines")
    e.add_argument("url", metavar="URL", help="the database to read" + ENV_HELP)
    which = e.add_mutually_exclusive_group()
    which.add_argument("--user", help="one user's data: their chats, their messages in other "
                       "chats, their and their chats' working memory")
    which.add_argument("--chat", help="one chat and its working memory")
    e.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    i = sub.add_parser("import", help="import a memstore JSON Lines file (idempotent per chat)")
    i.add_argument("url", metavar="URL",
                   help="the database to write (tables are created)" + ENV_HELP)
    i.add_argument("file", metavar="FILE", help="the file export wrote; - for stdin")
    i.add_argument("--check", action="store_true",
                   help="read and check the whole file, write nothing")
    c = sub.add_parser("copy", help="copy everything (or one user) from one database to "
                       "another; re-run to finish an interrupted copy")
    c.add_argument("src", metavar="SRC_URL", help="the database to read" + ENV_HELP)
    c.add_argument("dst", metavar="DST_URL",
                   help="the database to write (tables are created)" + ENV_HELP)
    c.add_argument("--user", help="only this user's data, as export --user takes it")
    g = sub.add_parser("migrate-from", help="migrate LangChain SQLChatMessageHistory or "
                       "Agents SDK SQLiteSession/SQLAlchemySession tables (idempotent)")
    g.add_argument("framework", choices=["langchain", "openai-agents"],
                   help="whose tables: langchain (message_store) or openai-agents "
                   "(agent_messages)")
    g.add_argument("url", metavar="URL", help="the source database: sqlite:///file.db or "
                   "postgresql://... (a SQLAlchemy driver suffix such as +psycopg is ignored)"
                   + ENV_HELP)
    g.add_argument("--table", help="the source table (default: message_store for langchain, "
                   "agent_messages for openai-agents)")
    g.add_argument("--to", metavar="DST_URL", help="the memstore database to write (tables "
                   "are created; default: URL itself)" + ENV_HELP)


def _transfer(args: argparse.Namespace) -> int:
    from . import transfer

    if args.command == "migrate-from":
        return _migrate_from(args)
    if args.command == "export":
        if (path := missing_sqlite_file(args.url)) is not None:
            print(f"memstore: no SQLite database at {path}", file=sys.stderr)
            return 1
        with connect(args.url) as mem:
            if args.output:
                with open(args.output, "wb") as out:
                    stats = transfer.export(mem, out, user_id=args.user, chat_id=args.chat)
            else:
                stats = transfer.export(mem, sys.stdout.buffer, user_id=args.user,
                                        chat_id=args.chat)
        print(f"memstore: {stats.summary('exported')}", file=sys.stderr)
        return 0
    if args.command == "import":
        if args.file == "-":
            stats = transfer.import_(args.url, sys.stdin.buffer, check_only=args.check)
        else:
            with open(args.file, "rb") as stream:
                stats = transfer.import_(args.url, stream, check_only=args.check)
        print(f"memstore: {stats.summary('checked' if args.check else 'imported')}")
        return 0
    if (path := missing_sqlite_file(args.src)) is not None:
        print(f"memstore: no SQLite database at {path}", file=sys.stderr)
        return 1
    display = transfer.ProgressDisplay(sys.stdout, label="copied")
    try:
        stats = transfer.copy(args.src, args.dst, user_id=args.user, progress=display)
    finally:
        display.close()
    print(f"memstore: {stats.summary('copied')}")
    return 0


def _migrate_from(args: argparse.Namespace) -> int:
    from . import migrate, transfer

    # a bar on a terminal (with tqdm), else a line at most every second, as copy shows
    display = transfer.ProgressDisplay(sys.stdout, label="migrated", unit="session")
    try:
        done = migrate.migrate_from(args.framework, args.url, to=args.to, table=args.table,
                                    progress=display)
    finally:
        display.close()
    print(f"memstore: {done.summary()}")
    return 0


def missing_sqlite_file(url: str) -> str | None:
    """The path of a ``sqlite:`` URL's database file when that file does not exist.

    sqlite3 creates a missing file on connect, so a mistyped path would otherwise be
    reported as an empty or unmigrated database (and leave a stray file behind). The path
    is read as connect() reads it: sqlite:///rel.db, sqlite:////abs.db; none is memory."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None  # a malformed URL: connect() says which part
    if parts.scheme.lower() != "sqlite" or parts.netloc:
        return None  # not SQLite, or a URL connect() refuses with its own message
    path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    if path in ("", ":memory:") or Path(path).exists():
        return None
    return path


def _json_line(record: dict[str, object]) -> str:
    # the export's encoding: non-ASCII kept, line separators escaped, one record a line
    from .transfer import record_line

    return record_line(record).decode("utf-8").rstrip("\n")


def _chat_json(c: Chat) -> str:
    from .transfer import iso

    return _json_line({"chat_id": c.chat_id, "user_id": c.user_id, "title": c.title,
                       "created_at": iso(c.created_at), "updated_at": iso(c.updated_at),
                       "message_count": c.message_count})


def _message_json(m: Message) -> str:
    from .transfer import iso

    return _json_line({"chat_id": m.chat_id, "id": m.id, "user_id": m.user_id,
                       "role": m.role, "content": m.content, "timestamp": iso(m.timestamp)})


# Stored text shown to a terminal: control characters (C0, DEL, C1: escape sequences,
# \r, BEL...), line and paragraph separators and bidirectional-text controls as visible
# escapes, so no title or message can retitle, clear or rewrite the operator's terminal
# or reorder what it shows. Line breaks stay in message and working-memory content.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7f, 0xa0))}
_ESCAPES.update({ord("\t"): "\\t", ord("\r"): "\\r", ord("\n"): "\\n"})
_ESCAPES.update({c: f"\\u{c:04x}" for c in (0x061c, 0x200e, 0x200f, 0x2028, 0x2029,
                                             *range(0x202a, 0x202f), *range(0x2066, 0x206a))})
_ESCAPES_KEEP_LINES = {c: e for c, e in _ESCAPES.items() if c != ord("\n")}


def shown(text: str, *, lines: bool = False) -> str:
    """``text`` safe to print to a terminal (see _ESCAPES); ``lines`` keeps line breaks."""
    return text.translate(_ESCAPES_KEEP_LINES if lines else _ESCAPES)


def _chat_line(c: Chat) -> str:
    return (f"{shown(c.chat_id)}\t{shown(c.user_id or '-')}\t{c.updated_at.isoformat()}\t"
            f"{c.message_count}\t{shown(c.title or '')}")


def _message_block(m: Message, raw: bool = False) -> str:
    text = m.content if raw else _visible_text(m)
    return (f"[{m.timestamp.isoformat()}] #{m.id} {m.role} ({shown(m.user_id or '-')}):\n"
            f"{shown(text, lines=True)}\n")


def _visible_text(m: Message) -> str:
    """A UIMessage row (an integration's or a TS app's) as the text a person reads; a row
    without visible text (a tool call, say) as a note; any other content as stored."""
    from .integrations import codec

    row = codec.decode(m.role, m.content)
    if row.kind == "text":
        return m.content
    if row.text:
        return row.text
    what = row.item.get("type") if isinstance(row.item, dict) else None
    source = f"{row.framework} {what or 'item'}" if row.kind == "item" else "UIMessage"
    return f"({source} without visible text; --raw prints the row)"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "schema":
        sys.stdout.write(sqlfiles.schema_text(DIALECT_ALIASES.get(args.dialect, args.dialect)))
        return 0
    if args.command in ("export", "import", "copy", "migrate-from"):
        try:
            _env_urls(args)
            return _transfer(args)
        except MemstoreError as exc:
            print(f"memstore: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"memstore: {exc}", file=sys.stderr)
            return 1
    try:
        _env_urls(args)
    except MemstoreError as exc:
        print(f"memstore: {exc}", file=sys.stderr)
        return 1
    url = args.url or os.environ.get("MEMSTORE_URL") or DEFAULT_URL
    if args.command != "init" and (path := missing_sqlite_file(url)) is not None:
        print(f"memstore: no SQLite database at {path} ({Path(path).absolute()}); check the "
              "path, or create the tables there with `memstore init URL`", file=sys.stderr)
        return 1
    try:
        if args.command in ("index", "search"):
            from .cli_recall import run as run_recall

            return run_recall(args, url)
        with connect(url) as mem:
            if args.command == "init":
                mem.init_schema()
                print(f"memstore: tables ready ({mem.dialect})")
            elif args.command == "doctor":
                from . import distribution

                clash = distribution.foreign()
                problems = ([distribution.clash_message(clash)] if clash else []) + mem.doctor()
                for line in problems:
                    print(f"problem: {line}")
                if problems:
                    return 1
                print(f"memstore: schema OK ({mem.dialect})")
                status = mem.index_status()
                print(f"memstore: search index: {status.pending} messages not indexed yet, "
                      f"{status.orphans} rows of deleted messages"
                      + (" (`memstore index URL` catches up)" if any(status) else ""))
            elif args.command == "chats":
                chats = mem.get_chats(user_id=args.user, search=args.search,
                                      limit=args.limit)
                if not args.json:
                    print("chat_id\tuser_id\tupdated_at\tmessages\ttitle")
                for chat in chats:
                    print(_chat_json(chat) if args.json else _chat_line(chat))
            elif args.command == "messages":
                for msg in mem.get_messages(args.chat, limit=args.limit,
                                            before_id=args.before):
                    print(_message_json(msg) if args.json else _message_block(msg, args.raw))
            elif args.command == "memory":
                if args.chat:
                    wm = mem.get_working_memory(scope="chat", chat_id=args.chat)
                else:
                    wm = mem.get_working_memory(scope="user", user_id=args.user)
                if wm is None:
                    print("(no working memory)")
                    return 1
                print(f"# {wm.scope} working memory, updated {wm.updated_at.isoformat()}")
                print(shown(wm.content, lines=True))
    except MemstoreError as exc:
        print(f"memstore: {exc}", file=sys.stderr)
        return 1
    return 0
