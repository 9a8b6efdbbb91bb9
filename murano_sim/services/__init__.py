"""Services described as data: each is a plugin (plugin.py) with a spec, on one call path.

Every call goes through one `Dispatcher` (dispatcher.py): operation lookup, argument checks, the
shared bounds, then its executor (executors.py): a local model in-process, or an http API over the
transport (the live API, or its local backend mounted in-process). `Services` (registry.py) builds
every service of one solution over its state and clock; no call raises for a script's or the
network's failure (it returns Murano's error table).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from ..config import Config, check_live_credentials
from ..errors import UsageError
from .control import Control, ModelControl
from .dispatcher import CallOutcome, Dispatcher, LocalService, Service
from .host import NO_CONTENT, ServiceError, ServiceHost, error_table
from .plugin import ServicePlugin, discover
from .registry import LOCAL_BASE_URL, Services, builtin_specs, emulated_services, murano_services
from .spec import ServiceSpec, load_spec

__all__ = [
    "CallOutcome", "Control", "Dispatcher", "LOCAL_BASE_URL", "LocalService", "MURANO_SERVICES", "ModelControl",
    "NO_CONTENT", "Service", "ServiceError", "ServiceHost", "ServicePlugin", "ServiceSpec", "Services",
    "builtin_specs", "discover", "emulated_services", "error_table", "load_service", "load_services",
]


def __getattr__(name: str) -> Any:
    if name == "MURANO_SERVICES":  # the former constant: Murano's services by alias, now data (specs + known.yaml)
        return murano_services()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_services(
    config: Config,
    *,
    base_urls: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
) -> dict[str, Dispatcher]:
    """The http services that config.services configures, on their own (no local backend mounted)."""
    check_live_credentials(config)
    services: dict[str, Dispatcher] = {}
    for spec in builtin_specs():
        section = config.services.get(spec.alias)
        if spec.kind != "http" or not isinstance(section, Mapping):
            continue
        base_url = (base_urls or {}).get(spec.alias)
        if base_url is None and section.get("backend") == "local":
            # Never fall back to the live URL with the local backend's demonstration credentials.
            raise UsageError(f"services.{spec.alias}: backend local needs the local backend's URL in base_urls")
        services[spec.alias] = Service(spec, section, base_url=base_url, session=session)
    return services


def load_service(
    path: str | Path,
    config_section: Mapping[str, Any],
    *,
    base_url: str | None = None,
    session: requests.Session | None = None,
) -> Dispatcher:
    """An http Service from any data file (a second service needs only its own YAML)."""
    return Service(load_spec(path), config_section, base_url=base_url, session=session)
