"""Twilio's commands: `murano-sim twilio-emulator` (serve the emulator) and `murano-sim twilio-inbound`
(send a signed inbound-SMS webhook). Added to the CLI through the PLUGIN's `cli` field."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ...commandline.conventions import json_option
from ...config.trust import TRUST_ENV
from ...net.ports import port_number


def register(commands: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add the commands to the CLI's subparsers; {command: handler(args) -> exit status}."""
    emulator = commands.add_parser(
        "twilio-emulator", description="serve the local Twilio emulator over HTTP (share one between processes)")
    emulator.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    emulator.add_argument("--port", type=port_number, default=8470, help="port (default 8470; 0 picks a free one)")
    emulator.add_argument("--config", metavar="FILE",
                          help="config.yaml to use (default: ./config.yaml if present, else built-in defaults)")
    emulator.add_argument("--state", metavar="FILE", help="keep the emulator's state in this SQLite file")
    json_option(emulator, "print the URL (and the built-in demo credentials, if used) as one JSON object line: "
                "{url, credentials}")

    inbound = commands.add_parser(
        "twilio-inbound", description="send a signed inbound-SMS webhook to URL, as Twilio would"
    )
    inbound.add_argument("url", metavar="URL", help="the endpoint (loopback unless emulator.allow_hosts lists it)")
    inbound.add_argument("--from", dest="from_", required=True, metavar="NUMBER",
                         help="sender, E.164 (+15551230000) or whatsapp:+1...")
    inbound.add_argument("--to", required=True, metavar="NUMBER", help="your number, E.164 (+15005550006)")
    inbound.add_argument("--body", required=True, help="the message text")
    inbound.add_argument("--method", default="POST", choices=["GET", "POST"], help="HTTP method (default POST)")
    inbound.add_argument("--config", metavar="FILE", help="config.yaml whose AuthToken signs the request")
    json_option(inbound, "print the outcome as one JSON object: {url, sid, delivered, status, body, error}")
    for command in (emulator, inbound):
        command.add_argument("--trust", action="store_true",
                             help="let the config file read any ${VAR} and reach hosts beyond loopback "
                             f"(as {TRUST_ENV}=1; see murano-sim trust)")
    return {"twilio-emulator": _twilio_emulator, "twilio-inbound": _twilio_inbound}


# The handlers import what they run when run: `murano-sim --help` and the other commands stay quick.
def _twilio_emulator(args: argparse.Namespace) -> int:
    from ..settings import load_config
    from .server import main_serve

    return main_serve(load_config(args.config), args.host, args.port, args.state, as_json=args.json)


def _twilio_inbound(args: argparse.Namespace) -> int:
    from .inbound import main_inbound

    return main_inbound(args.url, args.to, args.from_, args.body, args.config, args.method, as_json=args.json)
