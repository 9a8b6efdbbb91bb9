"""The Twilio service: its spec, its live API (the http executor) and its local emulator, a stateful,
wire-compatible stand-in for Twilio's REST API behind the same transport."""

from pathlib import Path

from ...state.clock import Clock, ManualClock, SystemClock
from ..plugin import ServicePlugin
from . import settings
from .adapter import WSGIAdapter
from .app import Emulator
from .errors import TwilioError
from .server import EmulatorServer, main_serve, serve
from .webhooks import deliver, sign

PLUGIN = ServicePlugin(
    spec=Path(__file__).parent / "spec.yaml",
    wire=f"{__name__}.local:local_backend",
    console=f"{__name__}.console:PANEL",
    on_serve=f"{__name__}.server:use_public_url",
    core=False,
    defaults={**settings.DEFAULTS, "emulator": settings.EMULATOR_DEFAULTS},
    sections={"emulator": settings.EMULATOR_SCHEMA},
    env=settings.ENV,
    check_settings=f"{__name__}.settings:check",
    check_live=f"{__name__}.settings:check_live",
    cli=f"{__name__}.cli:register",
    control=f"{__name__}.control:TwilioServiceControl",
    fixtures=("twilio",),
    case_keys=("fail_next", "twilio", "expect.sms", "expect.phone_calls"),
)

__all__ = [
    "Clock",
    "Emulator",
    "EmulatorServer",
    "ManualClock",
    "PLUGIN",
    "SystemClock",
    "TwilioError",
    "WSGIAdapter",
    "deliver",
    "main_serve",
    "serve",
    "sign",
]
