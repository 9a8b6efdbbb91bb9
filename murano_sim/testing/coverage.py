"""pytest --murano-cov: Lua line coverage of the solution under test (docs/coverage.md).

The runtime counts lines (murano_sim/lua/coverage.py) of every chunk any test ran; here each
chunk is matched to its file under the rootdir (or the --murano-cov-source DIRs) and reported.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..errors import MuranoSimError
from ..lua import coverage
from . import coverage_reports
from .collect import is_lua_test_file
from .coverage_reports import FileReport

COVERAGE_KEY = pytest.StashKey["CoverageSession"]()
WORKER_KEY = "murano_sim_coverage"
DEFAULT_PATHS = {"lcov": "coverage.lcov", "xml": "coverage.xml"}
# Folders never searched for solution files.
SKIPPED_DIRS = {"node_modules", "__pycache__", "venv", "site-packages"}


@dataclass
class CoverageSession:
    roots: list[Path]  # the --murano-cov-source DIRs: every .lua file under them is reported, run or not
    reports: list[tuple[str, Path | None]]  # ("term", None), ("lcov", path), ("xml", path)
    base: Path  # paths in reports are relative to it (the rootdir)
    collector: coverage.LineCoverage


def add_options(group: Any) -> None:
    group.addoption(
        "--murano-cov", action="store_true", default=False,
        help="measure Lua line coverage of the solution's endpoints, handlers and modules (docs/coverage.md)",
    )
    group.addoption(
        "--murano-cov-source", action="append", default=None, metavar="DIR",
        help="with --murano-cov: report every .lua file under DIR, run or not (default: the files "
        "the tests ran); repeatable",
    )
    group.addoption(
        "--murano-cov-report", action="append", default=None, metavar="TYPE",
        help="coverage report: term (default), lcov[:PATH] (coverage.lcov), xml[:PATH] (Cobertura, "
        "coverage.xml); repeatable",
    )


def configure(config: pytest.Config) -> None:
    """Start counting when --murano-cov is given (before any runtime runs a line)."""
    given = config.getoption("murano_cov_source") or []
    if not config.getoption("murano_cov"):
        if config.getoption("murano_cov_report") or given:
            raise pytest.UsageError("--murano-cov-report and --murano-cov-source need --murano-cov")
        return
    invoked = Path(config.invocation_params.dir)
    roots = [(invoked / d).resolve() for d in given]
    for root in roots:
        if not root.is_dir():
            raise pytest.UsageError(f"--murano-cov-source {root}: not a folder")
    reports = [parse_report(r, invoked) for r in config.getoption("murano_cov_report") or ["term"]]
    try:
        coverage.executable_lines("")  # refuses, one line, on a lupa without LuaJIT
    except MuranoSimError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[COVERAGE_KEY] = CoverageSession(roots, reports, Path(config.rootpath), coverage.start())


def parse_report(text: str, base: Path) -> tuple[str, Path | None]:
    kind, _, path = text.partition(":")
    if kind == "term" and not path:
        return "term", None
    if kind in DEFAULT_PATHS:
        return kind, base / (path or DEFAULT_PATHS[kind])
    raise pytest.UsageError(f"--murano-cov-report {text}: expected term, lcov[:PATH] or xml[:PATH]")


def unconfigure(config: pytest.Config) -> None:
    if COVERAGE_KEY in config.stash:
        coverage.stop()


def worker_output(config: pytest.Config, workeroutput: dict[str, Any]) -> None:
    """An xdist worker hands its counts to the controller (JSON-safe)."""
    if COVERAGE_KEY in config.stash:
        workeroutput[WORKER_KEY] = [
            {"name": f.name, "source": f.source, "hits": {str(k): v for k, v in f.hits.items()}}
            for f in config.stash[COVERAGE_KEY].collector.data()
        ]


def merge_worker(config: pytest.Config, workeroutput: dict[str, Any]) -> None:
    if COVERAGE_KEY in config.stash:
        for f in workeroutput.get(WORKER_KEY, []):
            config.stash[COVERAGE_KEY].collector.add(f["name"], f["source"], {int(k): v for k, v in f["hits"].items()})


def report(config: pytest.Config, write_line: Any) -> None:
    """Print the table and write the files (the controller's, or a session's without xdist)."""
    if COVERAGE_KEY not in config.stash or hasattr(config, "workeroutput"):
        return
    session = config.stash[COVERAGE_KEY]
    files = reports_of(session.collector.data(), session.roots or [session.base], bool(session.roots), session.base)
    for kind, path in session.reports:
        if kind == "term":
            write_line("murano-sim Lua coverage")
            for line in coverage_reports.term(files):
                write_line(line)
            continue
        assert path is not None
        text = coverage_reports.lcov(files) if kind == "lcov" else coverage_reports.cobertura(files, session.base)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            write_line(f"murano-sim: cannot write the coverage report {path}: {exc.strerror or exc}")
            continue
        write_line(f"murano-sim: Lua coverage {kind.upper()} written to {path}")


def solution_files(roots: Iterable[Path]) -> list[Path]:
    """Every .lua file under the roots that a solution deploys (no *_test.lua, no hidden folders)."""
    found: list[Path] = []
    for root in roots:
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
            found.extend(Path(folder) / n for n in sorted(names)
                         if n.endswith(".lua") and not is_lua_test_file(Path(n)))
    return found


def reports_of(data: Sequence[coverage.FileCoverage], roots: Sequence[Path], every_file: bool,
               base: Path) -> list[FileReport]:
    """Each chunk's counts on the file it came from, matched by the chunk's name (the file's path
    from the solution root) and its text (a handler's chunk wraps the file's text; an inline
    script of a test is no file and is left out). every_file: files no test ran are listed too."""
    files = solution_files(roots)
    texts: dict[Path, str | None] = {}
    hits: dict[Path, dict[int, int]] = {}

    def text_of(path: Path) -> str | None:
        if path not in texts:
            try:
                texts[path] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                texts[path] = None
        return texts[path]

    for chunk in data:
        name = chunk.name.removeprefix("./")
        chunk_lines = chunk.source.split("\n")
        for path in files:
            text = text_of(path) if path.as_posix().endswith("/" + name) else None
            if text is None:
                continue
            counts = _on_file(chunk.hits, chunk_lines, text, name)
            if counts is not None:
                merged = hits.setdefault(path, {})
                for line, n in counts.items():
                    merged[line] = merged.get(line, 0) + n
    if every_file:
        for path in files:
            text = text_of(path)
            if text is not None and path not in hits:
                hits[path] = dict.fromkeys(coverage.executable_lines(text, path.name), 0)
    return [FileReport(_relative(path, base), counts) for path, counts in sorted(hits.items())]


def _on_file(hits: dict[int, int], chunk_lines: list[str], text: str, name: str) -> dict[int, int] | None:
    """A chunk's counts on the file it was made from, or None if it was made from another text.

    The loader may blank a header line (--#ENDPOINT) or wrap a handler's body (a header on its
    first line, an `end` after its last): a line counts when the file's own compile has code on
    it and the chunk holds the same text there (or ends with it: a wrapped first line)."""
    file_lines = text.split("\n")
    own = coverage.executable_lines(text, name) or None  # None: the file alone does not compile
    counts: dict[int, int] = {}
    for line, n in hits.items():
        if line > len(file_lines) or (own is not None and line not in own):
            continue
        theirs, mine = chunk_lines[line - 1], file_lines[line - 1]
        if theirs != mine and not (mine.strip() and theirs.endswith(mine)):
            return None
        counts[line] = n
    return counts


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
