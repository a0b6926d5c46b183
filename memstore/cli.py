"""The ``memstore`` command: print the schema, create or check tables, and show what an
agent stored, for a person to look at."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import sqlfiles
from .connect import connect
from .errors import MemstoreError
from .models import Chat, Message

DIALECT_ALIASES = {"turso": "sqlite", "libsql": "sqlite", "mariadb": "mysql",
                   "postgresql": "postgres"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memstore", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("schema", help="print the bundled schema of a dialect")
    s.add_argument("dialect", help="sqlite, postgres, mysql (turso uses sqlite)")
    sub.add_parser("init", help="create missing tables and indexes").add_argument("url")
    sub.add_parser("doctor", help="check tables, columns and indexes").add_argument("url")
    c = sub.add_parser("chats", help="list chats, most recent first")
    c.add_argument("url")
    c.add_argument("--user")
    c.add_argument("--search")
    c.add_argument("--limit", type=int, default=100)
    m = sub.add_parser("messages", help="print the last messages of a chat, oldest first")
    m.add_argument("url")
    m.add_argument("chat")
    m.add_argument("--limit", type=int, default=100)
    w = sub.add_parser("memory", help="print the working memory of a chat or a user")
    w.add_argument("url")
    who = w.add_mutually_exclusive_group(required=True)
    who.add_argument("--chat")
    who.add_argument("--user")
    return p


def _chat_line(c: Chat) -> str:
    return (f"{c.chat_id}\t{c.user_id or '-'}\t{c.updated_at.isoformat()}\t"
            f"{c.message_count}\t{c.title or ''}")


def _message_block(m: Message) -> str:
    return f"[{m.timestamp.isoformat()}] #{m.id} {m.role} ({m.user_id or '-'}):\n{m.content}\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "schema":
            dialect = DIALECT_ALIASES.get(args.dialect, args.dialect)
            try:
                sys.stdout.write(sqlfiles.schema_text(dialect))
            except FileNotFoundError:
                print(f"memstore: unknown dialect {args.dialect!r}", file=sys.stderr)
                return 2
            return 0
        with connect(args.url) as mem:
            if args.command == "init":
                mem.init_schema()
                print(f"memstore: tables ready ({mem.dialect})")
            elif args.command == "doctor":
                problems = mem.doctor()
                for line in problems:
                    print(f"problem: {line}")
                if problems:
                    return 1
                print(f"memstore: schema OK ({mem.dialect})")
            elif args.command == "chats":
                print("chat_id\tuser_id\tupdated_at\tmessages\ttitle")
                for chat in mem.get_chats(user_id=args.user, search=args.search,
                                          limit=args.limit):
                    print(_chat_line(chat))
            elif args.command == "messages":
                for msg in mem.get_messages(args.chat, limit=args.limit):
                    print(_message_block(msg))
            elif args.command == "memory":
                scope = "chat" if args.chat else "user"
                wm = mem.get_working_memory(scope=scope, chat_id=args.chat, user_id=args.user)
                if wm is None:
                    print("(no working memory)")
                    return 1
                print(f"# {scope} working memory, updated {wm.updated_at.isoformat()}")
                print(wm.content)
    except MemstoreError as exc:
        print(f"memstore: {exc}", file=sys.stderr)
        return 1
    return 0
