"""Murano's argument rules, checked before any HTTP: types, formats, patterns, enumerations,
required arguments. A passing call yields the wire values (strings) grouped by where they go."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from .spec import ArgumentSpec, OperationSpec

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
# An alphanumeric sender ID (SMS APIs'): up to 11 letters, digits and spaces, at least one letter.
SENDER_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HOSTNAME = re.compile(r"^[A-Za-z0-9.-]+$")

FORMAT_RULES = {
    "e164": "must be an E.164 phone number like +16175551212",
    "endpoint": "must be an E.164 phone number like +16175551212, a sip: address or a client: identifier",
    "sender": "must be an E.164 phone number like +16175551212 or an alphanumeric sender ID",
    "uri": "must be an absolute http:// or https:// URL with a valid host name",
    "date": "must be a date given as YYYY-MM-DD",
}


class ArgumentError(ValueError):
    """An argument breaks a rule; the message names the argument and the rule."""

    warnings: Sequence[str] = ()


@dataclass
class Request:
    """The checked call, as wire strings grouped by location."""

    path: dict[str, str] = field(default_factory=dict)
    query: list[tuple[str, str]] = field(default_factory=list)
    form: list[tuple[str, str]] = field(default_factory=list)
    json: dict[str, Any] = field(default_factory=dict)
    args: dict[str, Any] = field(default_factory=dict)  # a local service's arguments, as Python values
    warnings: list[str] = field(default_factory=list)


def check_call(operation: OperationSpec, arguments: Any, label: str) -> Request:
    """Validate a script's arguments for one operation; raise ArgumentError on the first violation.

    The error carries the warnings found so far (`.warnings`), so an unknown name is still reported.
    """
    request = Request()
    try:
        _check_into(request, operation, arguments, label)
    except ArgumentError as exc:
        exc.warnings = request.warnings
        raise
    return request


def _check_into(request: Request, operation: OperationSpec, arguments: Any, label: str) -> None:
    given = _as_mapping(arguments)
    for name, value in given.items():
        spec = operation.arguments.get(name)
        if spec is None:
            if operation.additional_arguments:
                request.args[name] = value
            else:
                request.warnings.append(unknown_argument_warning(label, name, operation.arguments))
            continue
        if value is None or (not spec.only_none_is_absent and (value == "" or value == [])):
            continue  # _is_absent_for, inline: once per argument of every call
        if spec.location == "arg":
            request.args[name] = _local_value(spec, value)
            continue
        wire = _check_value(spec, value)
        if spec.location == "path":
            request.path[name] = wire  # type: ignore[assignment]
        elif spec.location == "json":
            request.json[name] = _json_value(spec, wire)
        else:
            pairs = [(name, item) for item in wire] if isinstance(wire, list) else [(name, wire)]
            (request.query if spec.location == "query" else request.form).extend(pairs)
    for spec in operation.required_arguments:
        if _is_absent_for(spec, given.get(spec.name)):
            raise ArgumentError(f"{spec.name}: is required")
    for group in operation.require:
        if all(_is_absent(given.get(name)) for name in group):
            if len(group) == 1:
                raise ArgumentError(f"{group[0]}: is required")
            raise ArgumentError(f"{' or '.join(group)}: one of these is required")


def unknown_argument_warning(label: str, name: str, known: Mapping[str, ArgumentSpec]) -> str:
    """Name the unknown argument and the closest known one (same name ignoring case first)."""
    if not known:
        return f"{label}: unknown argument {name!r} was not sent (this operation takes no arguments)"
    by_case = {k.lower(): k for k in known}
    closest = by_case.get(name.lower())
    if closest is None:
        lowered = difflib.get_close_matches(name.lower(), list(by_case), n=1, cutoff=0.6)
        closest = by_case[lowered[0]] if lowered else None
    if closest is not None:
        return f"{label}: unknown argument {name!r} was not sent (did you mean {closest!r}?)"
    return f"{label}: unknown argument {name!r} was not sent (known: {', '.join(known)})"


def _as_mapping(arguments: Any) -> Mapping[str, Any]:
    if type(arguments) is not dict:  # a dict (every call from Lua) skips the ABC check
        if arguments is None or arguments == []:
            return {}  # Service.op() and Service.op({})
        if not isinstance(arguments, Mapping):
            raise ArgumentError(f"arguments: must be a table of named arguments, got {_kind(arguments)}")
    for key in arguments:
        if type(key) is not str and not isinstance(key, str):
            raise ArgumentError(f"arguments: must be a table of named arguments, got a key {key!r}")
    return arguments


def _is_absent(value: Any) -> bool:
    return value is None or value == "" or value == []


def _is_absent_for(spec: ArgumentSpec, value: Any) -> bool:
    """An http API treats "" as not given; a local service's value may be "" or an empty table."""
    if spec.only_none_is_absent:
        return value is None
    return _is_absent(value)


def _check_value(spec: ArgumentSpec, value: Any) -> str | list[str] | Any:
    if spec.type == "array":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ArgumentError(f"{spec.name}: must be a string or an array of strings, got {_kind(value)}")
        for item in items:
            _check_string(spec, item)
        return list(items)
    if spec.type == "integer":
        return str(_integer(spec, value))
    if spec.type == "number":
        return _number(spec, value)
    if spec.type == "boolean":
        return _boolean(spec, value)
    if not isinstance(value, str):
        raise ArgumentError(f"{spec.name}: must be a string, got {_kind(value)}")
    _check_string(spec, value)
    return value


def _local_value(spec: ArgumentSpec, value: Any) -> Any:
    """A local service's argument, checked and kept as a Python value."""
    if spec.type == "any":
        return value
    if spec.type == "list":
        if value == {}:
            return []  # an empty Lua table is an empty list here
        if not isinstance(value, list):
            raise ArgumentError(f"{spec.name}: must be an array, got {_kind(value)}")
        return value
    if spec.type == "object":
        if value == []:
            return {}
        if not isinstance(value, Mapping):
            raise ArgumentError(f"{spec.name}: must be a table of named values, got {_kind(value)}")
        return value
    if spec.type == "scalar":
        if not isinstance(value, (str, int, float, bool)):
            raise ArgumentError(f"{spec.name}: must be a string, number or boolean, got {_kind(value)}")
        return value
    if spec.type == "integer":
        return _integer(spec, value)
    if spec.type == "number":
        return float(_number(spec, value)) if not isinstance(value, (int, float)) else value
    if spec.type == "boolean":
        return _boolean(spec, value) == "true"
    return _check_value(spec, value)


def _json_value(spec: ArgumentSpec, wire: Any) -> Any:
    """A JSON body keeps JSON types; only form and query need strings."""
    if spec.type == "integer":
        return int(wire)
    if spec.type == "number":
        return float(wire)
    if spec.type == "boolean":
        return wire == "true"
    return wire


def _check_string(spec: ArgumentSpec, value: str) -> None:
    if spec.enum is not None and value not in spec.enum:
        raise ArgumentError(f"{spec.name}: must be one of {', '.join(spec.enum)}, got {value!r}")
    if spec.pattern is not None and not spec.pattern.search(value):
        raise ArgumentError(f"{spec.name}: {spec.rule or 'must match ' + spec.pattern.pattern}")
    if spec.format is not None and not _has_format(spec.format, value):
        raise ArgumentError(f"{spec.name}: {FORMAT_RULES[spec.format]}")


def _has_format(fmt: str, value: str) -> bool:
    if fmt == "e164":
        return bool(E164.match(value))
    if fmt == "endpoint":
        # Calls may also go to a SIP address or a client identifier (client:name).
        return bool(E164.match(value)) or (value.startswith(("sip:", "client:")) and len(value.split(":", 1)[1]) > 0)
    if fmt == "sender":
        return bool(E164.match(value) or SENDER_ID.match(value))
    if fmt == "uri":
        return _is_web_url(value)
    if fmt == "date":
        if not DATE.match(value):
            return False
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True
    return True


def _is_web_url(value: str) -> bool:
    if any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return False
    # As the phone APIs say: "URLs must contain a valid hostname (underscores are not permitted)".
    return parts.scheme in ("http", "https") and bool(hostname) and bool(HOSTNAME.match(hostname or ""))


def _integer(spec: ArgumentSpec, value: Any) -> int:
    if isinstance(value, bool):
        raise ArgumentError(f"{spec.name}: must be an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)  # Lua numbers are doubles: 3600.0 is 3600
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    raise ArgumentError(f"{spec.name}: must be an integer, got {_show(value)}")


def _number(spec: ArgumentSpec, value: Any) -> str:
    if isinstance(value, bool):
        raise ArgumentError(f"{spec.name}: must be a number, got a boolean")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float) and math.isfinite(value):
        text = repr(value) if "e" not in repr(value) else f"{value:.10f}".rstrip("0").rstrip(".")
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ArgumentError(f"{spec.name}: must be a number, got {_show(value)}")
    if not re.fullmatch(r"-?(\d+\.?\d*|\.\d+)", text):
        raise ArgumentError(f"{spec.name}: {spec.rule or 'must be a number'}")
    if spec.pattern is not None and not spec.pattern.search(text):
        raise ArgumentError(f"{spec.name}: {spec.rule or 'must match ' + spec.pattern.pattern}")
    return text


def _boolean(spec: ArgumentSpec, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower()
    raise ArgumentError(f"{spec.name}: must be true or false, got {_show(value)}")


def _kind(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    return "an unsupported value"


def _show(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return repr(shown)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return _kind(value)
