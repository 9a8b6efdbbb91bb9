"""Services described as data: one YAML file per service, one generic dispatcher.

`load_services(config)` gives the runtime one `Service` per data file in this directory that
config.yaml configures; `Service.call(operation, arguments)` validates, sends and maps the
result to what Lua receives, never raising for a script's or the network's failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import requests

from ..config import Config, check_live_credentials
from ..errors import UsageError
from .dispatcher import CallOutcome, Service, error_table
from .spec import ServiceSpec, load_spec

__all__ = ["CallOutcome", "LOCAL_BASE_URL", "Service", "ServiceSpec", "error_table", "load_service", "load_services"]

SERVICES_DIR = Path(__file__).resolve().parent
# Where the runtime mounts the in-process emulator; the .invalid TLD never resolves.
LOCAL_BASE_URL = "http://twilio-emulator.invalid"


@cache
def _builtin_spec(path: Path) -> ServiceSpec:
    # The shipped data files do not change while the process runs; parse each once.
    return load_spec(path)


def load_services(
    config: Config,
    *,
    base_urls: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
) -> dict[str, Service]:
    """One Service per shipped data file whose alias config.services configures."""
    check_live_credentials(config)
    services: dict[str, Service] = {}
    for path in sorted(SERVICES_DIR.glob("*.yaml")):
        spec = _builtin_spec(path)
        section = config.services.get(spec.alias)
        if not isinstance(section, Mapping):
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
    """A Service from any data file (a second service needs only its own YAML)."""
    return Service(load_spec(path), config_section, base_url=base_url, session=session)
