"""`murano-sim device`: act as a device over serve's device API (the command this service adds)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any

from ...commandline.conventions import json_option
from ...errors import UsageError


def register(subparsers: Any) -> Mapping[str, Callable[[argparse.Namespace], int]]:
    device = subparsers.add_parser(
        "device", description="act as a device over serve's device API (HTTP, or MQTT with --mqtt): "
        "provision IDENTITY | write IDENTITY a=v ... | read IDENTITY alias ... (the token is kept in --token-file)")
    where = device.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="the device API, e.g. http://127.0.0.1:PORT (serve prints it)")
    where.add_argument("--mqtt", metavar="URL", help="act as an MQTT device instead: serve's `mqtt:` URL, "
                       "e.g. mqtts://127.0.0.1:PORT (TLS verified against murano-sim's CA)")
    device.add_argument("--ca", metavar="FILE", help="--mqtt only: the CA file (default: murano-sim's local CA)")
    device.add_argument("--wait", type=float, metavar="SECONDS",
                        help="--mqtt read only: wait this long for the named values (default 30)")
    device.add_argument("--token-file", metavar="FILE",
                        help="where tokens are kept (default ./.murano-sim-devices.json)")
    json_option(device, "print each result as one JSON object: {identity, provisioned, token_file}, "
                "{identity, wrote}, or {identity, values} (--mqtt read: also missing)")
    device.add_argument("action", choices=["provision", "write", "read"])
    device.add_argument("identity", metavar="IDENTITY")
    device.add_argument("items", nargs="*", metavar="ALIAS[=VALUE]", help="write: alias=value ...; read: alias ...")
    return {"device": _device}


def _device(args: argparse.Namespace) -> int:
    # HTTP has no TLS to verify nor deliveries to wait for: an option that would do nothing is refused
    unused = [flag for flag, value in (("--ca", args.ca), ("--wait", args.wait)) if value is not None]
    if args.url and unused:
        raise UsageError(f"{' and '.join(unused)} apply to --mqtt only, not --url (HTTP)")
    if args.mqtt and args.wait is not None and args.action != "read":
        raise UsageError("--wait applies to read only")
    if args.mqtt:
        from .mqtt_client import main_mqtt_device  # here: paho-mqtt loads only for this command

        return main_mqtt_device(args.mqtt, args.action, args.identity, args.items, args.token_file, args.ca,
                                args.wait, args.json)
    from .client import main_device  # here: `requests` loads only for this command

    return main_device(args.url, args.action, args.identity, args.items, args.token_file, args.json)
