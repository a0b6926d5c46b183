"""MkDocs hook: the command line reference is generated from memstore's own argparse
parser at build time, so it cannot drift from `memstore --help`."""

from __future__ import annotations

import argparse
from typing import Any

MARK = "<!-- cli-help -->"


def _help(parser: argparse.ArgumentParser) -> str:
    text = parser.format_help()
    return "```text\n" + text.rstrip() + "\n```\n"


def cli_reference() -> str:
    from memstore import cli

    parser = cli._parser()
    parts = ["## memstore\n", _help(parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                parts += [f"## memstore {name}\n", _help(sub)]
    return "\n".join(parts)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if MARK in markdown:
        return markdown.replace(MARK, cli_reference())
    return markdown
