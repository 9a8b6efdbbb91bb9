"""The Twilio service: its spec, its live API (the http executor) and its local emulator, a stateful,
wire-compatible stand-in for Twilio's REST API behind the same transport."""

from importlib import import_module
from pathlib import Path
from typing import Any

from ..plugin import ServicePlugin
from . import settings

# The public names, imported on first use: discovering the plugin imports no model and no Werkzeug.
_EXPORTS = {
    "Clock": "...state.clock", "ManualClock": "...state.clock", "SystemClock": "...state.clock",
    "WSGIAdapter": ".adapter", "Emulator": ".app", "TwilioError": ".errors",
    "EmulatorServer": ".server", "main_serve": ".server", "serve": ".server",
    "deliver": ".webhooks", "sign": ".webhooks",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name], __name__), name)


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
