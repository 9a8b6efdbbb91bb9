"""Every runnable code block of README.md and docs/ runs, so the docs cannot rot.

A fenced block's info string is `LANG [norun] [file=PATH]`:
- `file=PATH`: the block is a file; it is written under a scratch folder before the document's
  commands run there (the README's tutorial builds its solution this way);
- `lua`: run as a script (it must finish without an error);
- `python`: executed with the repository as the working folder;
- `sh` / `console`: each `murano-sim ...` and `pytest ...` command runs (console: lines after
  `$ `), and must exit 0; `pip` and a bare `pytest` (the whole suite) are skipped;
- `norun` (servers, outputs) and other languages (yaml, json, text) are never run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from murano_sim import Runtime

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.M | re.S)
RUNNABLE = {"lua", "python", "sh", "console"}


@dataclass
class Block:
    doc: Path
    line: int
    lang: str
    attrs: dict[str, str]
    text: str

    @property
    def runs(self) -> bool:
        return self.lang in RUNNABLE and "norun" not in self.attrs and "file" not in self.attrs


def blocks(doc: Path) -> list[Block]:
    text = doc.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        words = match.group(1).split()
        lang = words[0] if words else ""
        attrs = dict(w.split("=", 1) if "=" in w else (w, "") for w in words[1:])
        found.append(Block(doc, text.count("\n", 0, match.start()) + 1, lang, attrs, match.group(2)))
    return found


def commands(block: Block, *, from_root: bool = False) -> list[list[str]]:
    lines = block.text.splitlines()
    if block.lang == "console":
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    out = []
    for line in lines:
        for part in line.split("&&"):
            words = shlex.split(part, comments=True)
            if not words or words[0] == "pip" or words == ["pytest"]:
                continue
            if words[0] == "murano-sim":
                out.append([sys.executable, "-m", "murano_sim.cli", *words[1:]])
            elif words[0] == "pytest":
                # from the repository, a pytest without a path would run this whole suite again, inside itself
                assert not from_root or any(not w.startswith("-") for w in words[1:]), \
                    f"{block.doc.name}:{block.line}: mark a bare pytest command `norun`: {line!r}"
                out.append([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                            *words[1:]])
            else:
                raise AssertionError(f"{block.doc.name}:{block.line}: mark commands other than murano-sim and "
                                     f"pytest `norun`: {line!r}")
    return out


def doc_id(doc: Path) -> str:
    return doc.relative_to(ROOT).as_posix()


def test_the_readme_is_a_guide_of_at_most_about_250_lines():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 260


def test_every_block_is_either_runnable_or_marked():
    for doc in DOCS:
        for block in blocks(doc):
            if block.lang in ("", "bash", "shell"):
                raise AssertionError(f"{doc_id(doc)}:{block.line}: give the block a language "
                                     "(text for output; sh/console commands run unless marked norun)")


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_runnable_blocks_run(doc: Path, tmp_path: Path) -> None:
    found = blocks(doc)
    files = [b for b in found if "file" in b.attrs]
    for block in files:
        target = tmp_path / block.attrs["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text, encoding="utf-8")
    # A document that builds files runs its commands among them; any other runs from the repository.
    cwd = tmp_path if files else ROOT
    for shared in ("scripts", "config.yaml"):  # what the two first commands use, as in a clone
        if files and not (tmp_path / shared).exists():
            (tmp_path / shared).symlink_to(ROOT / shared)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for block in (b for b in found if b.runs):
        where = f"{doc_id(doc)}:{block.line}"
        if block.lang == "lua":
            with Runtime(str(ROOT / "config.yaml")) as runtime:
                result = runtime.run(block.text, name=f"{doc.name}:{block.line}")
            assert result.error is None, f"{where}: {result.error}"
        elif block.lang == "python":
            previous = Path.cwd()
            os.chdir(ROOT)
            try:
                exec(compile(block.text, where, "exec"), {"__name__": "docs"})
            finally:
                os.chdir(previous)
        else:
            for command in commands(block, from_root=cwd == ROOT):
                proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
                assert proc.returncode == 0, f"{where}: {shlex.join(command[2:])}\n{proc.stdout}\n{proc.stderr}"
