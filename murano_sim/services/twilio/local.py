"""Twilio's local backend for the registry: the Emulator, mounted behind the transport (ServicePlugin.wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..host import ServiceHost
from .app import Emulator


class LocalTwilio:
    """The emulator as the registry sees a local backend: a WSGI app, due work, reset, close."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.wsgi_app = emulator.wsgi_app
        self.clock = emulator.clock
        self.state = emulator.state  # the solution's State when its records live there (it then resets with it)

    def __repr__(self) -> str:
        return f"LocalTwilio({self.emulator!r})"

    @property
    def ticking(self) -> bool:
        """Set while the one ticker applies due steps: API requests then leave them to it."""
        return self.emulator.ticking

    @ticking.setter
    def ticking(self, value: bool) -> None:
        self.emulator.ticking = value

    def next_due(self) -> datetime | None:
        return self.emulator.next_due()

    def run_due(self) -> None:
        self.emulator.run_due()

    def defect(self, where: str, exc: Exception) -> None:
        """A defect the ticker caught: logged and kept for take_defects() (the pytest plugin fails the test)."""
        self.emulator.ticker_defect(where, exc)

    def reset(self) -> None:
        self.emulator.reset()

    def close(self) -> None:
        self.emulator.close()


def local_backend(host: ServiceHost, given: Any = None) -> LocalTwilio:
    """The Twilio backend of one solution: the given Emulator (Runtime(emulator=...)), or a new one on the
    solution's clock, its records in the solution's State."""
    emulator = given if given is not None else Emulator(host.services.config, clock=host.clock, state=host.state)
    return LocalTwilio(emulator)
