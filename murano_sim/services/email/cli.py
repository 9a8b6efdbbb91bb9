"""`murano-sim outbox`: the emails a solution sent, read from serve's state file (the command this service adds)."""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ...errors import UsageError


def register(subparsers: Any) -> Mapping[str, Callable[[argparse.Namespace], int]]:
    outbox = subparsers.add_parser(
        "outbox", description="list the emails a solution sent (Email.send), from its state file (serve --state)")
    outbox.add_argument("--state", required=True, metavar="FILE", help="the solution's state file (serve --state)")
    outbox.add_argument("--json", action="store_true", help="print the messages as one JSON array")
    return {"outbox": _outbox}


def _outbox(args: argparse.Namespace) -> int:
    from .model import read_outbox  # here: the model (smtplib, ssl) loads only for this command

    path = Path(args.state)
    if not path.is_file():
        raise UsageError(f"{path}: no such state file")
    db = sqlite3.connect(path)
    try:
        messages = read_outbox(db)
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{path}: not a murano-sim state file ({exc})") from None
    finally:
        db.close()
    if args.json:
        print(json.dumps(messages, ensure_ascii=False))
    for message in [] if args.json else messages:
        print(f"#{message['id']} {message['date']} {message['from']} -> {', '.join(message['to'])}: "
              f"{message['subject']}")
    return 0
