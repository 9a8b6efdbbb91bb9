"""The JSON Schema of config.yaml, and errors that say file:line, what is wrong and what was meant.

config.yaml is murano-sim's own file, so it is strict: an unknown key at any level is an error
with a did-you-mean. Each service brings the schema of its `services.<alias>` section from its
spec (Murano's configuration parameters plus murano-sim's own settings), handed in by the caller
(ServiceSettings), as are the top-level sections a service owns.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import yaml

from ..errors import ConfigError
from . import yamlfile
from .era import SCHEMA as ERA_SCHEMA
from .service_settings import ServiceSettings

if TYPE_CHECKING:
    import jsonschema

_POSITIVE = {"type": "number", "exclusiveMinimum": 0}
_COUNT = {"type": "integer", "exclusiveMinimum": 0}
_SCALAR = {"type": ["string", "number", "boolean", "null"]}

_TOP: dict[str, Any] = {
    "lua": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "max_instructions": _COUNT, "max_memory": _COUNT, "timeout_seconds": _POSITIVE,
            "max_log_lines": _COUNT, "max_log_bytes": _COUNT, "max_vm_memory": _COUNT,
        },
    },
    "env": {"type": "object", "additionalProperties": _SCALAR},
    # Which year's Murano the solution was written for (config/era.py); the layout decides without it.
    "era": ERA_SCHEMA,
    "serve": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "max_body_bytes": {"type": "integer", "minimum": 0},
            # Endpoint requests that may wait for the solution's VM (FIFO); beyond it 503 + Retry-After.
            "max_queued": {"type": "integer", "minimum": 1},
            "retry_after_seconds": {"type": "integer", "minimum": 1},
            # serve's threads on the CPU it started on (solution/affinity.py); false: on every CPU.
            "one_cpu": {"type": "boolean"},
            "console_remote": {"type": "boolean"},
            # Enforce --#RATELIMIT and Webservice rate_limit (serve: on; pytest fixtures and cases: off).
            "rate_limits": {"type": "boolean"},
            # Host names the device API answers besides loopback (firmware pointed here via a hosts file).
            "device_hosts": {"type": "array", "items": {"type": "string", "minLength": 1}},
            # The MQTT device port: TLS with a local CA (default) or plain TCP for firmware without TLS.
            "mqtt_tls": {"type": "boolean"},
            "mqtt_ca_dir": {"type": "string", "minLength": 1},  # where the local CA is kept (default: data dir)
            "mqtt_resend_seconds": {"type": "number", "exclusiveMinimum": 0},  # an unacknowledged delivery is resent
            # Values a served endpoint's --#SECURITY credential must match (opt-in; empty: presence only).
            "security": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "basic": {"type": "array", "items": {
                        "type": "object", "additionalProperties": False, "required": ["user", "password"],
                        "properties": {"user": {"type": "string"}, "password": {"type": ["string", "integer"]}}}},
                    "bearer": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "apiKey": {"type": "array", "items": {"type": ["string", "integer"]}},
                },
            },
        },
    },
}
def config_schema(services: Sequence[ServiceSettings] = ()) -> dict[str, Any]:
    """The whole file's schema: murano-sim's own sections, and each handed-in service's section(s)."""
    sections: dict[str, Any] = {}
    for service in services:
        sections.update(service.sections)
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **_TOP,
            **sections,
            "services": {
                "type": "object",
                "properties": {service.alias: dict(service.schema) for service in services},
                # A service murano-sim does not ship is declared as a stand-in (docs/services/standins.md).
                "additionalProperties": {"type": "object", "required": ["standin"]},
            },
        },
    }


def check_config(raw: Any, source: str, text: str | None = None, services: Sequence[ServiceSettings] = ()) -> None:
    """Raise ConfigError for the first problem, as `file:line: key.path: what (did you mean ...?)`."""
    schema = config_schema(services)
    if raw == {} and "required" not in schema:
        return  # no file, or an empty one: nothing to check (and jsonschema, 50 ms, stays unimported)
    import jsonschema  # here: a run with the built-in defaults never needs it

    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(raw), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    error = min(errors, key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    path = [str(p) for p in error.absolute_path]
    message = _describe(error, path)
    if error.validator == "additionalProperties":
        known = list((error.schema.get("properties") or {}).keys())
        extra = sorted(set(error.instance) - set(known))
        if extra:
            path = [*path, str(extra[0])]
            message = "unknown " + ("service" if path[:1] == ["services"] and len(path) == 2 else "key")
            message += _did_you_mean(extra[0], known)
    elif error.validator == "required" and path[:1] == ["services"] and len(path) == 2:
        known = list(schema["properties"]["services"]["properties"])
        message = "unknown service" + _did_you_mean(path[1], known) + " (declare a stand-in with `standin:`)"
    where = ".".join(path) or "(top level)"
    line = _line_of(text, path) if text is not None else None
    raise ConfigError(f"{source}:{line}: {where}: {message}" if line else f"{source}: {where}: {message}")


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6) or difflib.get_close_matches(
        name.lower(), [k.lower() for k in known], n=1, cutoff=0.6)
    if close:
        match = next((k for k in known if k.lower() == close[0].lower()), close[0])
        return f" {name!r} (did you mean {match!r}?)"
    return f" {name!r} (known: {', '.join(known)})" if known else f" {name!r}"


def _describe(error: jsonschema.ValidationError, path: list[str]) -> str:
    value = error.instance
    shown = "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else repr(value)
    if error.validator == "type":
        expected: Any = error.validator_value
        wanted = expected if isinstance(expected, str) else " or ".join(expected)
        names = {"object": "a mapping", "array": "a list", "integer": "a whole number", "number": "a number",
                 "string": "text", "boolean": "true or false", "null": "empty"}
        wanted = " or ".join(names.get(w, w) for w in wanted.split(" or "))
        return f"must be {wanted}, got {shown}"
    if error.validator == "enum":
        return f"must be one of {', '.join(map(str, cast(list, error.validator_value)))}, got {shown}"
    if error.validator == "minimum":
        return f"must be at least {error.validator_value}, got {shown}"
    if error.validator == "exclusiveMinimum":
        if error.validator_value == 0:
            return f"must be a positive number, got {shown}"
        return f"must be more than {error.validator_value}, got {shown}"
    if error.validator == "maximum":
        return f"must be at most {error.validator_value}, got {shown}"
    return f"{error.message}"


def _line_of(text: str, path: list[str]) -> int | None:
    """The 1-based line where `path` (or its nearest existing parent) is written in the YAML text."""
    try:
        node = yamlfile.compose(text, "")
    except ConfigError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if str(k.value) == part), None)
            if match is None:
                return line
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            return line
    return line

