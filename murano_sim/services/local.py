"""Local services: Murano's own services (Keystore, Tsdb, Timer, ...) as in-process models.

A local service is a spec file (kind: local) plus a model class named by its `implementation`.
The model gets a ServiceHost (its configuration, the solution's state and clock, a way to emit
events and to call other services) and has one method per operation, taking the checked
arguments as a dict. It returns the result, or raises ServiceError for Murano's error table.
Validation, the call log and secret redaction are the same as for Twilio's http service.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..lua.vm import NestedCall
from ..state import State
from ..state.clock import Clock, epoch_seconds
from .dispatcher import STATUS_BAD_REQUEST, CallOutcome, error_table, redacted_record
from .spec import ArgumentSpec, ServiceSpec
from .validation import ArgumentError, check_call

QUERY_ERROR, SERVER_ERROR = "QueryError", "ServerError"
# What Murano hands a script for an HTTP 204 (`status_code` is the deprecated spelling code still reads).
NO_CONTENT: dict[str, Any] = {"status": 204, "status_code": 204}


class ServiceError(Exception):
    """A service's refusal, as Murano's error table {error, status, type}."""

    def __init__(self, status: int, message: str, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = error_type or (QUERY_ERROR if status < 500 else SERVER_ERROR)

    def table(self) -> dict[str, Any]:
        return error_table(self.message, self.status, self.type)


# emit(alias, event, payload): an event for the solution's handlers
EventSink = Callable[[str, str, dict[str, Any]], None]
# call(alias, operation, arguments) -> what Lua would get
ServiceCall = Callable[[str, str, Any], Any]


@dataclass
class ServiceHost:
    """What a model may use: its configuration, the solution's state and clock, events, other services."""

    alias: str
    spec: ServiceSpec
    parameters: dict[str, Any]  # Murano's configuration parameters, merged (Config.setParameters changes them)
    settings: dict[str, Any]  # murano-sim's own settings for this service (config.yaml only)
    state: State
    clock: Clock
    emit_event: EventSink
    call_service: ServiceCall
    platform: Any = None  # the solution's Services (Config reads and changes other services' parameters)
    warnings: list[str] = field(default_factory=list)
    # While an operation runs: the script's deadline (time.monotonic()), for work that waits (Http).
    deadline: float | None = None

    def now(self) -> float:
        """Seconds since the epoch on the solution's clock."""
        return epoch_seconds(self.clock)

    def emit(self, event: str, payload: dict[str, Any]) -> None:
        self.emit_event(self.alias, event, payload)

    def call(self, alias: str, operation: str, arguments: Any = None) -> Any:
        return self.call_service(alias, operation, arguments)


def load_model(spec: ServiceSpec, host: ServiceHost) -> Any:
    module_name, _, class_name = (spec.implementation or "").partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)(host)


class LocalService:
    """A local service bound to its model: the same call contract as the http dispatcher's Service."""

    def __init__(
        self, spec: ServiceSpec, host: ServiceHost, model: Any = None, *, parameters_as_defaults: bool = False
    ) -> None:
        """parameters_as_defaults: configuration parameters fill the operations' arguments of the same
        name that a call leaves out (Murano's exchange services; checked like given arguments)."""
        self.spec = spec
        self.parameters_as_defaults = parameters_as_defaults
        self.alias = spec.alias
        self.global_names = spec.global_names
        self.operations = tuple(spec.operations)
        self.host = host
        self.model = model if model is not None else load_model(spec, host)

    def __repr__(self) -> str:
        return f"LocalService(alias={self.alias!r}, operations={len(self.operations)})"

    @property
    def secrets(self) -> list[str]:
        """The values of its secret parameters now (a solution's services/<alias>.yaml may set them
        after start, Config.setParameters may change them), longest first."""
        found = {v for k in self.spec.secret_keys() for v in _secret_strings(self.host.parameters.get(k))}
        return sorted(found, key=len, reverse=True)

    def call(self, operation: str, arguments: Any, *, deadline: float | None = None) -> CallOutcome:
        """Run one operation for a script. A refusal is an error table; our own defects raise."""
        started = time.perf_counter()
        given = arguments
        label = f"{self.global_names[0]}.{operation}"
        op = self.spec.operations.get(operation)
        warnings: list[str] = []
        if op is None:
            value = error_table(f"{label}: no such operation", STATUS_BAD_REQUEST, QUERY_ERROR)
            return self._outcome(operation, arguments, value, started, warnings, STATUS_BAD_REQUEST, True)
        arguments = _hide_secret_arguments(arguments, op.arguments)
        given = _unwrap_body(given, op.arguments)
        if self.parameters_as_defaults:
            given = _with_defaults(given, op.arguments, self.host.parameters)
        try:
            request = check_call(op, given, label)
        except ArgumentError as exc:
            warnings.extend(getattr(exc, "warnings", ()))
            value = error_table(f"{label}: {exc}", STATUS_BAD_REQUEST, QUERY_ERROR)
            return self._outcome(operation, arguments, value, started, warnings, STATUS_BAD_REQUEST, True)
        warnings.extend(request.warnings)
        outer, self.host.deadline = self.host.deadline, deadline
        try:
            perform = getattr(self.model, "perform", None)  # a model whose operations are data (stand-ins)
            if perform is not None:
                result = perform(operation, request.args)
            else:
                result = getattr(self.model, operation)(request.args)
        except ServiceError as exc:
            return self._outcome(operation, arguments, exc.table(), started, warnings, exc.status, True)
        finally:
            self.host.deadline = outer
        if isinstance(result, NestedCall):  # the handler runs in Lua, inside the caller's execution
            outcome = self._outcome(operation, arguments, {"runs": result.function}, started, warnings, 200, False)
            outcome.value = result
            return outcome
        if op.returns == "status" and result is None:
            return self._outcome(operation, arguments, dict(NO_CONTENT), started, warnings, 204, False)
        return self._outcome(operation, arguments, result, started, warnings, 200, False)

    def reset(self) -> None:
        reset = getattr(self.model, "reset", None)
        if reset is not None:
            reset()

    def close(self) -> None:
        close = getattr(self.model, "close", None)
        if close is not None:
            close()

    def _outcome(
        self, operation: str, arguments: Any, value: Any, started: float, warnings: list[str], status: int,
        failed: bool,
    ) -> CallOutcome:
        return redacted_record(
            self.alias, operation, arguments, value, started, warnings, status, failed, self.secrets
        )


def _unwrap_body(arguments: Any, known: Mapping[str, Any]) -> Any:
    """Murano's June 2016 services took their arguments wrapped in `body` (Keystore.set{key, body = {value}}):
    unwrap it when the operation has no `body` argument of its own."""
    if isinstance(arguments, Mapping) and "body" not in known and isinstance(arguments.get("body"), Mapping):
        merged = {k: v for k, v in arguments.items() if k != "body"}
        merged.update(arguments["body"])
        return merged
    return arguments


def _with_defaults(arguments: Any, known: Mapping[str, Any], parameters: Mapping[str, Any]) -> Any:
    """The call's arguments plus every configuration parameter that names an argument left out."""
    if arguments is not None and arguments != [] and not isinstance(arguments, Mapping):
        return arguments  # not a table of named arguments: validation says so
    given = dict(arguments or {})
    for name, value in parameters.items():
        if name in known and given.get(name) is None and value is not None:
            given[name] = value
    return given


def _secret_strings(value: Any) -> list[str]:
    """A secret parameter's strings: the value itself, or every string inside a table of them."""
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _secret_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _secret_strings(v)]
    return [str(value)] if value not in (None, "") and not isinstance(value, bool) else []


REDACTED = "[REDACTED]"


def _hide_secret_arguments(arguments: Any, known: Mapping[str, ArgumentSpec]) -> Any:
    """The arguments as the call log keeps them: every `secret` argument (or secret field) replaced,
    also inside a June 2016 `body` wrapper. The model still gets the real values."""
    secret = {name: arg.secret for name, arg in known.items() if arg.secret}
    if not secret or not isinstance(arguments, Mapping):
        return arguments
    shown = dict(arguments)
    for name, rule in secret.items():
        if name not in shown:
            continue
        if rule is True or not isinstance(shown[name], Mapping):
            shown[name] = REDACTED
        else:
            shown[name] = {k: (REDACTED if k in rule else v) for k, v in shown[name].items()}
    if "body" not in known and isinstance(shown.get("body"), Mapping):
        shown["body"] = _hide_secret_arguments(shown["body"], known)
    return shown
