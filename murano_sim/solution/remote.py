"""Commands that act on a running `serve` through its console API: `reset` and `snapshot`.

`serve_url` is the one place that says how a command finds the serve (`--url`, else the serve
that recorded itself for the current folder or one above it: never a guess); `console_request`
makes one call to its /_murano-sim/api. Standard library only:
these commands start fast.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..errors import UsageError
from ..net.hosts import is_loopback_host, unambiguous_host
from . import servefile

API = "/_murano-sim/api"
# No proxy from the environment: the serve is on this machine, and its answers stay here.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def serve_url(given: str | None = None) -> str:
    """The running serve's base URL: `given` (--url), else the live serve recorded for the current folder
    or the nearest one above it; loopback only (the console API is a local surface)."""
    if given is None:
        found = servefile.find(Path.cwd())
        if found is None:
            raise UsageError(f"no running `murano-sim serve` of {Path.cwd()} or a folder above it "
                             "(serve records its URL when it starts); pass --url URL")
        given = str(found["url"])
    parts = urllib.parse.urlsplit(given)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url: expected http://HOST:PORT, as `murano-sim serve` prints it, got {given!r}")
    host = unambiguous_host(given)
    if host is None or not is_loopback_host(host):
        raise UsageError(f"--url: {parts.hostname} is not a loopback address; the console API answers loopback only")
    return f"{parts.scheme}://{parts.netloc}"


def console_request(url: str | None, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
    """One call to the console API of the serve at `url`; its JSON answer, or one UsageError line."""
    base = serve_url(url)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{API}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    try:
        with _OPENER.open(request, timeout=60) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise UsageError(f"{base}: {_reason(exc)}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UsageError(f"{base}: no murano-sim serve answers there ({reason}); give its address with --url") from None
    except ValueError:
        raise UsageError(f"{base}: the answer is not JSON: is this a murano-sim serve?") from None


def _reason(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read()).get("error") or exc.reason)
    except (ValueError, AttributeError):
        return f"HTTP {exc.code} {exc.reason}"


def register(subparsers: Any) -> Mapping[str, Callable[[argparse.Namespace], int]]:
    url_help = "the running serve's URL (default: the serve of the current folder or one above it)"
    reset = subparsers.add_parser(
        "reset", description="reset a running serve: every service back to its seeded state, then init.lua runs")
    reset.add_argument("--url", help=url_help)
    reset.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    snapshot = subparsers.add_parser(
        "snapshot", description="save, load, list or delete named snapshots of a running serve's whole state "
        "(every service's data and the clock)")
    snapshot.add_argument("action", choices=("save", "load", "list", "delete"))
    snapshot.add_argument("name", nargs="?", metavar="NAME", help="the snapshot's name (save, load, delete)")
    snapshot.add_argument("--url", help=url_help)
    snapshot.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    return {"reset": _reset, "snapshot": _snapshot}


def _reset(args: argparse.Namespace) -> int:
    answer = console_request(args.url, "POST", "/reset")
    services = len(answer.get("services", []))
    print(json.dumps(answer) if args.json
          else f"reset {serve_url(args.url)}: {services} services back to their seed; init.lua ran")
    return 0


def _snapshot(args: argparse.Namespace) -> int:
    if args.action != "list" and not args.name:
        raise UsageError(f"snapshot {args.action}: give the snapshot's NAME (see murano-sim snapshot --help)")
    if args.action == "list":
        answer = console_request(args.url, "GET", "/snapshots")
        lines = [f"{s['name']:<24} clock {s['clock']}  saved {s['created']}  {s['bytes']} bytes"
                 for s in answer["snapshots"]] or ["no snapshots"]
    elif args.action == "save":
        answer = console_request(args.url, "POST", "/snapshots", {"name": args.name})
        lines = [f"saved {args.name} (clock {answer['saved']['clock']})"]
    elif args.action == "load":
        answer = console_request(args.url, "POST", f"/snapshots/{quote(args.name, safe='')}/load")
        lines = [f"loaded {args.name} (clock {answer['clock'].get('now', '?')})"]
    else:
        answer = console_request(args.url, "DELETE", f"/snapshots/{quote(args.name, safe='')}")
        lines = [f"deleted {args.name}"]
    print(json.dumps(answer) if args.json else "\n".join(lines))
    return 0
