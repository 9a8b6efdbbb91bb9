"""Port numbers from the command line and the config: 0-65535, a bad one is one line (no Werkzeug here,
so building the command line stays cheap)."""

from __future__ import annotations

import argparse

from ..errors import UsageError

MAX_PORT = 65535


def port_number(text: str) -> int:
    """argparse type of --port options: 0-65535 (0 picks a free port)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"{port} is outside 0-{MAX_PORT}")
    return port


def check_port(port: int, what: str = "port") -> int:
    if not 0 <= port <= MAX_PORT:
        raise UsageError(f"{what} {port} is outside 0-{MAX_PORT}")
    return port
