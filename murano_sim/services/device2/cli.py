"""`murano-sim device`: act as a device over serve's device API (the command this service adds)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any


def register(subparsers: Any) -> Mapping[str, Callable[[argparse.Namespace], int]]:
    device = subparsers.add_parser(
        "device", description="act as a device over serve's device API: provision IDENTITY | "
        "write IDENTITY a=v ... | read IDENTITY alias ... (the token is kept in --token-file)")
    device.add_argument("--url", required=True, help="the device API, e.g. http://127.0.0.1:PORT (serve prints it)")
    device.add_argument("--token-file", metavar="FILE",
                        help="where tokens are kept (default ./.murano-sim-devices.json)")
    device.add_argument("action", choices=["provision", "write", "read"])
    device.add_argument("identity", metavar="IDENTITY")
    device.add_argument("items", nargs="*", metavar="ALIAS[=VALUE]", help="write: alias=value ...; read: alias ...")
    return {"device": _device}


def _device(args: argparse.Namespace) -> int:
    from .client import main_device  # here: `requests` loads only for this command

    return main_device(args.url, args.action, args.identity, args.items, args.token_file)
