"""Every ```python and ```console block of README.md and docs/ runs, and the site builds.

Each block runs as its own program (``python block.py``) in a fresh temporary directory,
offline: no server URL in its environment, proxies pointing at a closed port (so a block
that reaches for the network fails), no API keys. A block must be complete: imports,
data, everything. One that cannot run (it needs a server or a real model) is marked with
the line ``<!-- docs-test: skip REASON -->`` right above its fence; the marked blocks are
listed in SKIPPED below, so a new one is a visible change of this file, and their count is
printed in the test summary.

A block followed by "prints" and a ```text block is checked against that output. A
```console block is a shell session: each ``$ command`` runs (in one fresh directory, in
order) and must print the lines under it. ```sh blocks (install and make commands,
command synopses with server URLs) are shown, not run.

``mkdocs build --strict`` runs here too, so a broken link, a missing page or a docstring
mkdocstrings cannot read fails `make test` (and CI).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP_MARK = re.compile(r"<!--\s*docs-test:\s*skip\s+(.+?)\s*-->")
SNIPPET = re.compile(r'^--8<-- "([^"]+)"\n', re.M)
FENCE = re.compile(r"^```(\S*)\s*$")

# (file, first line of the block) of every block marked to skip: the rare, named exceptions.
SKIPPED: set[tuple[str, int]] = {
    # plugging OpenAI, sentence-transformers and model2vec: packages and models the tests
    # do not download (tests/test_recall_model2vec.py runs model2vec's loading code)
    ("docs/recall.md", 127),
}


@dataclass(frozen=True)
class Block:
    path: str  # relative to the repository
    line: int  # the line of the opening fence, 1-based
    end: int  # the line of the closing fence, 1-based
    lang: str
    code: str
    skip: str | None  # the reason given in the marker
    output: str | None  # the ```text block it is said to print, if any


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def expand_snippets(code: str) -> str:
    """A block may be a whole file, ``--8<-- "examples/x.py"`` (pymdownx.snippets, as the
    site shows it): that file is what runs."""
    return SNIPPET.sub(lambda m: (ROOT / m.group(1)).read_text(encoding="utf-8"), code)


def blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").split("\n")
    found: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1)
        j = i + 1
        while not lines[j].startswith("```"):
            j += 1
        above = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        skip = SKIP_MARK.search(above)
        found.append(Block(str(path.relative_to(ROOT)), start + 1, j + 1, lang,
                           expand_snippets("\n".join(lines[start + 1:j]) + "\n"),
                           skip.group(1) if skip else None, None))
        i = j + 1
    # attach an output block: a ```text block whose preceding prose says "prints"
    out: list[Block] = []
    for n, b in enumerate(found):
        nxt = found[n + 1] if n + 1 < len(found) else None
        output = None
        if b.lang == "python" and nxt is not None and nxt.lang == "text":
            between = lines[b.end:nxt.line - 1]
            if "prints" in " ".join(between) and not any(FENCE.match(x) for x in between):
                output = nxt.code
        out.append(Block(b.path, b.line, b.end, b.lang, b.code, b.skip, output))
    return out


ALL = [b for f in doc_files() for b in blocks(f)]
PYTHON = [b for b in ALL if b.lang == "python"]
RUN = [b for b in PYTHON if b.skip is None]
CONSOLE = [b for b in ALL if b.lang == "console"]


def offline_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MEMSTORE_", "OPENAI_", "TURSO_", "PG", "ANTHROPIC_"))}
    closed = "http://127.0.0.1:9"  # the discard port: nothing answers
    env.update(HTTP_PROXY=closed, HTTPS_PROXY=closed, http_proxy=closed, https_proxy=closed,
               NO_PROXY="", no_proxy="", OPENAI_AGENTS_DISABLE_TRACING="1",
               HOME=str(tmp), PYTHONPATH=str(ROOT))
    return env


@pytest.mark.parametrize("block", RUN, ids=[f"{b.path}:{b.line}" for b in RUN])
def test_python_block_runs(block: Block, tmp_path: Path) -> None:
    script = tmp_path / "block.py"
    script.write_text(block.code, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=offline_env(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (
        f"{block.path}:{block.line} failed\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}")
    if block.output is not None:
        assert done.stdout == block.output, f"{block.path}:{block.line} printed otherwise"


def session(code: str) -> list[tuple[str, list[str]]]:
    """A ```console block: ``$ command`` lines, each followed by the output it prints."""
    steps: list[tuple[str, list[str]]] = []
    for line in code.rstrip("\n").split("\n"):
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            assert steps, f"output before the first command: {line!r}"
            steps[-1][1].append(line)
    return steps


def matches(expected: str, got: str) -> bool:
    """Whitespace runs compare equal, and ``...`` stands for any text (a time, a path)."""
    want, have = " ".join(expected.split()), " ".join(got.split())
    pattern = ".*".join(re.escape(part) for part in want.split("..."))
    return re.fullmatch(pattern, have) is not None


@pytest.mark.parametrize("block", CONSOLE, ids=[f"{b.path}:{b.line}" for b in CONSOLE])
def test_console_block_prints_what_it_shows(block: Block, tmp_path: Path) -> None:
    """The commands of a ```console block run in order in one fresh directory (with
    memstore's `memstore` and `python` first on PATH), each must succeed, and each must
    print the lines shown under it (stdout and stderr together)."""
    env = offline_env(tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for command, expected in session(block.code):
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=300)
        got = done.stdout.rstrip("\n").split("\n") if done.stdout else []
        want = list(expected)
        while want and not want[-1].strip():
            want.pop()
        assert done.returncode == 0, f"{block.path}:{block.line}: $ {command}\n{done.stdout}"
        assert len(got) == len(want) and all(map(matches, want, got)), (
            f"{block.path}:{block.line}: $ {command}\nshown:\n" + "\n".join(want)
            + "\nprinted:\n" + "\n".join(got))


def test_skipped_blocks_are_the_named_ones() -> None:
    marked = {(b.path, b.line) for b in PYTHON if b.skip is not None}
    assert marked == SKIPPED, "a block marked docs-test: skip must be listed in SKIPPED"


def test_blocks_are_found() -> None:
    # a guard against the extractor silently finding nothing
    assert len(RUN) >= 20 and any(b.path == "README.md" for b in RUN) and CONSOLE


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stdout + done.stderr



def test_the_version_is_written_once() -> None:
    """pyproject.toml reads the version from memstore/__init__.py; the README's status
    line and the changelog name the same one."""
    import memstore

    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject and "\nversion =" not in pyproject
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"**Status:** version {memstore.__version__}," in readme
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"\n## {memstore.__version__} " in changelog
