"""Fixtures over Murano's Config and Timer services of the `murano` fixture's runtime:
`timers` (the pending timers) and `murano_services_config` (read and change service parameters).

Time moves with `murano.runtime.advance(seconds)`: due timers fire there, in time order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from ..errors import UsageError
from .runner import ScriptRunner


def _model(runner: ScriptRunner, alias: str) -> Any:
    service = runner.runtime.services.get(alias)
    model = getattr(service, "model", None)
    if model is None:
        raise UsageError(f"the {alias} service is not emulated in this runtime")
    return model


class Timers:
    """The solution's pending timers, in the order they fire next (a live view: read it again after advance).

    Each timer is a dict: timer_id, kind (after, interval, schedule), message, due (a UTC datetime on
    the solution's clock), duration_ms (after/interval), schedule (the periods switched on)."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def pending(self) -> list[dict[str, Any]]:
        return self._model.pending()

    def ids(self) -> list[str]:
        return [timer["timer_id"] for timer in self.pending()]

    def __getitem__(self, timer_id: str) -> dict[str, Any]:
        for timer in self.pending():
            if timer["timer_id"] == timer_id:
                return timer
        raise KeyError(timer_id)

    def __contains__(self, timer_id: object) -> bool:
        return timer_id in self.ids()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.pending())

    def __len__(self) -> int:
        return len(self.pending())

    def __repr__(self) -> str:
        return f"Timers({self.ids()!r})"


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


@pytest.fixture
def timers(murano: ScriptRunner) -> Timers:
    """The pending timers of the `murano` runtime: .pending(), .ids(), timers["id"], `in`, len()."""
    return Timers(_model(murano, "timer"))


@pytest.fixture
def murano_services_config(murano: ScriptRunner) -> ServicesConfig:
    """Read (config["alias"]) and merge (config.set("alias", {...})) the services' configuration parameters."""
    return ServicesConfig(_model(murano, "config"))
