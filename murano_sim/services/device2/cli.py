"""`murano-sim device`: act as a device over serve's device API (the command this service adds)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any


def register(subparsers: Any) -> Mapping[str, Callable[[argparse.Namespace], int]]:
    device = subparsers.add_parser(
        "device", description="act as a device over serve's device API (HTTP, or MQTT with --mqtt): "
        "provision IDENTITY | write IDENTITY a=v ... | read IDENTITY alias ... (the token is kept in --token-file)")
    where = device.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="the device API, e.g. http://127.0.0.1:PORT (serve prints it)")
    where.add_argument("--mqtt", metavar="URL", help="act as an MQTT device instead: serve's `mqtt:` URL, "
                       "e.g. mqtts://127.0.0.1:PORT (TLS verified against murano-sim's CA)")
    device.add_argument("--ca", metavar="FILE", help="--mqtt: the CA file (default: murano-sim's local CA)")
    device.add_argument("--wait", type=float, metavar="SECONDS",
                        help="--mqtt read: wait this long for the named values (default 30)")
    device.add_argument("--token-file", metavar="FILE",
                        help="where tokens are kept (default ./.murano-sim-devices.json)")
    device.add_argument("action", choices=["provision", "write", "read"])
    device.add_argument("identity", metavar="IDENTITY")
    device.add_argument("items", nargs="*", metavar="ALIAS[=VALUE]", help="write: alias=value ...; read: alias ...")
    return {"device": _device}


def _device(args: argparse.Namespace) -> int:
    if args.mqtt:
        from .mqtt_client import main_mqtt_device  # here: paho-mqtt loads only for this command

        return main_mqtt_device(args.mqtt, args.action, args.identity, args.items, args.token_file, args.ca,
                                args.wait)
    from .client import main_device  # here: `requests` loads only for this command

    return main_device(args.url, args.action, args.identity, args.items, args.token_file)
