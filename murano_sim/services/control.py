"""One control interface per service: how anything outside the script reaches a service's data.

The console API, a service's own control plane (the phone emulator's `/_emulator/`), the pytest
fixtures, the yaml cases' `seed:`/`expect:` keys and the Lua test controls are thin views of a
service's `Control`: none of them reaches into a model. A service without a control of its own
gets `ModelControl`, which forwards to the model's `seed`/`inspect`/`reset` methods when it has them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Control(Protocol):
    """Seed, inspect, reset and the service's own actions (a phone's press/speak/inbound, Timer's fire, ...)."""

    alias: str

    def seed(self, data: Any) -> None:
        """Add data as the service stores it (yaml `seed:`, a fixture's set-up, the console's edits)."""

    def inspect(self, view: str | None = None, **query: Any) -> Any:
        """What the service holds, JSON-able (the console's GET, a case's `expect:`)."""

    def reset(self) -> None:
        """Back to the seeded state."""

    @property
    def actions(self) -> Mapping[str, Callable[..., Any]]:
        """The service's own actions by name; each takes JSON-able keyword arguments and returns JSON-able data."""

    def fixture(self) -> Any:
        """The object a pytest fixture of this service hands a test (KeystoreView, a phone's control, ...)."""


class ModelControl:
    """The control of a service that declares none: the model's own seed/inspect/reset, no actions."""

    def __init__(self, alias: str, model: Any) -> None:
        self.alias = alias
        self.model = model

    def seed(self, data: Any) -> None:
        seed = getattr(self.model, "seed", None)
        if seed is None:
            raise NotImplementedError(f"{self.alias} cannot be seeded")
        seed(data)

    def inspect(self, view: str | None = None, **query: Any) -> Any:
        inspect = getattr(self.model, "inspect", None)
        return inspect(view, **query) if inspect is not None else {}

    def reset(self) -> None:
        reset = getattr(self.model, "reset", None)
        if reset is not None:
            reset()

    @property
    def actions(self) -> Mapping[str, Callable[..., Any]]:
        return {}

    def fixture(self) -> Any:
        return self
