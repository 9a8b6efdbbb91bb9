"""Config's control: every service's configuration parameters, for the `murano_services_config` fixture."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..control import ServiceControl


class ServicesConfig:
    """Every service's configuration parameters as Config.getParameters sees them.

    `config["timer"]` reads a copy; `config.set("timer", {...})` merges like Config.setParameters
    (and emits the same `service` event); `config.solution` is what Config.solution() answers."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def __getitem__(self, alias: str) -> dict[str, Any]:
        return dict(self._model.platform.parameters(alias))

    def set(self, alias: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        return self._model.set_parameters(alias, parameters)["parameters"]

    @property
    def solution(self) -> dict[str, Any]:
        return self._model.solution({})

    def __repr__(self) -> str:
        return "ServicesConfig()"


class ConfigControl(ServiceControl):
    def fixture(self) -> ServicesConfig:
        return ServicesConfig(self.model)

    def inspect(self, view: str | None = None, **query: Any) -> dict[str, Any]:
        """{"solution": Config.solution(), "parameters": {alias: parameters}} of every service, secrets hidden."""
        services = self.services
        with self.host.state.lock:
            found = {"solution": self.model.solution({}),
                     "parameters": {alias: dict(services.parameters(alias)) for alias in services.by_alias}}
        return self.redacted(found)


factory = ConfigControl
