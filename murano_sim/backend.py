"""Where service calls go: the live API, or the local emulator through the same transport."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from .config import Config
from .services import LOCAL_BASE_URL, load_services


@dataclass
class Backend:
    services: dict[str, Any]
    emulator: Any = None
    sessions: list[requests.Session] = field(default_factory=list)

    def close(self) -> None:
        for session in self.sessions:
            session.close()
        if self.emulator is not None:
            self.emulator.close()


def open_backend(config: Config, emulator: Any = None) -> Backend:
    """Build the configured services; `backend: local` gets an in-process emulator.

    The emulator is mounted as a requests transport adapter, so the transport code sends it
    byte-for-byte the requests it would send to Twilio (the benchmark in
    scripts/bench/bench_emulator.py measures this against a loopback server).
    """
    if config.services["twilio"]["backend"] != "local":
        return Backend(load_services(config))
    from .emulator import Emulator, WSGIAdapter

    emulator = emulator or Emulator(config)
    session = requests.Session()
    session.mount(LOCAL_BASE_URL, WSGIAdapter(emulator.wsgi_app))
    services = load_services(config, base_urls={"twilio": LOCAL_BASE_URL}, session=session)
    return Backend(services, emulator, [session])
