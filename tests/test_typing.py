"""A user's type checker catches the mistakes the API's types describe: a wrong scope
or role, None content, a misspelt key in a message item (mypy --strict on a script)."""

from __future__ import annotations

from pathlib import Path

from mypy import api

SCRIPT = '''
import memstore
mem = memstore.connect("memory://")
mem.update_working_memory(scope="global", content="x")
mem.save_message("c", role="tool", content="x")
mem.save_message("c", role="user", content=None)
mem.save_messages("c", [{"role": "user", "contnt": "x"}])
mem.save_messages("c", [{"role": "user", "content": {"a": 1}}])  # fine
'''


def test_mypy_catches_the_typical_mistakes(tmp_path: Path) -> None:
    script = tmp_path / "user_script.py"
    script.write_text(SCRIPT)
    out, _, status = api.run(["--strict", "--no-incremental", str(script)])
    assert status == 1, out
    lines = [line for line in out.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in lines] == ["4", "5", "6", "7", "7"], out
    assert '"global"' in lines[0] or "'global'" in lines[0]
    assert "tool" in lines[1] and "None" in lines[2] and "contnt" in out
