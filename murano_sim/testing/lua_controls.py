"""Every service's test controls as one host service, so `*_test.lua` tests can use them.

Lua reaches Python only through service calls, so the controls are one more service (same
interface as a service: alias, global_names, operations, call) with one operation, `call`
{service, action, arguments}, forwarded to that service's control (services/control.py). Only the runtimes
of Lua tests get it; assertions.lua hides its global behind `murano_test.services.<alias>` (and
keeps the names its users already know).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from ..errors import MuranoSimError
from ..services import CallOutcome, error_table
from ..services.control import ControlError

# The global the runtime installs; assertions.lua takes it and sets it to nil.
GLOBAL_NAME = "_murano_test"
_BAD_ARGUMENT = 400


class LuaControls:
    """call{service=, action=, arguments=}: an action of a service's control; arguments are one Lua table."""

    alias = GLOBAL_NAME
    global_names = (GLOBAL_NAME,)

    def __init__(self) -> None:
        self.controls: dict[str, Any] = {}
        self.operations = ("call",)

    def bind(self, controls: Mapping[str, Any]) -> None:
        """The controls of the runtime this service belongs to (known once the runtime is built)."""
        self.controls = dict(controls)

    def call(self, operation: str, arguments: Any, *, deadline: float | None = None) -> CallOutcome:
        """Never raises for a test's misuse: it comes back as an error table, which assertions.lua raises in Lua."""
        request = arguments if isinstance(arguments, Mapping) else {}
        alias, action = str(request.get("service")), str(request.get("action"))
        arguments = request.get("arguments")
        try:
            control = self.controls.get(alias)
            if control is None:
                raise ControlError(f"no service {alias} with controls here (is its backend local?)")
            act = control.actions.get(action)
            if act is None:
                raise ControlError(f"no such control {action}")
            if arguments is None:
                arguments = {}
            if not isinstance(arguments, Mapping):
                raise ControlError("arguments must be a table")
            try:
                inspect.signature(act).bind(**arguments)
            except TypeError as exc:
                raise ControlError(str(exc)) from None
            value = act(**arguments)
        except (ControlError, MuranoSimError) as exc:
            value = _error(alias, action, str(exc).removeprefix(f"{action}: "))  # the model's messages name it too
        return CallOutcome(value=value, record=None)  # a test's control is not one of the script's calls


def _error(alias: str, action: str, problem: str) -> Any:
    return error_table(f"murano_test.{alias}.{action}: {problem}", _BAD_ARGUMENT, "QueryError")
