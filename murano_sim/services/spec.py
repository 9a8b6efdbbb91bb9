"""A service data file (services/<alias>.yaml) read into checked, immutable descriptions."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ..config import yamlfile
from ..errors import ConfigError

# array: a string or a list of strings (an http API's repeated form fields); list: a list of any values;
# object: a table of named values; scalar: a string, number or boolean; any: whatever Lua gives.
TYPES = ("string", "integer", "number", "boolean", "array", "list", "object", "scalar", "any")
FORMATS = ("e164", "endpoint", "sender", "uri", "date")
LOCATIONS = ("path", "query", "form", "json", "arg")  # arg: a local service's argument, kept as a Python value
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# object: the result as is; nil: nothing (http services); status: Murano's 204 table {status = 204}.
RETURNS = ("object", "nil", "status")
KINDS = ("http", "local")
AUTH_TYPES = ("basic", "none")

_ARGUMENT_KEYS = {
    "type", "format", "pattern", "rule", "enum", "default", "in", "required", "description", "secret",
}
_OPERATION_KEYS = {
    "summary", "method", "path", "success", "returns", "require", "arguments", "additional_arguments", "notes",
}
_SERVICE_KEYS = {
    "alias", "globals", "summary", "config", "auth", "base_path", "operations", "kind", "implementation",
    "settings", "events", "notes",
}
_CONFIG_RULE_KEYS = {"pattern", "secret", "type", "default", "description", "enum"}

@dataclass(frozen=True)
class ArgumentSpec:
    name: str
    type: str
    location: str
    format: str | None = None
    pattern: re.Pattern[str] | None = None
    rule: str | None = None  # how to say the pattern in an error message
    enum: tuple[str, ...] | None = None
    default: Any = None
    required: bool = False
    # Never in a call log: True hides the whole value; a tuple names the secret fields of an object argument.
    secret: bool | tuple[str, ...] = False

    @cached_property
    def only_none_is_absent(self) -> bool:
        """An http API treats "" and [] as not given; a local service's value may be "" or an empty table."""
        return self.location == "arg" and self.type in ("any", "scalar", "list", "object")


@dataclass(frozen=True)
class OperationSpec:
    name: str
    summary: str
    method: str
    path: str  # full template: base_path + the operation's path
    success: int
    returns: str
    arguments: dict[str, ArgumentSpec]
    require: tuple[tuple[str, ...], ...]  # each group needs one present argument
    additional_arguments: bool = False  # local services: names not listed are passed through, not warned about

    def location_of(self, location: str) -> list[ArgumentSpec]:
        return [arg for arg in self.arguments.values() if arg.location == location]

    # Read on every call: built once per operation (the spec is frozen).
    @cached_property
    def secret_arguments(self) -> dict[str, bool | tuple[str, ...]]:
        """name -> its `secret` rule, for the arguments a call log hides."""
        return {name: arg.secret for name, arg in self.arguments.items() if arg.secret}

    @cached_property
    def required_arguments(self) -> tuple[ArgumentSpec, ...]:
        return tuple(arg for arg in self.arguments.values() if arg.required)


@dataclass(frozen=True)
class ServiceSpec:
    alias: str
    global_names: tuple[str, ...]
    summary: str
    config_keys: dict[str, Mapping[str, Any]]  # Murano's configuration parameters
    auth: Mapping[str, str]
    operations: dict[str, OperationSpec]
    source: str
    kind: str = "http"
    implementation: str | None = None  # local services: "module:Class" of the model
    settings: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # murano-sim's own keys (not Murano's)
    # event name -> the handler's argument name; "*": the argument of any other event
    events: dict[str, str] = field(default_factory=dict)

    def secret_keys(self) -> list[str]:
        return list(self._secret_keys)

    @cached_property
    def _secret_keys(self) -> tuple[str, ...]:  # asked on every execution (redaction); a spec does not change
        return tuple(key for key, rules in self.config_keys.items() if rules.get("secret"))

    def defaults(self) -> dict[str, Any]:
        """The configuration parameters' built-in defaults."""
        return {key: rules["default"] for key, rules in self.config_keys.items() if "default" in rules}


def load_spec(path: str | Path) -> ServiceSpec:
    """Read and check one service data file; a mistake in it raises ConfigError naming the place."""
    path = Path(path)
    source = str(path)
    return parse_spec(yamlfile.load(path, source, what="service file"), source)


def parse_spec(raw: Any, source: str) -> ServiceSpec:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping")
    _no_unknown(raw, _SERVICE_KEYS, source)
    alias = raw.get("alias")
    if not isinstance(alias, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", alias):
        raise ConfigError(f"{source}: alias must be a lower-case name, got {alias!r}")
    global_names = raw.get("globals") or [alias[0].upper() + alias[1:]]
    if not isinstance(global_names, list) or not all(isinstance(g, str) and g.isidentifier() for g in global_names):
        raise ConfigError(f"{source}: globals must be a list of Lua names")
    config_keys = raw.get("config") or {}
    if not isinstance(config_keys, Mapping) or not all(isinstance(v or {}, Mapping) for v in config_keys.values()):
        raise ConfigError(f"{source}: config must map each configuration parameter to its rules")
    config_keys = {str(k): dict(v or {}) for k, v in config_keys.items()}
    for key, rules in config_keys.items():
        _no_unknown(rules, _CONFIG_RULE_KEYS, f"{source}: config.{key}")
    kind = raw.get("kind", "http")
    if kind not in KINDS:
        raise ConfigError(f"{source}: kind must be one of {', '.join(KINDS)}")
    implementation = raw.get("implementation")
    if kind == "local" and (not isinstance(implementation, str) or ":" not in implementation):
        raise ConfigError(f"{source}: a local service needs implementation: module:Class")
    settings = raw.get("settings") or {}
    if not isinstance(settings, Mapping):
        raise ConfigError(f"{source}: settings must map each murano-sim setting to its rules")
    events = raw.get("events") or {}
    if not isinstance(events, Mapping) or not all(isinstance(v, str) for v in events.values()):
        raise ConfigError(f"{source}: events must map each event name to its handler's argument name "
                          "(then, space-separated, other names it is also visible under)")
    auth = dict(raw.get("auth") or {"type": "none"})
    if auth.get("type") not in AUTH_TYPES:
        raise ConfigError(f"{source}: auth.type must be one of {', '.join(AUTH_TYPES)}")
    if auth["type"] == "basic":
        for part in ("username", "password"):
            if auth.get(part) not in config_keys:
                raise ConfigError(f"{source}: auth.{part} must name a parameter listed under config")
    base_path = raw.get("base_path") or ""
    if not isinstance(base_path, str) or (base_path and not base_path.startswith("/")):
        raise ConfigError(f"{source}: base_path must start with /")
    operations = raw.get("operations")
    if not isinstance(operations, Mapping) or not operations:
        raise ConfigError(f"{source}: operations must be a non-empty mapping")
    parsed = {
        str(name): _parse_operation(str(name), body, base_path, set(config_keys), f"{source}: operations.{name}", kind)
        for name, body in operations.items()
    }
    return ServiceSpec(
        alias=alias,
        global_names=tuple(global_names),
        summary=str(raw.get("summary") or ""),
        config_keys=config_keys,
        auth=auth,
        operations=parsed,
        source=source,
        kind=kind,
        implementation=implementation,
        settings={str(k): dict(v or {}) for k, v in settings.items()},
        events={str(k): str(v) for k, v in events.items()},
    )


def _parse_operation(
    name: str, raw: Any, base_path: str, config_keys: set[str], where: str, kind: str = "http"
) -> OperationSpec:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a mapping")
    _no_unknown(raw, _OPERATION_KEYS, where)
    if not name.isidentifier():
        raise ConfigError(f"{where}: the operation name must be a Lua name")
    if kind == "local":
        return _parse_local_operation(name, raw, where)
    method = str(raw.get("method", "")).upper()
    if method not in METHODS:
        raise ConfigError(f"{where}.method: must be one of {', '.join(METHODS)}")
    op_path = raw.get("path")
    if not isinstance(op_path, str) or not op_path.startswith("/"):
        raise ConfigError(f"{where}.path: must start with /")
    path = base_path + op_path
    success = raw.get("success", 200)
    if not isinstance(success, int) or not 200 <= success < 300:
        raise ConfigError(f"{where}.success: must be a 2xx status")
    returns = raw.get("returns", "object")
    if returns not in RETURNS:
        raise ConfigError(f"{where}.returns: must be object or nil")
    raw_args = raw.get("arguments") or {}
    if not isinstance(raw_args, Mapping):
        raise ConfigError(f"{where}.arguments: must be a mapping")
    arguments = {str(n): _parse_argument(str(n), a, f"{where}.arguments.{n}") for n, a in raw_args.items()}
    placeholders = [name for _, name, _, _ in string.Formatter().parse(path) if name]
    for placeholder in placeholders:
        if placeholder in config_keys:
            continue
        arg = arguments.get(placeholder)
        if arg is None or arg.location != "path":
            raise ConfigError(
                f"{where}.path: {{{placeholder}}} must be a config parameter or an argument with in: path"
            )
    for arg in arguments.values():
        if arg.location == "path" and arg.name not in placeholders:
            raise ConfigError(f"{where}.arguments.{arg.name}: in: path but the path has no {{{arg.name}}}")
        if arg.location in ("form", "json") and method in ("GET", "DELETE"):
            raise ConfigError(f"{where}.arguments.{arg.name}: a {method} request has no body")
    require = _parse_require(raw, arguments, where)
    return OperationSpec(
        name=name,
        summary=str(raw.get("summary") or ""),
        method=method,
        path=path,
        success=success,
        returns=returns,
        arguments=arguments,
        require=require,
    )


def _parse_local_operation(name: str, raw: Mapping[str, Any], where: str) -> OperationSpec:
    """An in-process operation: no method or path, arguments checked and passed as Python values."""
    returns = raw.get("returns", "object")
    if returns not in RETURNS:
        raise ConfigError(f"{where}.returns: must be one of {', '.join(RETURNS)}")
    raw_args = raw.get("arguments") or {}
    if not isinstance(raw_args, Mapping):
        raise ConfigError(f"{where}.arguments: must be a mapping")
    arguments = {
        str(n): _parse_argument(str(n), a, f"{where}.arguments.{n}", default_location="arg")
        for n, a in raw_args.items()
    }
    require = _parse_require(raw, arguments, where)
    return OperationSpec(
        name=name, summary=str(raw.get("summary") or ""), method="LOCAL", path="", success=200, returns=returns,
        arguments=arguments, require=require, additional_arguments=bool(raw.get("additional_arguments")),
    )


def _parse_require(
    raw: Mapping[str, Any], arguments: Mapping[str, ArgumentSpec], where: str
) -> tuple[tuple[str, ...], ...]:
    require = raw.get("require") or []
    if not isinstance(require, list) or not all(isinstance(g, list) and g for g in require):
        raise ConfigError(f"{where}.require: must be a list of lists of argument names")
    for group in require:
        for member in group:
            if member not in arguments:
                raise ConfigError(f"{where}.require: {member!r} is not an argument")
    return tuple(tuple(str(m) for m in group) for group in require)


def _parse_argument(name: str, raw: Any, where: str, default_location: str | None = None) -> ArgumentSpec:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a mapping")
    _no_unknown(raw, _ARGUMENT_KEYS, where)
    arg_type = raw.get("type", "string")
    if arg_type not in TYPES:
        raise ConfigError(f"{where}.type: must be one of {', '.join(TYPES)}")
    location = raw.get("in", default_location)
    if location not in LOCATIONS:
        raise ConfigError(f"{where}.in: must be one of {', '.join(LOCATIONS)}")
    fmt = raw.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise ConfigError(f"{where}.format: must be one of {', '.join(FORMATS)}")
    pattern = None
    if raw.get("pattern") is not None:
        try:
            pattern = re.compile(str(raw["pattern"]))
        except re.error as exc:
            raise ConfigError(f"{where}.pattern: not a valid regular expression ({exc})") from None
    enum = raw.get("enum")
    if enum is not None and (not isinstance(enum, list) or not enum):
        raise ConfigError(f"{where}.enum: must be a non-empty list")
    secret = raw.get("secret", False)
    if isinstance(secret, list) and secret and all(isinstance(f, str) for f in secret):
        secret = tuple(secret)
    elif not isinstance(secret, bool):
        raise ConfigError(f"{where}.secret: must be true, false or a list of field names")
    return ArgumentSpec(
        name=name,
        type=arg_type,
        location=location,
        format=fmt,
        pattern=pattern,
        rule=raw.get("rule"),
        enum=tuple(str(v) for v in enum) if enum else None,
        default=raw.get("default"),
        required=bool(raw.get("required")) or location == "path",
        secret=secret,
    )


def _no_unknown(raw: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(map(str, raw)) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
