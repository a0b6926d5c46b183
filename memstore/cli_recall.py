"""The recall commands of ``memstore``: ``index`` (bring the search side tables up to
date, with a progress line) and ``search`` (what ``search_messages`` finds, for a person
to look at). Kept beside cli.py so that module stays about tables and rows."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

from .connect import connect
from .errors import ValidationError
from .recall import MODES, visible_text


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                url_help: str) -> None:
    i = sub.add_parser("index", help="bring the search side tables up to date (text, and "
                       "vectors with --embed); remove side rows of deleted messages")
    i.add_argument("url", nargs="?", metavar="URL", help=url_help)
    i.add_argument("--embed", metavar="MODULE:CALLABLE",
                   help="an embedder to import (a callable from a list of texts to a list "
                        "of float vectors), e.g. myapp.embeddings:embed")
    i.add_argument("--embedder-name", metavar="NAME",
                   help="the model name recorded with each vector (default: the "
                        "embedder's name attribute, else its qualified name)")
    s = sub.add_parser("search", help="search a user's or a chat's past messages")
    s.add_argument("url", nargs="?", metavar="URL", help=url_help)
    s.add_argument("query", help="the words to find (every one must occur)")
    s.add_argument("--user", help="search this user's messages")
    s.add_argument("--chat", help="search this chat's messages")
    s.add_argument("--mode", choices=MODES, default="keyword")
    s.add_argument("--embed", metavar="MODULE:CALLABLE", help="the embedder (semantic, hybrid)")
    s.add_argument("--embedder-name", metavar="NAME")
    s.add_argument("--limit", type=int, default=10, metavar="N")
    s.add_argument("--json", action="store_true", help="one JSON object per hit")


def load_embedder(spec: str) -> Any:
    """``module:callable`` -> the callable (the module is imported from sys.path)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValidationError("--embed", f"must be MODULE:CALLABLE; got {spec!r}")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ValidationError("--embed", f"cannot load {spec!r}: {exc}") from None
    if not callable(target):
        raise ValidationError("--embed", f"{spec!r} is not callable")
    return target


class _ProgressLine:
    """``indexed N messages (text)`` on one line of stderr, rewritten in place on a
    terminal, printed once per stage otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last: tuple[str, int] | None = None

    def __call__(self, what: str, count: int) -> None:
        if self.tty:
            print(f"\rmemstore: indexed {count:,} messages ({what})", end="",
                  file=sys.stderr, flush=True)
        self.last = (what, count)

    def close(self) -> None:
        if self.tty and self.last is not None:
            print(file=sys.stderr)


def run(args: argparse.Namespace, url: str) -> int:
    """``index`` or ``search``; MemstoreError is reported by the caller."""
    from .cli import shown

    embedder = load_embedder(args.embed) if args.embed else None
    with connect(url, embedder=embedder, embedder_name=args.embedder_name) as mem:
        if args.command == "index":
            progress = _ProgressLine()
            try:
                removed = mem.index_messages(progress=progress)
            finally:
                progress.close()
            print(f"memstore: search index up to date ({mem.dialect}); removed {removed} "
                  "side rows of deleted messages")
            return 0
        hits = mem.search_messages(args.query, user_id=args.user, chat_id=args.chat,
                                   mode=args.mode, limit=args.limit)
        for hit in hits:
            m = hit.message
            text = visible_text(m.role, m.content)
            if args.json:
                print(json.dumps({"score": hit.score, "chat_id": m.chat_id, "id": m.id,
                                  "user_id": m.user_id, "role": m.role, "text": text,
                                  "timestamp": m.timestamp.isoformat()},
                                 ensure_ascii=False))
            else:  # stored text escaped for the terminal, as the other commands print it
                print(f"{hit.score:.4f}\t{shown(m.chat_id)}\t#{m.id}\t{m.role}\t"
                      f"{m.timestamp.isoformat()}\n{shown(text, lines=True)}\n")
        return 0 if hits else 1
