"""Services described as data: one YAML file per service under specs/, one engine for each kind.

- http services (Twilio) go through `Service`: validate, send over the transport, map the result;
- local services (Keystore, Tsdb, ...) go through `LocalService`: validate, call the in-process model.

`Services` (registry.py) builds every service of one solution over its state and clock; both kinds
never raise for a script's or the network's failure (they return Murano's error table).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from ..config import Config, check_live_credentials
from ..errors import UsageError
from .dispatcher import CallOutcome, Service, error_table
from .local import NO_CONTENT, LocalService, ServiceError, ServiceHost
from .registry import LOCAL_BASE_URL, MURANO_SERVICES, Services, builtin_specs, emulated_services
from .spec import ServiceSpec, load_spec

__all__ = [
    "CallOutcome", "LOCAL_BASE_URL", "LocalService", "MURANO_SERVICES", "NO_CONTENT", "Service", "ServiceError",
    "ServiceHost", "ServiceSpec", "Services", "builtin_specs", "emulated_services", "error_table", "load_service",
    "load_services",
]


def load_services(
    config: Config,
    *,
    base_urls: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
) -> dict[str, Service]:
    """The http services (Twilio) that config.services configures, on their own (no emulator)."""
    check_live_credentials(config)
    services: dict[str, Service] = {}
    for spec in builtin_specs():
        section = config.services.get(spec.alias)
        if spec.kind != "http" or not isinstance(section, Mapping):
            continue
        base_url = (base_urls or {}).get(spec.alias)
        if base_url is None and section.get("backend") == "local":
            # Never fall back to the live URL with the emulator's demonstration credentials.
            raise UsageError(f"services.{spec.alias}: backend local needs the emulator's URL in base_urls")
        services[spec.alias] = Service(spec, section, base_url=base_url, session=session)
    return services


def load_service(
    path: str | Path,
    config_section: Mapping[str, Any],
    *,
    base_url: str | None = None,
    session: requests.Session | None = None,
) -> Service:
    """An http Service from any data file (a second service needs only its own YAML)."""
    return Service(load_spec(path), config_section, base_url=base_url, session=session)
