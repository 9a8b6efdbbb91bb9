"""`murano-sim logs`: a served solution's log, as MuranoCLI's `murano logs -f` and `wrangler tail` show it.

It reads a running `serve` (its /_murano-sim/api/logs, long-polled) or a `--state` file's history.
Only the standard library loads here: the command starts fast and never imports the server.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .logstore import LogFilter, read_state_file, severity_rank
from .remote import serve_url
from .requestlog import render_text

API_PATH = "/_murano-sim/api/logs"
POLL_SECONDS = 20  # a long poll's length: the server answers at once when a record arrives
STATE_POLL_SECONDS = 0.5  # --state --follow rereads the file this often (no server to wait on)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback never goes through a proxy

DESCRIPTION = ("show a solution's log (as `murano logs -f`): a running serve's (--url, default the serve of the "
               "solution in this folder) or a --state file's history; filter by endpoint, handler, severity, "
               "service or text; -f follows new records")


def add_commands(commands: Any) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Register `logs` on the CLI's subparsers; answers its handler."""
    logs = commands.add_parser("logs", description=DESCRIPTION)
    source = logs.add_mutually_exclusive_group()
    source.add_argument("--url", help="the serve to read, e.g. http://127.0.0.1:8080 (default: the serve of the "
                        "solution in this folder or above it, as serve records it)")
    source.add_argument("--state", metavar="FILE", help="read the log kept in this serve --state file "
                        "(serve stopped or running)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new records until Ctrl-C "
                      "(or until the serve stops)")
    logs.add_argument("--endpoint", metavar="PATH", help='endpoint runs: a route ("/users/{id}", globs allowed) '
                      'or "METHOD /route"')
    logs.add_argument("--handler", metavar='"SERVICE EVENT"', help='event handler runs: "device2 event", or a '
                      "service or event name alone (timer)")
    logs.add_argument("--severity", metavar="LEVEL", help="this severity or a more severe one: emergency, alert, "
                      "critical, error, warning, notice, info, debug (or 0-7)")
    logs.add_argument("--service", metavar="ALIAS", help="runs of this service's events, and calls to it "
                      "(webservice, keystore, device2, ...)")
    logs.add_argument("--grep", metavar="TEXT", help="records containing TEXT (case-insensitive)")
    logs.add_argument("-n", "--lines", type=_count, default=None, metavar="N",
                      help="start with the last N matching records (default: all kept; 0: only new ones)")
    logs.add_argument("--json", action="store_true", help="one JSON object per line")
    return {"logs": run}


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    where = LogFilter(endpoint=args.endpoint, handler=args.handler, severity=args.severity,
                      service=args.service, grep=args.grep)
    if where.severity is not None:
        severity_rank(where.severity)  # a bad level is one line before anything is read
    show = _printer(args.json)
    if args.state:
        return _from_state(Path(args.state), where, args.follow, args.lines, show)
    return _from_server(serve_url(args.url), where, args.follow, args.lines, show)


def _printer(as_json: bool) -> Callable[[Iterable[dict[str, Any]]], None]:
    shown: list[str] = []  # the last runs whose script line was printed (a call below one is indented)

    def pretty(record: dict[str, Any]) -> str:
        request_id = str(record.get("request_id"))
        if record.get("type") == "script":
            shown[:] = [*shown[-99:], request_id]
        elif record.get("type") == "service_call" and request_id not in shown:
            # a call whose run the filter left out: say which run made it
            return f"{record.get('timestamp')} [{record.get('service')}] {record.get('event')}\n{render_text(record)}"
        return render_text(record)

    def show(records: Iterable[dict[str, Any]]) -> None:
        lines = [json.dumps(r, ensure_ascii=False, default=str) if as_json else pretty(r) for r in records]
        if lines:
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()
    return show


def _from_state(path: Path, where: LogFilter, follow: bool, lines: int | None,
                show: Callable[[Iterable[dict[str, Any]]], None]) -> int:
    records = read_state_file(path, where)
    show(_tail(records, lines))
    cursor = records[-1]["id"] if records else 0
    while follow:
        time.sleep(STATE_POLL_SECONDS)
        records = read_state_file(path, where, after=cursor)
        show(records)
        cursor = records[-1]["id"] if records else cursor
    return 0


def _tail(records: list[dict[str, Any]], lines: int | None) -> list[dict[str, Any]]:
    return records if lines is None else records[len(records) - lines:] if lines else []


def _from_server(base: str, where: LogFilter, follow: bool, lines: int | None,
                 show: Callable[[Iterable[dict[str, Any]]], None]) -> int:
    query = where.query()
    first = _get(base, {**query, "after": "0", **({"limit": str(lines)} if lines is not None else {})})
    show(first["records"] if lines != 0 else [])
    cursor = int(first["last"])
    while follow:
        try:
            answer = _get(base, {**query, "after": str(cursor), "wait": str(POLL_SECONDS)})
        except _Gone:
            print(f"murano-sim: the serve at {base} stopped", file=sys.stderr)
            return 0
        show(answer["records"])
        cursor = int(answer["last"])
    return 0


class _Gone(UsageError):
    """The serve is not (or no longer) answering."""


def _get(base: str, query: dict[str, str]) -> dict[str, Any]:
    url = f"{base}{API_PATH}?{urllib.parse.urlencode(query)}"
    try:
        with _OPENER.open(url, timeout=POLL_SECONDS + 10) as response:
            data = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise UsageError(f"{base}: {_reason(exc)}") from None
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Gone(f"{base}: no murano-sim serve answers there ({reason})") from None
    except ValueError:
        raise UsageError(f"{base}: the answer is not murano-sim's log API (is this a murano-sim serve?)") from None
    if not isinstance(data, dict) or not isinstance(data.get("records"), list):
        raise UsageError(f"{base}: the answer is not murano-sim's log API (is this a murano-sim serve?)")
    return data


def _reason(exc: urllib.error.HTTPError) -> str:
    try:
        error = json.loads(exc.read().decode("utf-8")).get("error")
    except (ValueError, AttributeError, OSError):
        error = None
    return f"HTTP {exc.code}: {error or exc.reason}"
