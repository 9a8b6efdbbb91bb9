"""The local Twilio emulator: a stateful, wire-compatible stand-in for Twilio's REST API."""

from ...state.clock import Clock, ManualClock, SystemClock
from .adapter import WSGIAdapter
from .app import Emulator
from .errors import TwilioError
from .server import EmulatorServer, main_serve, serve
from .webhooks import deliver, sign

__all__ = [
    "Clock",
    "Emulator",
    "EmulatorServer",
    "ManualClock",
    "SystemClock",
    "TwilioError",
    "WSGIAdapter",
    "deliver",
    "main_serve",
    "serve",
    "sign",
]
