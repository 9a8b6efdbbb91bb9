"""`murano-sim stubs [DIR]` and `murano-sim init [DIR]`: a solution's editor files, and a new solution."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..commandline.conventions import json_option
from ..errors import ConfigError, UsageError

Handler = Callable[[argparse.Namespace], int]


def add_commands(commands: Any) -> dict[str, Handler]:
    """Add `stubs` and `init` to the command line; {command: handler}."""
    stubs = commands.add_parser(
        "stubs", description="write the editor files of a solution from the service specs: LuaLS definitions "
        "(.murano-sim/murano.d.lua, .luarc.json) and a .luacheckrc that knows Murano's globals")
    stubs.add_argument("solution", nargs="?", default=".", metavar="DIR", help="the solution's directory (default: .)")
    stubs.add_argument("--force", action="store_true", help="overwrite files edited since murano-sim wrote them")
    json_option(stubs, "print the files written as one JSON object: {wrote: [path, ...]}")
    init = commands.add_parser(
        "init", description="make a new solution in DIR that passes its own tests: an endpoint, an event "
        "handler, a module, config.yaml, a pytest test and a yaml case, editor files, a CI workflow")
    init.add_argument("solution", nargs="?", default=".", metavar="DIR", help="an empty or new directory (default: .)")
    json_option(init, "print the solution and the files written as one JSON object: {solution, wrote: [path, ...]}")
    lint = commands.add_parser(
        "lint", description="run luacheck on every Lua file of a solution, a file of several --#ENDPOINT or "
        "--#EVENT sections checked section by section (as Murano runs them), with the solution's .luacheckrc "
        "or, without one, the one `stubs` would write; line numbers are the file's")
    lint.add_argument("solution", nargs="?", default=".", metavar="DIR", help="the solution's directory (default: .)")
    json_option(lint, "print the findings as one JSON array of {file, line, column, code, message}")
    return {"stubs": _stubs, "init": _init, "lint": _lint}


def write_stubs(root: Path, *, force: bool = False) -> list[Path]:
    """Write root's editor files, knowing the globals of the solution there (if it is one)."""
    from .stubs import write_files

    return write_files(root, stub_files(root), force=force)


def stub_files(root: Path) -> dict[str, str]:
    """root's editor files, {relative path: content}, knowing the globals of the solution there (if it is one)."""
    from ..solution.loader import load_solution
    from .luaglobals import (
        EXECUTION_GLOBALS,
        Globals,
        extended_fields,
        handler_arguments,
        sandbox_globals,
        solution_globals,
        solution_sources,
        standard_globals,
        test_helpers,
    )
    from .stubs import editor_files

    if not root.is_dir():
        raise UsageError(f"{root}: no such directory")
    platform = sandbox_globals()
    own: tuple[str, ...] = ()
    extended: tuple[tuple[str, str], ...] = ()
    try:
        solution = load_solution(root)
    except ConfigError:  # not a solution (yet): the platform's globals only
        pass
    else:
        own = solution_globals(solution)
        extended = extended_fields(solution_sources(solution), {n for n, g in platform.items() if g.kind == "table"})
    found = Globals(platform=platform, standard=standard_globals(),
                    execution=(*EXECUTION_GLOBALS, *handler_arguments()),
                    solution=own, extended=extended, tests=test_helpers())
    return editor_files(found)


def _stubs(args: argparse.Namespace) -> int:
    written = write_stubs(Path(args.solution), force=args.force)
    if args.json:
        print(json.dumps({"wrote": [str(path) for path in written]}))
    else:
        for path in written:
            print(f"murano-sim: wrote {path}")
    return 0


def _init(args: argparse.Namespace) -> int:
    from .template import create_solution

    root = Path(args.solution)
    written = create_solution(root) + write_stubs(root)
    if args.json:
        print(json.dumps({"solution": str(root), "wrote": [str(path) for path in written]}))
    else:
        print(f"murano-sim: made a solution in {root}; try: cd {root} && pytest")
    return 0


def _lint(args: argparse.Namespace) -> int:
    from .lint import lint

    findings, status = lint(Path(args.solution), stub_files)
    if args.json:
        print(json.dumps([finding._asdict() for finding in findings]))
    else:
        for finding in findings:
            print(finding.line_text())
        print(f"murano-sim: {len(findings)} finding(s) in {args.solution}")
    return status
