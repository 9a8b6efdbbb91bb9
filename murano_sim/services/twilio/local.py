"""Twilio's local backend for the registry (ServicePlugin.wire): the Emulator, mounted behind the transport."""

from __future__ import annotations

from ..host import ServiceHost
from .app import Emulator


def local_backend(host: ServiceHost, given: Emulator | None = None) -> Emulator:
    """The Twilio backend of one solution: the given Emulator (Runtime(emulator=...)), or a new one on the
    solution's clock, its records in the solution's State (it registers its reset there)."""
    if given is not None:
        return given
    return Emulator(host.services.config, clock=host.clock, state=host.state)
