"""`murano-sim lint [DIR]`: luacheck over a solution, a multi-endpoint file one section at a time.

luacheck reads a file as one chunk; a file of several `--#ENDPOINT` (or `--#EVENT`) sections is
several scripts to Murano, and a `return` closing one section before the next header is E011 for the
whole file. Each such section is written to a scratch folder padded with blank lines (the loader's own
split, `solution.headers`), so luacheck's line and column numbers are the original file's; only the
file name is mapped back. Everything else is linted as it is, in one luacheck run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ..errors import UsageError
from ..solution.headers import split_endpoints, split_handlers

CONFIG = ".luacheckrc"
TIMEOUT = 300.0
_PLAIN = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): \((?P<code>[EW]\d+)\) (?P<message>.*)$")
_HEADER = re.compile(r"^\s*--\s*#\s*(ENDPOINT|EVENT)\b", re.IGNORECASE | re.MULTILINE)


class Finding(NamedTuple):
    file: str  # relative to the solution, "/" separators
    line: int
    column: int
    code: str
    message: str

    def line_text(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: ({self.code}) {self.message}"


def sections(rel: str, text: str) -> list[str]:
    """The scripts a file holds, each padded to its original line numbers; [text] for a one-script file."""
    headers = [m.group(1).upper() for m in _HEADER.finditer(text)]
    if len(headers) < 2:
        return [text]
    ignored: list[str] = []  # a malformed header is the loader's to report (`check`, `serve`)
    scripts = split_endpoints(rel, text, ignored) if headers[0] == "ENDPOINT" else split_handlers(rel, text, ignored)
    return [script.source for script in scripts or ()] or [text]


def lua_files(root: Path) -> list[str]:
    """Every .lua file under root, relative; hidden folders (.git, .venv, .murano-sim) left out."""
    found = (p.relative_to(root) for p in root.rglob("*.lua") if p.is_file())
    return sorted(p.as_posix() for p in found if not any(part.startswith(".") for part in p.parts[:-1]))


def lint(root: Path, generated: Callable[[Path], dict[str, str]]) -> tuple[list[Finding], int]:
    """luacheck's findings over root's Lua files, and its exit status (0 clean, 1 warnings, 2 errors).

    generated(root) gives the editor files `stubs` writes, for a solution without its own .luacheckrc.
    """
    luacheck = shutil.which("luacheck")
    if luacheck is None:
        raise UsageError("luacheck is not installed (Debian/Ubuntu: apt install lua-check; "
                         "elsewhere: luarocks install luacheck); lint runs it")
    if not root.is_dir():
        raise UsageError(f"{root}: no such directory")
    own = root / CONFIG
    config = own.read_text(encoding="utf-8") if own.is_file() else generated(root)[CONFIG]
    names: dict[str, str] = {}  # scratch path -> the file it came from
    with tempfile.TemporaryDirectory(prefix="murano-sim-lint-") as scratch:
        base = Path(scratch)
        (base / CONFIG).write_text(config, encoding="utf-8")
        for rel in lua_files(root):
            text = (root / rel).read_text(encoding="utf-8", errors="replace")
            parts = sections(rel, text)
            for number, source in enumerate(parts, start=1):
                # a section keeps the file's folder and name stem, so the config's patterns still apply
                name = rel if len(parts) == 1 else f"{rel[:-len('.lua')]}@section{number}.lua"
                (base / name).parent.mkdir(parents=True, exist_ok=True)
                (base / name).write_text(source, encoding="utf-8")
                names[name] = rel
        if not names:
            return [], 0
        done = subprocess.run([luacheck, "--codes", "--no-color", "--formatter", "plain", "--config", CONFIG,
                               *names], cwd=base, capture_output=True, text=True, timeout=TIMEOUT)
    if done.returncode > 2:  # luacheck itself failed (a broken .luacheckrc): its first line says why
        reason = (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").splitlines()[0]
        raise UsageError(f"luacheck: {reason}")
    findings = []
    for line in done.stdout.splitlines():
        match = _PLAIN.match(line)
        if match:
            findings.append(Finding(names.get(match["file"], match["file"]), int(match["line"]),
                                    int(match["column"]), match["code"], match["message"]))
    findings.sort(key=lambda f: (f.file, f.line, f.column))
    return findings, done.returncode
