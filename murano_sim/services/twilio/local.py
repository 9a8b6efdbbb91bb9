"""Twilio's local backend for the registry (ServicePlugin.wire): the Emulator, mounted behind the transport."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..host import ServiceHost

if TYPE_CHECKING:
    from .app import Emulator


def local_backend(host: ServiceHost, given: Emulator | None = None) -> Emulator:
    """The Twilio backend of one solution: the given Emulator (Runtime(emulator=...)), or a new one on the
    solution's clock, its records in the solution's State (it registers its reset there)."""
    if given is not None:
        return given
    from .app import Emulator  # the emulator (its models, Werkzeug) loads with the first request that needs it

    return Emulator(host.services.config, clock=host.clock, state=host.state)
