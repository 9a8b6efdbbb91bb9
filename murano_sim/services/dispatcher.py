"""The one call path of every service: look the operation up, shape and check the arguments, apply
the bounds every call shares, run it on the service's executor, and give back one `CallOutcome`
with its call-log record, every secret redacted.

Local models and http APIs differ only in their executor (executors.py); everything else happens
here, once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from ..config import redact
from ..lua.convert import LimitReached
from ..lua.vm import NestedCall
from .bounds import MAX_ARGUMENT_BYTES, oversize
from .executors import HttpExecutor, LocalExecutor
from .host import QUERY_ERROR, SERVER_ERROR, STATUS_BAD_REQUEST, ServiceHost, error_table
from .plugin import load_attribute
from .spec import OperationSpec, ServiceSpec
from .transport import Reply
from .validation import ArgumentError, Request, check_call

REDACTED = "[REDACTED]"
STATUS_TOO_LARGE = 413
STATUS_NOT_FOUND = 404

__all__ = [
    "CallOutcome", "Dispatcher", "Executor", "LocalService", "QUERY_ERROR", "SERVER_ERROR", "STATUS_BAD_REQUEST",
    "Service", "error_table", "redacted", "redacted_record",
]


@dataclass
class CallOutcome:
    """What one operation call gives Lua, the call-log entry, and log lines for the run."""

    value: Any  # JSON-like result, None, or the error table {"error", "status", "type"}
    record: dict[str, Any] | None  # None: not a call of the script's (a test control)
    warnings: list[str] = field(default_factory=list)


class Executor(Protocol):
    """What performs a checked call: a model in-process, or an API over the transport."""

    model: Any
    prefix_argument_errors: bool

    def secrets(self) -> list[str]: ...

    def execute(
        self, operation: str, op: OperationSpec, request: Request, deadline: float | None, warnings: list[str]
    ) -> Reply: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


class Dispatcher:
    """One service: its spec and its executor, behind the call contract the runtime uses."""

    def __init__(
        self, spec: ServiceSpec, executor: Executor, *, parameters: Mapping[str, Any] | None = None
    ) -> None:
        """parameters: configuration parameters that fill the operations' arguments of the same name a call
        leaves out (Murano's exchange services, i.e. stand-ins; checked like given arguments)."""
        self.spec = spec
        self.executor = executor
        self.alias = spec.alias
        self.global_names = spec.global_names
        self.operations = tuple(spec.operations)
        self.parameters_as_defaults = parameters

    def __repr__(self) -> str:
        kind = "http" if isinstance(self.executor, HttpExecutor) else "local"
        return f"Dispatcher(alias={self.alias!r}, {kind}, operations={len(self.operations)})"

    # The executor's parts that callers read (a local model, its host; an http service's transport).
    @property
    def model(self) -> Any:
        return self.executor.model

    @property
    def host(self) -> ServiceHost | None:
        return getattr(self.executor, "host", None)

    @property
    def transport(self) -> Any:
        return getattr(self.executor, "transport", None)

    @property
    def secrets(self) -> list[str]:
        """The secrets its outcomes must never show, now (parameters may change while it runs)."""
        return self.executor.secrets()

    def call(self, operation: str, arguments: Any, *, deadline: float | None = None) -> CallOutcome:
        """Run one operation for a script. Never raises for anything a script or the network can cause
        (a refusal is an error table); past the deadline it fails as the time limit does (LimitReached),
        and our own defects raise."""
        if deadline is not None and time.monotonic() >= deadline:
            raise LimitReached("time")
        started = time.perf_counter()
        label = f"{self.global_names[0]}.{operation}"
        warnings: list[str] = []
        if oversize(arguments, MAX_ARGUMENT_BYTES):  # before any service sees them
            value = error_table(f"{label}: arguments: larger than {MAX_ARGUMENT_BYTES} bytes", STATUS_TOO_LARGE,
                                QUERY_ERROR)
            return redacted_record(self.alias, operation, "[arguments too large]", value, started, [],
                                   STATUS_TOO_LARGE, True, [])
        op = self.spec.operations.get(operation)
        if op is None:
            # Returned like every service failure (an error table, not a raised Lua error); 404 as
            # Murano's dispatcher answers a path it has no operation for (docs/fidelity-results.md).
            value = error_table(f"{label} is not emulated by murano-sim (no such operation in its spec)",
                                STATUS_NOT_FOUND, QUERY_ERROR)
            return self._outcome(operation, arguments, value, started, warnings, STATUS_NOT_FOUND, True)
        shown = _hide_secret_arguments(arguments, op)
        given = _unwrap_body(arguments, op.arguments)
        if self.parameters_as_defaults is not None:
            given = _with_defaults(given, op.arguments, self.parameters_as_defaults)
        try:
            request = check_call(op, given, label)
        except ArgumentError as exc:
            warnings.extend(getattr(exc, "warnings", ()))
            message = f"{label}: {exc}" if self.executor.prefix_argument_errors else str(exc)
            value = _refused(self.executor, message, STATUS_BAD_REQUEST)
            return self._outcome(operation, shown, value, started, warnings, STATUS_BAD_REQUEST, True)
        warnings.extend(request.warnings)
        reply = self.executor.execute(operation, op, request, deadline, warnings)
        if isinstance(reply.value, NestedCall):  # the handler runs in Lua, inside the caller's execution
            outcome = self._outcome(operation, shown, {"runs": reply.value.function}, started, warnings, 200, False)
            outcome.value = reply.value
            return outcome
        if not reply.ok:  # an executor may hand the whole error table (a model's, with fields of its own)
            value = reply.value if isinstance(reply.value, dict) else error_table(
                reply.error or "", reply.status, reply.error_type or SERVER_ERROR)
            return self._outcome(operation, shown, value, started, warnings, reply.status, True)
        return self._outcome(operation, shown, reply.value, started, warnings, reply.status, False)

    def reset(self) -> None:
        self.executor.reset()

    def close(self) -> None:
        self.executor.close()

    def _outcome(
        self, operation: str, arguments: Any, value: Any, started: float, warnings: list[str], status: int,
        failed: bool,
    ) -> CallOutcome:
        return redacted_record(self.alias, operation, arguments, value, started, warnings, status, failed,
                               self.secrets)


def Service(  # noqa: N802 - the former http engine's name, kept for callers that build one directly
    spec: ServiceSpec,
    config_section: Mapping[str, Any],
    *,
    base_url: str | None = None,
    session: requests.Session | None = None,
) -> Dispatcher:
    """An http service: a Dispatcher over an HttpExecutor."""
    return Dispatcher(spec, HttpExecutor(spec, config_section, base_url=base_url, session=session))


def _refused(executor: Executor, message: str, status: int) -> dict[str, Any]:
    """A refused call's error table: shaped as the service's own errors where its model says how
    (`refusal_table(message, status)`), else Murano's {error, status, type}."""
    shape = getattr(getattr(executor, "model", None), "refusal_table", None)
    return shape(message, status) if callable(shape) else error_table(message, status, QUERY_ERROR)


def LocalService(  # noqa: N802 - the former local engine's name, kept for callers that build one directly
    spec: ServiceSpec,
    host: ServiceHost,
    model: Any = None,
    *,
    parameters_as_defaults: bool = False,
    make: Callable[[ServiceHost], Any] | None = None,
) -> Dispatcher:
    """A local service: a Dispatcher over a LocalExecutor. The model: the one given, else make(host), else
    the spec's implementation class; the latter two built on first use."""
    if model is not None:
        executor = LocalExecutor(model, host)
    else:
        executor = LocalExecutor(None, host, make=make or (lambda built_over: load_model(spec, built_over)))
    return Dispatcher(spec, executor, parameters=host.parameters if parameters_as_defaults else None)


def load_model(spec: ServiceSpec, host: ServiceHost, reference: str | None = None) -> Any:
    """The model class a plugin (or the spec's `implementation`) names, "module:Class", built over host."""
    return load_attribute(reference or spec.implementation or "")(host)


def redacted_record(
    alias: str,
    operation: str,
    arguments: Any,
    value: Any,
    started: float,
    warnings: list[str],
    status: int,
    failed: bool,
    secrets: list[str],
) -> CallOutcome:
    """The outcome of one call with its call-log entry, every secret redacted (the last line of defence)."""
    if secrets:
        value = redacted(value, secrets)
        arguments = redacted(arguments, secrets)
        warnings = [redact(line, secrets) for line in warnings]
    record: dict[str, Any] = {"service": alias, "operation": operation, "arguments": arguments, "status": status}
    if failed:
        record["error"] = value["error"]
    else:
        record["result"] = value
    record["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
    return CallOutcome(value=value, record=record, warnings=warnings)


def redacted(node: Any, secrets: list[str]) -> Any:
    """The JSON-like value with every secret replaced (the last line of defence): a copy where one
    is replaced, the value itself when it is plain data holding none (every call's record passes here)."""
    if _clean(node, secrets):
        return node
    return _redacted_copy(node, secrets)


def _clean(node: Any, secrets: list[str]) -> bool:
    """True when node is dicts, lists and scalars only, with no secret in any string: nothing to copy.

    A loop over a stack, strings checked where they are met: every call record of a run passes here
    (a recursive call per node cost about a third of a Keystore pair's redaction, docs/benchmarks.md)."""
    secrets = [secret for secret in secrets if secret]
    stack = [node]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        kind = type(node)
        if kind is str:
            for secret in secrets:
                if secret in node:
                    return False
        elif kind is dict:
            for key, item in node.items():
                if type(key) is str:
                    for secret in secrets:
                        if secret in key:
                            return False
                else:
                    push(key)
                if type(item) is str:
                    for secret in secrets:
                        if secret in item:
                            return False
                elif item is not None:
                    push(item)
        elif kind is list:
            stack.extend(node)
        elif not (kind is int or kind is float or kind is bool or node is None):
            return False
    return True


def _redacted_copy(node: Any, secrets: list[str]) -> Any:
    kind = type(node)  # exact types first
    if kind is str or (kind is not dict and kind is not list and isinstance(node, str)):
        for secret in secrets:
            if secret and secret in node:
                return redact(node, secrets)
        return node
    if kind is dict or (kind is not list and isinstance(node, Mapping)):
        return {_redacted_copy(k, secrets): _redacted_copy(v, secrets) for k, v in node.items()}
    if kind is list or isinstance(node, (list, tuple)):  # a model's tuple too: the last line of defence
        return [_redacted_copy(v, secrets) for v in node]
    return node


def _unwrap_body(arguments: Any, known: Mapping[str, Any]) -> Any:
    """Murano's June 2016 services took their arguments wrapped in `body` (Keystore.set{key, body = {value}}):
    unwrap it when the operation has no `body` argument of its own."""
    if "body" in known or not (type(arguments) is dict or isinstance(arguments, Mapping)):  # dict: no ABC check
        return arguments
    body = arguments.get("body")
    if body is not None and isinstance(body, Mapping):
        merged = {k: v for k, v in arguments.items() if k != "body"}
        merged.update(body)
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


def _hide_secret_arguments(arguments: Any, op: OperationSpec) -> Any:
    """The arguments as the call log keeps them: every `secret` argument (or secret field) replaced,
    also inside a June 2016 `body` wrapper. The model still gets the real values."""
    secret = op.secret_arguments
    if not secret or not isinstance(arguments, Mapping):
        return arguments
    shown = dict(arguments)
    for name, rule in secret.items():
        if name not in shown:
            continue
        if not isinstance(rule, tuple) or not isinstance(shown[name], Mapping):  # the whole argument is secret
            shown[name] = REDACTED
        else:
            shown[name] = {k: (REDACTED if k in rule else v) for k, v in shown[name].items()}
    if "body" not in op.arguments and isinstance(shown.get("body"), Mapping):
        shown["body"] = _hide_secret_arguments(shown["body"], op)
    return shown
