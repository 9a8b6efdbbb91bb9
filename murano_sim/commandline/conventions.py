"""What every murano-sim command shares: -v/-q, --json where it prints results, and `completion`.

A command gets -v/-q by being registered (`apply` walks every subparser once all are added); a
command that prints results declares `--json` with `json_option(parser)`, and `apply` lists it in
JSON_COMMANDS (the list the tests and docs/cli-conventions.md check). -v and -q set the level of the
`murano_sim` logger, which the loader, the services and serve's notes write to.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import Any

QUIET, NORMAL, VERBOSE = logging.ERROR, logging.INFO, logging.DEBUG
SHELLS = ("bash", "zsh")


def json_option(parser: argparse.ArgumentParser, what: str = "print the result as JSON") -> None:
    """--json on a command that prints results."""
    parser.add_argument("--json", action="store_true", help=what)


def apply(commands: Any) -> list[str]:
    """-v/-q on every command; returns the commands that take --json."""
    with_json = []
    for name, parser in commands.choices.items():
        options = parser._option_string_actions  # argparse's map of the options a parser knows
        if "-v" not in options and "-q" not in options:
            loudness = parser.add_mutually_exclusive_group()
            loudness.add_argument("-v", "--verbose", action="store_const", dest="loudness", const=VERBOSE,
                                  help="also print the loader's and the services' debug lines (on stderr)")
            loudness.add_argument("-q", "--quiet", action="store_const", dest="loudness", const=QUIET,
                                  help="print only results and errors")
        if "--json" in options:
            with_json.append(name)
    return with_json


_before: list[int] = []  # the logger's level before set_loudness, for restore_loudness


def set_loudness(args: argparse.Namespace) -> None:
    """The `murano_sim` logger's level for this command (-v: DEBUG, -q: ERROR, else INFO), to stderr."""
    level = getattr(args, "loudness", None) or NORMAL
    logger = logging.getLogger("murano_sim")
    _before.append(logger.level)
    logger.setLevel(level)
    if not any(getattr(h, "murano_sim_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("murano-sim: %(name)s: %(message)s"))
        handler.murano_sim_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def restore_loudness() -> None:
    """Undo set_loudness when the command ends: main() called in a process that goes on (a test, a
    script) leaves the library's logger as it found it, and no handler on a stderr that may be gone."""
    logger = logging.getLogger("murano_sim")
    for handler in [h for h in logger.handlers if getattr(h, "murano_sim_cli", False)]:
        logger.removeHandler(handler)
    if _before:
        logger.setLevel(_before.pop())


def register_completion(commands: Any, parser: argparse.ArgumentParser) -> dict[str, Callable[..., int]]:
    """`murano-sim completion bash|zsh`: print the shell's completion script (shtab, from the parser)."""
    completion = commands.add_parser(
        "completion", description="print a shell completion script: "
        "eval \"$(murano-sim completion bash)\" in ~/.bashrc, or murano-sim completion zsh > ~/.zfunc/_murano-sim")
    completion.add_argument("shell", choices=SHELLS)

    def run(args: argparse.Namespace) -> int:
        import shtab  # here: only this command needs it

        sys.stdout.write(shtab.complete(parser, shell=args.shell) + "\n")
        return 0

    return {"completion": run}
