"""Murano's Config service: the solution's identity, every service's configuration parameters,
the services list and the call usage.

Parameters live in the service registry (defaults, then the solution's services/<alias>.yaml,
then config.yaml); this model reads and merges them through `host.platform` and emits the
`service` event when they change. Choices made where Murano's documentation is silent are
listed in docs/services/config.md and next to what they decide in config/spec.yaml.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from ..host import ServiceError, ServiceHost
from ..identity import solution_identity
from ..registry import core_services, murano_services

# Murano's own services (plugin.core, known.yaml); every other alias (a custom or Exchange service) is "exchange".
CORE_SERVICES = core_services()
SERVICE_TYPES = ("core", "exosite", "exchange", "product", "application")
# Stable service ids: uuid5 of the solution id and the alias under this namespace.
SERVICE_ID_NAMESPACE = uuid.UUID("6f1c3c52-5a8e-4d0b-9c7e-2f0d7d0b6a11")
# Spec types -> JSON Schema types for getParameters{includeSchema = true}.
JSON_TYPES = {
    "string": "string", "integer": "integer", "number": "number", "boolean": "boolean", "object": "object",
    "list": "array", "array": "array",
}
WEBSERVICE = "webservice"


def config_schema(spec: Any) -> dict[str, Any]:
    """A service spec's configuration parameters as a JSON Schema (what includeSchema returns)."""
    properties: dict[str, Any] = {}
    for key, rules in (spec.config_keys if spec is not None else {}).items():
        prop: dict[str, Any] = {"type": JSON_TYPES.get(str(rules.get("type", "string")), "string")}
        for word in ("description", "default", "enum", "pattern"):
            if word in rules:
                prop[word] = rules[word]
        if rules.get("secret"):
            prop["format"] = "password"
        properties[key] = prop
    return {"type": "object", "properties": properties}


class Config:
    """The Config service of one solution."""

    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        self._baselines: dict[str, tuple[str, dict[str, int]]] = {}

    @property
    def platform(self) -> Any:
        return self.host.platform

    def reset(self) -> None:
        self._baselines.clear()  # the registry clears its call counts right after

    # -- operations ------------------------------------------------------------------------------
    def solution(self, args: dict[str, Any]) -> dict[str, Any]:
        return solution_identity(self.platform)

    def getParameters(self, args: dict[str, Any]) -> dict[str, Any]:
        alias = args["service"]
        if not self._known(alias):
            raise ServiceError(404, f"service {alias!r} is not configured in this solution")
        result: dict[str, Any] = {"parameters": dict(self.platform.parameters(alias))}
        if alias == WEBSERVICE:
            # The solution's domain is a Webservice parameter on Murano; the 2020 connector template
            # builds its callback URL from it in init.lua (docs/fidelity-results.md)
            result["parameters"].setdefault("domain", solution_identity(self.platform)["domain"])
        if args.get("includeSchema"):
            service = self.platform.by_alias.get(alias)
            result["schema"] = config_schema(getattr(service, "spec", None))
        return result

    def setParameters(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.set_parameters(args["service"], args["parameters"])

    def set_parameters(self, alias: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """Merge top-level keys into a service's parameters and emit the `service` event."""
        action = "updated" if self._known(alias) else "added"
        merged = dict(self.platform.set_parameters(alias, dict(parameters)))
        self.host.emit("service", {"service": alias, "action": action, "parameters": merged})
        return {"parameters": merged}

    def listServices(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = args.get("type")
        return [entry for entry in self._services() if wanted is None or entry["type"] == wanted]

    def listService(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return self.listServices(args)

    def usage(self, args: dict[str, Any]) -> dict[str, Any]:
        self._roll()
        counts = self.platform.call_counts
        quotas = self.host.settings.get("quota") or {}
        report: dict[str, Any] = {}
        for alias in self._aliases():
            total = int(counts.get(alias, 0))
            report[alias] = {
                "quota": dict(quotas.get(alias) or {}),
                "usage": {
                    "daily_calls": total - self._baselines["day"][1].get(alias, 0),
                    "monthly_calls": total - self._baselines["month"][1].get(alias, 0),
                    "total_calls": total,
                },
                "service": alias,
            }
        return report

    # -- the day and month of usage roll over on the solution's clock (a DueSource) ---------------
    def next_due(self) -> datetime | None:
        now = self.host.clock.now().astimezone(timezone.utc)
        return datetime(now.year, now.month, now.day, tzinfo=timezone.utc) + timedelta(days=1)

    def run_due(self) -> None:
        self._roll()

    def _roll(self) -> None:
        now = self.host.clock.now().astimezone(timezone.utc)
        counts = dict(self.platform.call_counts)
        for period, key in (("day", now.strftime("%Y-%m-%d")), ("month", now.strftime("%Y-%m"))):
            current = self._baselines.get(period)
            if current is None:
                self._baselines[period] = (key, {})  # first look: every call so far is this period's
            elif current[0] != key:
                self._baselines[period] = (key, counts)

    # -- the solution's services ---------------------------------------------------------------
    def _aliases(self) -> list[str]:
        platform = self.platform
        emulated = [a for a, s in platform.by_alias.items() if getattr(s, "spec", None) is not None]
        return sorted({*emulated, *platform.solution_configs})

    def _known(self, alias: str) -> bool:
        return alias in murano_services() or alias in self._aliases()

    def _services(self) -> list[dict[str, Any]]:
        identity = solution_identity(self.platform)
        entries = [
            self._entry(identity["id"], alias, "core" if alias in CORE_SERVICES else "exchange")
            for alias in self._aliases()
        ]
        entries += [self._entry(identity["id"], product, "product") for product in identity["products"]]
        return entries

    @staticmethod
    def _entry(solution_id: str, alias: str, kind: str) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid5(SERVICE_ID_NAMESPACE, f"{solution_id}/{alias}")),
            "type": kind, "service": alias, "script_key": alias,
        }
