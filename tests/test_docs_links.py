"""What the docs name exists: every relative link (file and #anchor), every `murano-sim COMMAND`,
every repository path in backticks, and docs/index.md lists every page of docs/."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from murano_sim.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```\s*$", re.M | re.S)
# A command as typed: in backticks in the prose, or at a line's start in a code block (`$ ` or not).
QUOTED_COMMAND = re.compile(r"`murano-sim ([a-z][a-z0-9-]*)")
TYPED_COMMAND = re.compile(r"^\s*(?:\$ )?murano-sim ([a-z][a-z0-9-]*)", re.M)
# A command with its arguments, to the end of the backticks or of the line.
COMMAND_LINE = re.compile(r"(?:`|^\s*(?:\$ )?)murano-sim ([a-z][a-z0-9-]*)([^`\n]*)", re.M)
# Paths of this repository named in backticks: a top folder we ship, then no pattern characters.
REPO_PATH = re.compile(r"`((?:murano_sim|tests|scripts|docs|\.ci)/[\w./-]*)`")


def doc_id(doc: Path) -> str:
    return doc.relative_to(ROOT).as_posix()


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    text = FENCE.sub("", doc.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.M):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def prose(doc: Path) -> str:
    return doc.read_text(encoding="utf-8")


def test_the_anchor_rule_matches_githubs():
    assert slug("Concurrency: one queue per solution (`murano_sim/solution/turns.py`)") == \
        "concurrency-one-queue-per-solution-murano_simsolutionturnspy"
    assert slug("`murano-sim check DIR`") == "murano-sim-check-dir"


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_relative_link_resolves(doc: Path) -> None:
    broken = []
    for target in LINK.findall(FENCE.sub("", prose(doc))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        linked = (doc.parent / path).resolve() if path else doc
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {doc_id(linked)}")
    assert not broken, f"{doc_id(doc)}: " + "; ".join(broken)


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_murano_sim_command_named_exists(doc: Path) -> None:
    commands = set(build_parser().commands)
    text = prose(doc)
    blocks = "\n".join(FENCE.findall(text))
    named = set(QUOTED_COMMAND.findall(FENCE.sub("", text))) | set(TYPED_COMMAND.findall(blocks))
    assert named <= commands, f"{doc_id(doc)} names commands that do not exist: {sorted(named - commands)}"


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_repository_path_named_exists(doc: Path) -> None:
    missing = [p for p in REPO_PATH.findall(prose(doc))
               if not any(c in p for c in "<*{") and not (ROOT / p.rstrip("/")).exists()]
    assert not missing, f"{doc_id(doc)} names paths that do not exist: {missing}"


def test_the_index_lists_every_page():
    index = ROOT / "docs" / "index.md"
    linked = {(index.parent / target.partition("#")[0]).resolve() for target in LINK.findall(prose(index))}
    pages = {page.resolve() for page in (ROOT / "docs").glob("*.md") if page != index}
    assert not pages - linked, f"docs/index.md does not list {sorted(p.name for p in pages - linked)}"


def test_every_docs_page_the_code_names_exists():
    named = {(path.relative_to(ROOT).as_posix(), page)
             for folder in ("murano_sim", "scripts", "tests") for path in (ROOT / folder).rglob("*.py")
             for page in re.findall(r"docs/[\w./-]+\.md", path.read_text(encoding="utf-8"))}
    missing = sorted(f"{where}: {page}" for where, page in named if not (ROOT / page).exists())
    assert not missing, f"the code names docs pages that do not exist: {missing}"


def _options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option of a command, its own sub-commands' too (`snapshot save --json`)."""
    found = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _options(sub)
    return found


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_option_typed_after_a_command_exists(doc: Path) -> None:
    commands = build_parser().commands
    unknown = sorted({f"murano-sim {command} {flag}" for command, rest in COMMAND_LINE.findall(prose(doc))
                      if command in commands
                      for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", rest)
                      if flag not in _options(commands[command])})
    assert not unknown, f"{doc_id(doc)} names options that do not exist: {unknown}"
