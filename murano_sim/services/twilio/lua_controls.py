"""The emulator's test controls as a host service, so `*_test.lua` tests can use them.

Lua reaches Python only through service calls, so the controls are one more service (same
interface as services.Service: alias, global_names, operations, call). Only the runtimes of Lua
tests get it; assertions.lua hides its global behind `murano_test.twilio`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...errors import MuranoSimError
from .. import CallOutcome, error_table

# The global the runtime installs; assertions.lua takes it and sets it to nil.
GLOBAL_NAME = "_murano_test_twilio"
_BAD_ARGUMENT = 400


class ControlError(ValueError):
    """A control was called with arguments it cannot use."""


class EmulatorControls:
    """advance, fail_next, receive_message, reset, messages, calls: the `twilio` fixture, for Lua."""

    alias = "murano_test_twilio"
    global_names = (GLOBAL_NAME,)

    def __init__(self, emulator: Any) -> None:
        self._emulator = emulator
        self._operations: dict[str, Callable[[Mapping[str, Any]], Any]] = {
            "advance": self._advance,
            "fail_next": self._fail_next,
            "receive_message": self._receive_message,
            "reset": lambda _: self._emulator.reset(),
            "messages": lambda _: self._emulator.messages(),
            "calls": lambda _: self._emulator.calls(),
        }
        self.operations = tuple(self._operations)

    def call(self, operation: str, arguments: Any, *, deadline: float | None = None) -> CallOutcome:
        """Never raises: a misuse comes back as an error table, which assertions.lua raises in Lua."""
        control = self._operations.get(operation)
        try:
            if control is None:
                raise ControlError(f"no such control {operation}")
            if arguments is None:
                arguments = {}
            if not isinstance(arguments, Mapping):
                raise ControlError("arguments must be a table")
            value = control(arguments)
        except (ControlError, MuranoSimError) as exc:
            problem = str(exc).removeprefix(f"{operation}: ")  # the emulator's own messages name it too
            value = error_table(f"murano_test.twilio.{operation}: {problem}", _BAD_ARGUMENT, "QueryError")
        return CallOutcome(value=value, record=None)  # a test's control is not one of the script's calls

    def _advance(self, arguments: Mapping[str, Any]) -> None:
        seconds = arguments.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ControlError(f"seconds must be a number of seconds >= 0, got {seconds!r}")
        self._emulator.advance(float(seconds))

    def _fail_next(self, arguments: Mapping[str, Any]) -> None:
        status, code, count = arguments.get("status"), arguments.get("code"), arguments.get("count", 1)
        for name, value, optional in (("status", status, False), ("code", code, True), ("count", count, False)):
            if (value is None and not optional) or (value is not None and not _is_int(value)):
                raise ControlError(f"{name} must be a whole number, got {value!r}")
        self._emulator.fail_next(int(status),  # type: ignore[arg-type]  # checked just above
                                 None if code is None else int(code), int(count))

    def _receive_message(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        missing = [key for key in ("To", "From", "Body") if not isinstance(arguments.get(key), str)]
        if missing:
            raise ControlError(f"needs {', '.join(missing)} (text), as in Twilio's inbound webhook")
        url, method = arguments.get("Url"), arguments.get("Method", "POST")
        if url is not None and not isinstance(url, str):
            raise ControlError("Url must be text")
        if method not in ("GET", "POST"):
            raise ControlError(f"Method must be GET or POST, got {method!r}")
        return self._emulator.receive_message(
            to=arguments["To"], from_=arguments["From"], body=arguments["Body"], url=url, method=method
        )


def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and (isinstance(value, int) or (isinstance(value, float) and value.is_integer()))
