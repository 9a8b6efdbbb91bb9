"""Stand-in services: a service murano-sim does not emulate, declared in config.yaml.

    services:
      weather:                          # the alias: the global is Weather, also murano.services.weather
        appid: my-key                   # configuration parameters (default arguments of the same name)
        standin:
          swagger: openweather.yaml     # optional: a Swagger 2.0 document with Murano's x-exosite-* keys
          operations:                   # canned answers per operation (required without swagger)
            getWeather: {result: {main: {temp: 21.5}}}
            getForecast: {error: {status: 404, error: city not found}}
            ping: {arguments: {host: {type: string, required: true}}}   # without swagger only
          lua: weather.lua              # optional: a file returning a table of functions, one per operation

From a Swagger document each operationId becomes an operation, its parameters the arguments
(type, required, enum, pattern), x-exosite-config-parameters the configuration parameters;
the answer is the canned one, else the success response's example, else an empty table.
An operation the Lua file implements runs its function inside the caller's execution instead
(a NestedCall: see run_standin in lua/sandbox.lua).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..config import LuaLimits, yamlfile
from ..errors import ConfigError
from ..lua.vm import LuaVM, NestedCall
from .host import NO_CONTENT, ServiceError, ServiceHost
from .spec import ServiceSpec, parse_spec

_DECLARATION_KEYS = {"swagger", "operations", "lua"}
_CANNED_KEYS = {"result", "error", "arguments"}
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
# Swagger 2.0 types -> our argument types ("array" is a list here, not the http specs' string-or-list).
_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean", "array": "list",
          "object": "object", "file": "any"}
_MAX_REF_DEPTH = 32
NO_RESULT = object()


# Runs a stand-in file once, without services, to learn which functions it returns.
_PROBE = (
    "local t = (function(...) {source}\nend)()\n"
    "if type(t) ~= 'table' then error('must return a table of functions, returned a ' .. type(t), 0) end\n"
    "local names = {} for k, v in pairs(t) do if type(k) == 'string' and type(v) == 'function' then "
    "names[#names + 1] = k end end\nreturn names"
)


class LuaFile:
    """A stand-in's Lua file: its text, and the functions it returns."""

    def __init__(self, path: Path, display: str, source: str, functions: list[str]) -> None:
        self.path, self.display, self.source, self.functions = path, display, source, functions


class StandIn:
    """The model of a stand-in: an operation runs its Lua function, else answers its canned result or error."""

    def __init__(
        self, host: ServiceHost, answers: Mapping[str, Mapping[str, Any]], lua: LuaFile | None = None
    ) -> None:
        self.host = host
        self.answers = answers
        self.lua = lua

    def perform(self, operation: str, args: dict[str, Any]) -> Any:
        lua = self.lua
        if lua is not None and operation in lua.functions:
            op = self.host.spec.operations[operation]
            label = f"{self.host.spec.global_names[0]}.{operation}"
            missing = ServiceError(500, f"{label}: {lua.display} returns no function {operation}").table()
            spec = {"alias": self.host.alias, "file": lua.display, "source": lua.source,
                    "empty": dict(NO_CONTENT) if op.returns == "status" else None}
            context = {"service": self.host.alias, "event": operation, "caller_id": "standin"}
            return NestedCall(operation, args, context, missing, returns="standin", result=spec)
        answer = self.answers.get(operation, {})
        error = answer.get("error")
        if error is not None:
            raise ServiceError(error["status"], error["error"], error.get("type"))
        return answer.get("result")


def standin_service(
    alias: str, section: Mapping[str, Any], base_dir: Path, source: str, limits: LuaLimits
) -> tuple[ServiceSpec, Callable[[ServiceHost], StandIn]]:
    """The spec and a model factory for config.yaml's services.<alias> with a `standin` key.
    `limits` bound the one sandboxed run of a Lua file that learns its functions."""
    where = f"{source}: services.{alias}.standin"
    declaration = section.get("standin")
    if not isinstance(declaration, Mapping):
        raise ConfigError(f"{where}: must be a mapping with swagger, operations and/or lua")
    _no_unknown(declaration, _DECLARATION_KEYS, where)
    lua = _lua_file(declaration.get("lua"), base_dir, f"{where}.lua", limits) if "lua" in declaration else None
    canned = declaration.get("operations") or {}
    if not isinstance(canned, Mapping) or not all(isinstance(v or {}, Mapping) for v in canned.values()):
        raise ConfigError(f"{where}.operations: must map each operation name to its answer")
    canned = {str(k): dict(v or {}) for k, v in canned.items()}
    swagger = declaration.get("swagger")
    if swagger is not None:
        if not isinstance(swagger, str) or not swagger:
            raise ConfigError(f"{where}.swagger: must be the path of a Swagger 2.0 file")
        raw, answers = _from_swagger(alias, base_dir / swagger, f"{where}.swagger")
        for name in lua.functions if lua is not None else ():
            if name not in answers:
                raise ConfigError(f"{where}.lua: {lua.display if lua else ''} returns {name}, which the Swagger "
                                  f"document does not have{_did_you_mean(name, answers)}")
    else:
        declared = {**{name: {} for name in (lua.functions if lua is not None else ())}, **canned}
        if not declared:
            raise ConfigError(f"{where}: needs operations (canned answers), swagger (a Swagger 2.0 file) or lua "
                              "(a file of functions)")
        raw = {
            "config": {str(k): {} for k in section if k != "standin"},
            "operations": {
                name: {"additional_arguments": "arguments" not in body, "arguments": body.get("arguments") or {}}
                for name, body in declared.items()
            },
        }
        answers = {name: {} for name in declared}
    for name, body in canned.items():
        op_where = f"{where}.operations.{name}"
        _no_unknown(body, _CANNED_KEYS, op_where)
        if lua is not None and name in lua.functions and ("result" in body or "error" in body):
            raise ConfigError(f"{op_where}: {lua.display} implements {name}; give its answer there, or here")
        if name not in answers:
            raise ConfigError(f"{op_where}: the Swagger document has no such operation{_did_you_mean(name, answers)}")
        if swagger is not None and "arguments" in body:
            raise ConfigError(f"{op_where}.arguments: the Swagger document gives the arguments")
        if "result" in body and "error" in body:
            raise ConfigError(f"{op_where}: give result or error, not both")
        if "result" in body:
            answers[name]["result"] = body["result"]
        if "error" in body:
            answers[name] = {"error": _canned_error(body["error"], f"{op_where}.error")}
    raw.update({
        "alias": alias, "kind": "local", "implementation": f"{__name__}:StandIn",
        "summary": f"stand-in declared in {source}", "settings": {"standin": {}},
    })
    spec = parse_spec(raw, where)
    # config.yaml's schema cannot know a Swagger document's parameters: check them here.
    for key in section:
        if key != "standin" and key not in spec.config_keys:
            hint = _did_you_mean(str(key), spec.config_keys)
            raise ConfigError(f"{source}: services.{alias}.{key}: unknown key{hint}")
    return spec, lambda host: StandIn(host, answers, lua)


def _lua_file(raw: Any, base_dir: Path, where: str, limits: LuaLimits) -> LuaFile:
    """Read the file and learn its functions by running it once in a sandbox without services."""
    if not isinstance(raw, str) or not raw:
        raise ConfigError(f"{where}: must be the path of a Lua file (relative to config.yaml)")
    path = base_dir / raw
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{where}: {path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: {path}: not UTF-8 text") from None
    outcome = LuaVM().run(_PROBE.replace("{source}", text, 1), raw, limits)
    if not outcome.ok:
        raise ConfigError(f"{where}: {raw} did not load: {outcome.error} (its top level runs without services)")
    names = outcome.message if isinstance(outcome.message, list) else []
    if not names:
        expected = "`return {opName = function(args) ... end}`"
        raise ConfigError(f"{where}: {raw} returns no functions (expected {expected})")
    return LuaFile(path, raw, text, sorted(str(n) for n in names))


def _canned_error(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a mapping with status and error")
    _no_unknown(raw, {"status", "error", "type"}, where)
    status = raw.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
        raise ConfigError(f"{where}.status: must be an HTTP error status (400 to 599)")
    message = raw.get("error")
    if not isinstance(message, str) or not message:
        raise ConfigError(f"{where}.error: must be the error text")
    if raw.get("type") is not None and not isinstance(raw["type"], str):
        raise ConfigError(f"{where}.type: must be a string such as QueryError")
    return {"status": status, "error": message, "type": raw.get("type")}


# -- Swagger 2.0 ------------------------------------------------------------------------------------
def _from_swagger(alias: str, path: Path, where: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A raw local spec and the default answers, from a Swagger 2.0 document."""
    where = f"{where}: {path}"
    doc = yamlfile.load(path, where)
    if not isinstance(doc, Mapping) or str(doc.get("swagger")) != "2.0":
        raise ConfigError(f"{where}: not a Swagger 2.0 document (swagger: '2.0' is missing)")
    resolve = _resolver(doc, where)
    paths = doc.get("paths")
    if not isinstance(paths, Mapping) or not paths:
        raise ConfigError(f"{where}: paths must be a non-empty mapping")
    operations: dict[str, Any] = {}
    answers: dict[str, dict[str, Any]] = {}
    for route, item in paths.items():
        item = resolve(item, f"paths.{route}")
        if not isinstance(item, Mapping):
            raise ConfigError(f"{where}: paths.{route}: must be a mapping")
        shared = item.get("parameters") or []
        for method in _HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            op_where = f"paths.{route}.{method}"
            if not isinstance(op, Mapping) or not isinstance(op.get("operationId"), str):
                raise ConfigError(f"{where}: {op_where}: an operation needs an operationId")
            if op.get("x-exosite-restricted"):
                continue  # Murano does not expose it to Lua (lifecycle operations)
            name = op["operationId"]
            if name in operations:
                raise ConfigError(f"{where}: {op_where}: operationId {name!r} is used twice")
            arguments = _arguments([*shared, *(op.get("parameters") or [])], resolve, f"{where}: {op_where}")
            returns, example = _success(op.get("responses") or {}, resolve)
            operations[name] = {"summary": str(op.get("summary") or op.get("description") or "").strip()[:200],
                                "returns": returns, "arguments": arguments}
            answers[name] = {} if example is NO_RESULT else {"result": example}
    config: dict[str, Any] = {}
    for param in doc.get("x-exosite-config-parameters") or []:
        if not isinstance(param, Mapping) or not isinstance(param.get("name"), str):
            raise ConfigError(f"{where}: x-exosite-config-parameters: each needs a name")
        rules: dict[str, Any] = {"type": str(param.get("type") or "string")}
        if param.get("format") == "password":
            rules["secret"] = True
        for key in ("default", "description", "enum"):
            if param.get(key) is not None:
                rules[key] = param[key]
        config[param["name"]] = rules
    return {"config": config, "operations": operations}, answers


def _arguments(params: list[Any], resolve: Callable[[Any, str], Any], where: str) -> dict[str, Any]:
    """Swagger parameters -> our arguments; an operation's own parameter replaces a path-level one."""
    by_key: dict[tuple[str, str], Mapping[str, Any]] = {}
    for raw in params:
        param = resolve(raw, where)
        if not isinstance(param, Mapping) or not isinstance(param.get("name"), str):
            raise ConfigError(f"{where}: each parameter needs a name")
        by_key[(param["name"], str(param.get("in")))] = param
    arguments: dict[str, Any] = {}
    for param in by_key.values():
        if param.get("x-exosite-restricted"):
            continue  # filled from the configuration, never from Lua
        required = bool(param.get("required")) or param.get("in") == "path"
        if param.get("in") == "body":
            schema = resolve(param.get("schema") or {}, where)
            properties = schema.get("properties") if isinstance(schema, Mapping) else None
            if isinstance(properties, Mapping) and param.get("x-exosite-expand-body-parameters", True):
                needed = set(schema.get("required") or []) if required else set()
                for prop, prop_schema in properties.items():
                    arguments[str(prop)] = _argument(resolve(prop_schema, where), str(prop) in needed)
                continue
            arguments[param["name"]] = _argument(schema, required)
        else:
            arguments[param["name"]] = _argument(param, required)
    return arguments


def _argument(schema: Any, required: bool) -> dict[str, Any]:
    schema = schema if isinstance(schema, Mapping) else {}
    kind = _TYPES.get(str(schema.get("type")), "object" if "properties" in schema else "any")
    arg: dict[str, Any] = {"type": kind, "required": required}
    if kind == "string" and isinstance(schema.get("enum"), list) and schema["enum"]:
        arg["enum"] = [str(v) for v in schema["enum"]]
    if kind == "string" and isinstance(schema.get("pattern"), str):
        arg["pattern"] = schema["pattern"]
    if schema.get("description"):
        arg["description"] = str(schema["description"])
    return arg


def _success(responses: Mapping[str, Any], resolve: Callable[[Any, str], Any]) -> tuple[str, Any]:
    """(returns, example): the first 2xx response (else default); 204 is Murano's status table."""
    by_code = {str(c): r for c, r in responses.items()}
    code = min((c for c in by_code if c.startswith("2")), default="default")
    if code == "204":
        return "status", NO_RESULT
    response = resolve(by_code.get(code), "responses")
    if not isinstance(response, Mapping):
        return "object", {}
    examples = response.get("examples")
    if isinstance(examples, Mapping) and examples:
        return "object", examples.get("application/json", next(iter(examples.values())))
    schema = resolve(response.get("schema"), "responses")
    if isinstance(schema, Mapping) and "example" in schema:
        return "object", schema["example"]
    return "object", {}


def _resolver(doc: Mapping[str, Any], where: str) -> Callable[[Any, str], Any]:
    """Follow local $refs (#/parameters/x, #/definitions/y); a loop or a missing target is an error."""

    def resolve(node: Any, at: str, depth: int = 0) -> Any:
        if not isinstance(node, Mapping) or "$ref" not in node:
            return node
        ref = node["$ref"]
        if depth >= _MAX_REF_DEPTH:
            raise ConfigError(f"{where}: {at}: $ref {ref!r} loops")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise ConfigError(f"{where}: {at}: only local references (#/...) are supported, got {ref!r}")
        target: Any = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, Mapping) or part not in target:
                raise ConfigError(f"{where}: {at}: $ref {ref!r} points to nothing")
            target = target[part]
        return resolve(target, at, depth + 1)

    return resolve


def _no_unknown(raw: Mapping[str, Any], known: set[str], where: str) -> None:
    for key in raw:
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r}{_did_you_mean(str(key), known)}")


def _did_you_mean(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(sorted(known))})"
