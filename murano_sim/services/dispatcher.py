"""The generic dispatcher: one Service per data file; every operation goes validate -> HTTP -> result."""

from __future__ import annotations

import re
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from ..config import redact
from ..errors import ConfigError
from .spec import OperationSpec, ServiceSpec
from .transport import QUERY_ERROR, SERVER_ERROR, Transport
from .validation import ArgumentError, check_call

STATUS_BAD_REQUEST = 400


@dataclass
class CallOutcome:
    """What one operation call gives Lua, the call-log entry, and log lines for the run."""

    value: Any  # JSON-like result, None, or the error table {"error", "status", "type"}
    record: dict[str, Any] | None  # None: not a call of the script's (a test control)
    warnings: list[str] = field(default_factory=list)


def error_table(message: str, status: int, error_type: str) -> dict[str, Any]:
    # status_code: the deprecated spelling that code in the wild still reads (ret.status_code)
    return {"error": message, "status": status, "type": error_type, "status_code": status}


class Service:
    """A data-described service bound to its configuration and a transport."""

    def __init__(
        self,
        spec: ServiceSpec,
        config_section: Mapping[str, Any],
        *,
        base_url: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.spec = spec
        self.alias = spec.alias
        self.global_names = spec.global_names
        self.operations = tuple(spec.operations)
        params = _config_parameters(spec, config_section)
        self._secrets = sorted({params[k] for k in spec.secret_keys() if params.get(k)}, key=len, reverse=True)
        auth = (params[spec.auth["username"]], params[spec.auth["password"]]) if spec.auth["type"] == "basic" else None
        url = base_url or config_section.get("base_url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"services.{spec.alias}.base_url: must be an http:// or https:// URL")
        self.transport = Transport(
            url,
            auth=auth,
            timeout=float(config_section.get("timeout_seconds", 10)),
            retries=int(config_section.get("retries", 3)),
            backoff=float(config_section.get("backoff_seconds", 0.2)),
            session=session,
        )
        # Config placeholders ({AccountSid}) are filled once; argument placeholders per call.
        self._paths = {name: _path_template(op, params) for name, op in spec.operations.items()}

    def __repr__(self) -> str:
        return f"Service(alias={self.alias!r}, base_url={self.transport.base_url!r}, operations={len(self.operations)})"

    def close(self) -> None:
        self.transport.close()

    def call(self, operation: str, arguments: Any, *, deadline: float | None = None) -> CallOutcome:
        """Run one operation for a script. Never raises for anything a script or the network can cause."""
        started = time.perf_counter()
        label = f"{self.global_names[0]}.{operation}"
        warnings: list[str] = []
        op = self.spec.operations.get(operation)
        if op is None:
            value = error_table(f"{label}: no such operation", STATUS_BAD_REQUEST, QUERY_ERROR)
            return self._outcome(operation, arguments, value, started, warnings, STATUS_BAD_REQUEST, failed=True)
        try:
            request = check_call(op, arguments, label)
        except ArgumentError as exc:
            warnings.extend(getattr(exc, "warnings", ()))
            value = error_table(str(exc), STATUS_BAD_REQUEST, QUERY_ERROR)
            return self._outcome(operation, arguments, value, started, warnings, STATUS_BAD_REQUEST, failed=True)
        warnings.extend(request.warnings)
        path = _fill(self._paths[operation], request.path)
        reply = self.transport.send(
            op.method, path, query=request.query, form=request.form, json_body=request.json or None,
            deadline=deadline, on_retry=lambda line: warnings.append(f"{label}: {line}"),
        )
        if reply.ok:
            value = None if op.returns == "nil" else reply.value
        else:
            value = error_table(reply.error or "", reply.status, reply.error_type or SERVER_ERROR)
        return self._outcome(operation, arguments, value, started, warnings, reply.status, failed=not reply.ok)

    def _outcome(
        self,
        operation: str,
        arguments: Any,
        value: Any,
        started: float,
        warnings: list[str],
        status: int,
        *,
        failed: bool,
    ) -> CallOutcome:
        return redacted_record(
            self.alias, operation, arguments, value, started, warnings, status, failed, self._secrets
        )


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


def _config_parameters(spec: ServiceSpec, section: Mapping[str, Any]) -> dict[str, str]:
    """Murano's configuration parameters from config.yaml, checked without ever showing a secret."""
    params: dict[str, str] = {}
    for key, rules in spec.config_keys.items():
        value = section.get(key)
        where = f"services.{spec.alias}.{key}"
        if value is None or value == "":
            raise ConfigError(f"{where} is missing")
        value = str(value)
        pattern = rules.get("pattern")
        if pattern and not re.search(pattern, value):
            raise ConfigError(f"{where} is malformed: expected {pattern}")
        params[key] = value
    return params


def _path_template(op: OperationSpec, params: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """The path as (literal, argument-name-or-None) pieces with config values already in place."""
    pieces: list[tuple[str, str | None]] = []
    for literal, name, _, _ in string.Formatter().parse(op.path):
        if name is None:
            pieces.append((literal, None))
        elif name in params:
            pieces.append((literal + quote(params[name], safe=""), None))
        else:
            pieces.append((literal, name))
    return pieces


def _fill(pieces: list[tuple[str, str | None]], values: Mapping[str, str]) -> str:
    return "".join(literal + (quote(values[name], safe="") if name else "") for literal, name in pieces)


def redacted(node: Any, secrets: list[str]) -> Any:
    """A copy of a JSON-like value with every secret replaced (the last line of defence)."""
    if isinstance(node, str):
        return redact(node, secrets) if any(s in node for s in secrets) else node
    if isinstance(node, Mapping):
        return {redacted(k, secrets): redacted(v, secrets) for k, v in node.items()}
    if isinstance(node, list):
        return [redacted(v, secrets) for v in node]
    return node
