"""The murano-sim command: run a script, serve or check a solution, and the commands each service adds."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .commandline import conventions
from .config import trust
from .config.trust import TRUST_ENV
from .errors import MuranoSimError, UsageError
from .net.ports import port_number
from .runtime.request import check_request
from .scaffold.cli import add_commands as scaffold_commands
from .services.plugin import discover, load_attribute
from .solution import logs_cli, remote

EXIT_OK, EXIT_SCRIPT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C

DESCRIPTION = """\
Run Exosite Murano Lua scripts locally, sandboxed and limited as Murano runs them.

commands:
{commands}
Configuration comes from --config FILE, else the solution's config.yaml (serve, check, run
inside a solution), else ./config.yaml if present, else built-in defaults (every service local,
demonstration credentials). A bad port or address is one line and exit status 2.
A config file that is not trusted reads only murano-sim's own ${{VAR}}s (MURANO_SIM_* and the
variables a service names for its credentials) and reaches only loopback: see `trust`, --trust,
MURANO_SIM_TRUST=1.

exit status:
  0    done (serve: stopped by Ctrl-C or SIGTERM)
  1    the script failed (error or limit); check: the solution has errors
  2    a usage or configuration error (one line on stderr)
  3    an internal error of murano-sim (MURANO_SIM_DEBUG=1 shows the traceback)
  130  interrupted by Ctrl-C
"""

# The core commands' lines in --help; a service's commands show their parser's description.
CORE_HELP = {
    "run": ("run SCRIPT", "run one script; print one JSON object:\n"
            '{"response": {"code", "message", "headers"}, "logs", "calls", "error"}\n'
            "exit 0 when the script finished, 1 when it failed (error or limit),\n"
            "2 for a usage or configuration error"),
    "serve": ("serve SOLUTION_DIR", "serve a whole Murano solution over HTTP (endpoints, the console;\n"
              "the services' own ports, such as the device API, beside it)"),
    "check": ("check SOLUTION_DIR", "load a solution and its config.yaml without serving it; print what\n"
              "was found and every warning; exit 0 when it loads without errors,\n"
              "1 on errors (e.g. a Lua syntax error), 2 for a usage or config error"),
    "trust": ("trust [DIR]", "trust DIR/config.yaml as it is now: its ${VAR}s and hosts beyond loopback\n"
              "(--revoke forgets it; a change to the file needs trust again)"),
}


def _help_lines(commands: Any) -> str:
    """One entry per command, core ones first, then each service's (from its parser's description)."""
    lines = []
    for name, parser in commands.choices.items():
        head, text = CORE_HELP.get(name, (name, parser.description or ""))
        first, *rest = textwrap.wrap(text.replace("\n", " "), 66) if name not in CORE_HELP else text.split("\n")
        lines.append(f"  {head:<20}  {first}" if len(head) < 20 else f"  {head}\n{'':24}{first}")
        lines.extend(f"{'':24}{line}" for line in rest)
    return "\n".join(lines) + "\n"


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line on stderr (exit 2)."""

    handlers: dict[str, Callable[[argparse.Namespace], int]] = {}  # the top parser's: command -> handler
    commands: Mapping[str, argparse.ArgumentParser] = {}  # the top parser's: command -> its parser
    json_commands: list[str] = []  # the top parser's: the commands that take --json

    def error(self, message: str) -> NoReturn:
        # self.prog is "murano-sim check" for a subcommand's parser: its help is the one that helps.
        self.exit(EXIT_USAGE, f"murano-sim: {message} (see {self.prog} --help)\n")


def build_parser() -> _Parser:
    """The command line: the core commands, then every service's own (its plugin's `cli`)."""
    parser = _Parser(prog="murano-sim", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"murano-sim {__version__}")
    # No help= per command: the description above lists each command once.
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    run = commands.add_parser("run", description="run one Lua script and print its result as JSON")
    run.add_argument("script", metavar="SCRIPT", help="path of the Lua script, or - to read it from stdin")
    run.add_argument(
        "--solution", metavar="DIR",
        help="run inside this solution (its modules, init.lua, handle_* functions); default: the solution "
        "that encloses the script (a folder with murano.yaml, *.murano, Solutionfile.json, endpoints/, "
        "routes/, modules/ or services/), if any",
    )
    run.add_argument("--endpoint", metavar='"METHOD /path"', help="the endpoint section of a multi-endpoint file")
    run.add_argument("--pretty", action="store_true", help="indent the JSON output")
    conventions.json_option(run, "print the result as one JSON object (always so; accepted for uniformity)")
    run.add_argument("--config", metavar="FILE", help="config.yaml to use (default: ./config.yaml if present)")
    run.add_argument(
        "--request",
        metavar="JSON|@FILE",
        help="the request object as JSON, or @FILE to read it from a file: "
        '{"method", "uri", "route", "parameters", "headers", "body", ...}',
    )

    serve = commands.add_parser("serve", description="serve a Murano solution's endpoints over HTTP")
    serve.add_argument("solution", metavar="SOLUTION_DIR", help="the solution's directory")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=port_number, default=8080, help="port (default 8080; 0 picks a free one)")
    serve.add_argument("--config", metavar="FILE",
                       help="config.yaml to use (default: SOLUTION_DIR/config.yaml, else ./config.yaml, "
                       "else built-in defaults: every service local, demo credentials)")
    conventions.json_option(serve, "log one JSON object per line")
    serve.add_argument(
        "--state", metavar="FILE",
        help="keep the solution's state (every service's data) in this SQLite file; reloaded on restart",
    )
    serve.add_argument("--device-port", type=port_number, default=0,
                       help="port of the device HTTP API (default 0: a free one; printed as the second line)")
    serve.add_argument("--mqtt-port", type=port_number, default=0,
                       help="port of the MQTT device API (default 0: a free one; printed as `mqtt: URL`)")
    serve.add_argument("--product", metavar="PRODUCT_DIR[:ALIAS]",
                       help="serve a product solution too, which SOLUTION_DIR subscribes to as ALIAS (default: the "
                       "folder's name): its Interface operations are ALIAS's, its events reach `ALIAS <event>` "
                       "handlers; it gets its own port (third line) and the device API serves its devices")

    serve.add_argument("--no-rate-limit", action="store_true",
                       help="do not enforce --#RATELIMIT and the Webservice rate_limit (all loopback clients "
                       "share one per-address bucket)")

    check = commands.add_parser("check", description="load a solution without serving it and report what was found")
    check.add_argument("solution", metavar="SOLUTION_DIR", help="the solution's directory")
    conventions.json_option(check, "print the report as one JSON object")
    check.add_argument("--config", metavar="FILE",
                       help="config.yaml to validate (default: SOLUTION_DIR/config.yaml, else ./config.yaml)")

    trust = commands.add_parser("trust", description="trust a solution's config.yaml as it is now: its ${VAR}s "
                                "and its hosts beyond loopback (recorded in the user's data directory)")
    trust.add_argument("target", nargs="?", default=".", metavar="DIR",
                       help="the folder of the config.yaml, or the file itself (default: .)")
    trust.add_argument("--revoke", action="store_true", help="forget the record")
    conventions.json_option(trust, "print the outcome as one JSON object")
    for command in (run, serve, check):
        command.add_argument("--trust", action="store_true",
                             help="let the config file read any ${VAR} and reach hosts beyond loopback "
                             f"(as {TRUST_ENV}=1; see murano-sim trust)")

    parser.commands = commands.choices
    parser.handlers = {"run": _run, "serve": _serve, "check": _check, "trust": _trust, **scaffold_commands(commands)}
    parser.handlers.update(remote.register(commands))  # reset, snapshot: a running serve's state
    parser.handlers.update(logs_cli.add_commands(commands))
    for plugin in discover():
        if plugin.cli:
            parser.handlers.update(load_attribute(plugin.cli)(commands))
    parser.handlers.update(conventions.register_completion(commands, parser))
    parser.json_commands = conventions.apply(commands)  # -v/-q on every command
    parser.description = DESCRIPTION.format(commands=_help_lines(commands))
    return parser


def parse_request(value: str | None) -> dict[str, Any] | None:
    """--request: inline JSON or @FILE holding JSON; must be an object."""
    if value is None:
        return None
    where = "--request"
    if value.startswith("@"):
        path = Path(value[1:])
        where = str(path)
        try:
            value = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{path}: cannot read request file ({exc.strerror or exc})") from None
    try:
        request = json.loads(value)
    except ValueError as exc:
        raise UsageError(f"{where}: invalid JSON ({exc})") from None
    return check_request(request, where)


def _run(args: argparse.Namespace) -> int:
    from .solution.scriptrun import run_script

    request = parse_request(args.request)
    if args.script == "-":
        source, script = sys.stdin.read(), None
    else:
        script = Path(args.script)
        if not script.is_file():
            raise UsageError(f"{args.script}: no such script")
        try:
            source = script.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{script}: cannot read script ({exc})") from None
    result = run_script(source, script, request, config=args.config, solution=args.solution, endpoint=args.endpoint)
    text = json.dumps(result.to_dict(), ensure_ascii=False, indent=2 if args.pretty else None)
    _write_stdout(text + "\n")
    return EXIT_OK if result.error is None else EXIT_SCRIPT_FAILED


def _write_stdout(text: str) -> None:
    """Print, where a reader that went away (`| head`) is not an error of ours."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at /dev/null so that the interpreter's final flush does not complain.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _serve(args: argparse.Namespace) -> int:
    from .console import Console
    from .solution.server import main_serve

    return main_serve(args.solution, args.host, args.port, args.config, json_logs=args.json,
                      device_port=args.device_port, state_path=args.state, product=args.product,
                      surfaces=(Console,), ports={"mqtt": args.mqtt_port}, rate_limits=not args.no_rate_limit)


def _check(args: argparse.Namespace) -> int:
    from .solution.loader import load_solution
    from .solution.report import format_report, solution_report
    from .solution.solution_config import config_for

    # As serve reads it: a typo, a YAML error or a tab is one line with file:line and exit 2.
    config = config_for(args.solution, args.config)
    report = solution_report(load_solution(args.solution))
    report["warnings"][:0] = config.warnings  # the same lines serve prints at start
    print(json.dumps(report, ensure_ascii=False) if args.json else format_report(report))
    return EXIT_SCRIPT_FAILED if report["errors"] else EXIT_OK


def _trust(args: argparse.Namespace) -> int:
    if args.revoke:
        path, had = trust.revoke(args.target)
        outcome = {"file": str(path), "trusted": False, "was_trusted": had}
        text = f"murano-sim: {path}: {'no longer trusted' if had else 'was not trusted'}"
    else:
        path = trust.record(args.target)
        outcome = {"file": str(path), "trusted": True, "recorded_in": str(trust.data_dir())}
        text = (f"murano-sim: {path}: trusted as it is now (recorded in {trust.data_dir()}); "
                "a change to it needs `murano-sim trust` again")
    print(json.dumps(outcome) if args.json else text)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C while the parser or a service's commands load
        return EXIT_INTERRUPTED
    finally:
        conventions.restore_loudness()


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # argparse reports these from the top parser; the subcommand's help is the one that lists its options
        parser.commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    handler = parser.handlers[args.command]
    conventions.set_loudness(args)
    try:
        # The command line is where a repository's config.yaml is untrusted; the library API is not.
        with trust.consent_scope(trust.cli_consent(getattr(args, "trust", False))):
            return handler(args)
    except MuranoSimError as exc:
        print(f"murano-sim: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("murano-sim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a defect of ours: one line, traceback only on request
        if os.environ.get("MURANO_SIM_DEBUG"):
            raise
        print(f"murano-sim: internal error: {type(exc).__name__}: {exc} (set MURANO_SIM_DEBUG=1 for details)",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
