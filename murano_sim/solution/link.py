"""Two solutions served together: an application that uses a product's exposed Interface operations
(`<Alias>.<op>{...}`) and receives the events the product triggers (`--#EVENT <alias> <event>`).

See docs/services/interface.md, "Two solutions".
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..services.dispatcher import CallOutcome, error_table, redacted_record
from ..services.registry import MURANO_SERVICES, emulated_services
from .app import SolutionApp
from .loader import Solution

# The Interface events a product handles itself; every other `interface <op>` handler is an operation.
SUBSCRIBER_EVENTS = frozenset({"subscriberadded", "subscriberupdated", "subscriberremoved"})
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def exposed_operations(solution: Solution) -> list[str]:
    """The product's Interface operation names (services/interface/<op>.lua and `interface_<op>` handlers)."""
    return sorted(event for service, event in solution.handlers
                  if service == "interface" and event.lower() not in SUBSCRIBER_EVENTS)


def default_alias(product_dir: str | Path) -> str:
    """The product folder's name, lower-cased, anything a Lua name cannot hold as `_`."""
    alias = re.sub(r"[^a-z0-9_]", "_", Path(product_dir).resolve().name.lower()) or "product"
    return alias if not alias[0].isdigit() else f"_{alias}"


def parse_product(spec: str) -> tuple[Path, str]:
    """`PRODUCT_DIR[:ALIAS]` -> (folder, alias); ConfigError for an alias Lua or Murano cannot take."""
    folder, sep, alias = spec.rpartition(":")
    if not sep or not _ALIAS.fullmatch(alias):
        folder, alias = spec, ""
    alias = alias or default_alias(folder)
    check_alias(alias)
    return Path(folder), alias


def check_alias(alias: str) -> None:
    taken = set(MURANO_SERVICES) | set(emulated_services())
    if not _ALIAS.fullmatch(alias) or alias.lower() in taken:
        raise ConfigError(f"product alias {alias!r}: must be a Lua name that is not a service's alias "
                          f"(give one as PRODUCT_DIR:ALIAS)")


class ProductService:
    """The product's exposed operations as a service of the application's runtime (a host service).

    A call runs the product's `interface <op>` handler in the product's own runtime, with
    context.caller_id the application's solution id; its return value is the reply.
    """

    def __init__(self, product: SolutionApp, alias: str) -> None:
        check_alias(alias)
        self.product = product
        self.alias = alias
        self.global_names = (alias[0].upper() + alias[1:],)
        self.operations = tuple(exposed_operations(product.solution))
        self.caller_id = "application"  # the application's solution id, once linked

    def __repr__(self) -> str:
        return f"ProductService(alias={self.alias!r}, operations={list(self.operations)})"

    def call(self, operation: str, arguments: Any, *, deadline: float | None = None) -> CallOutcome:
        started = time.perf_counter()
        label = f"{self.global_names[0]}.{operation}"
        result = self.product.trigger_event("interface", operation, arguments, {"caller_id": self.caller_id})
        if result is None:  # the product no longer has it (reloaded)
            value, status = error_table(f"{label}: the product has no such operation", 404, "QueryError"), 404
        elif result.error is not None:
            value, status = error_table(f"{label}: the product's handler failed: {result.error}", 500,
                                        "ServerError"), 500
        else:
            return redacted_record(self.alias, operation, arguments, result.response.message, started, [], 200,
                                   False, self._secrets())
        return redacted_record(self.alias, operation, arguments, value, started, [], status, True, self._secrets())

    def _secrets(self) -> list[str]:
        return self.product.runtime.config.secrets()  # longest first


def link(application: SolutionApp, product: SolutionApp, service: ProductService) -> None:
    """The application subscribes to the product: its calls carry its solution id as caller_id, and the
    events the product triggers for the application's alias run the application's handlers."""
    solution_id = application.runtime.platform.call_value("config", "solution")["id"]  # Config.solution()
    service.caller_id = solution_id
    product.runtime.platform.by_alias["interface"].model.link({"solution_id": solution_id, "alias": service.alias})
    product.forward_events(service.alias, application)
    application.product_aliases.add(service.alias)
