"""Regenerates ``sdk_items.json``: every Responses input item the openai-agents 0.24.0
sdist's own tests write as a literal, for the round-trip test in test_openai_agents.py.

    pip download openai-agents==0.24.0 --no-deps --no-binary :all:
    tar xzf openai_agents-0.24.0.tar.gz
    python tests/integrations/extract_sdk_items.py openai_agents-0.24.0/tests

An item is a dict (a literal ``ast.literal_eval`` can read, in any ``.py`` file under
``tests/``, or anywhere in a JSON file under ``tests/fixtures/``) whose ``type`` is an input
item type of ``TResponseInputItem``, or a message (``role`` user / assistant / system /
developer with ``content``). Items JSON cannot hold exactly (bytes, tuples, int keys) are
left out; duplicates are kept once, with the first place they were found.
"""

from __future__ import annotations

import ast
import json
import sys
import typing
from pathlib import Path
from typing import Any

import typing_extensions
from openai.types.responses.response_input_item_param import ResponseInputItemParam

OUT = Path(__file__).with_name("sdk_items.json")


def item_types() -> set[str]:
    types: set[str] = set()
    for cls in typing.get_args(ResponseInputItemParam):
        hint = typing_extensions.get_type_hints(cls).get("type")
        types.update(a for a in typing.get_args(hint) if isinstance(a, str))
    return types - {"message"}


def main(root: Path) -> None:
    types = item_types()
    found: dict[str, str] = {}

    def is_item(value: dict[str, Any]) -> bool:
        kind = value.get("type")
        if isinstance(kind, str) and kind in types:
            return True
        return (value.get("role") in ("user", "assistant", "system", "developer")
                and "content" in value and kind in (None, "message"))

    def walk(value: Any, source: str) -> None:
        if isinstance(value, dict):
            if is_item(value):
                try:
                    key = json.dumps(value, sort_keys=True, allow_nan=False)
                except (TypeError, ValueError):
                    key = ""
                if key and json.loads(key) == value:
                    found.setdefault(key, source)
            for child in value.values():
                walk(child, source)
        elif isinstance(value, list):
            for child in value:
                walk(child, source)

    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Dict):
                try:
                    value = ast.literal_eval(node)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    continue
                walk(value, f"{path.relative_to(root)}:{node.lineno}")
    for path in sorted((root / "fixtures").rglob("*.json")):
        walk(json.loads(path.read_text()), str(path.relative_to(root)))

    lines = [json.dumps({"source": source, "item": json.loads(key)}, ensure_ascii=False,
                        sort_keys=True) for key, source in found.items()]
    OUT.write_text(
        '{"about": "Input items written as literals in the openai-agents 0.24.0 sdist\'s '
        "tests (MIT License, Copyright (c) OpenAI); source: the file under tests/ (and line). "
        'Made by extract_sdk_items.py.",\n "items": [\n' + ",\n".join(lines) + "\n]}\n")
    print(f"{len(lines)} items -> {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
